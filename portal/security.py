"""Response headers, session lifetime and redirect targets, applied to every request."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, Response, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import logout_user

SESSION_STARTED = "_started"
SESSION_SEEN = "_seen"
#: How precisely idleness is tracked, in seconds.
SEEN_RESOLUTION = 60
#: A local path in printable ASCII: what ``url_for`` makes. Anything else (CR, LF, NUL, tabs
#: that browsers drop, bidi controls, spaces) is not one of our links.
_LOCAL_PATH = re.compile(r"/(?![/\\])[!-~]*")
#: Longer than any of our URLs; a longer ``next`` is not one of ours (and it is kept in the
#: session cookie during sign-in).
MAX_NEXT_LENGTH = 512


class BoundedRequest(Request):
    """A body is refused (413) by its declared or actual length before anything parses it.

    Werkzeug bounds a url-encoded body only by ``MAX_CONTENT_LENGTH``, the limit that must let
    an upload through: 15 MB of answers would be read and normalised in full. Only a
    ``multipart/form-data`` body (the form of an upload) may be that large; any other body is
    held to ``MAX_FORM_MEMORY_SIZE``, the limit multipart's text fields already have.
    """

    @property  # type: ignore[override]
    def max_content_length(self) -> int | None:
        limit = super().max_content_length
        if self.mimetype == "multipart/form-data":
            return limit
        form_limit = self.max_form_memory_size
        if form_limit is None:
            return limit
        return form_limit if limit is None else min(limit, form_limit)

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


def init_app(app: Flask) -> None:
    app.request_class = BoundedRequest
    app.config["CONTENT_SECURITY_POLICY"] = content_security_policy(app.config)
    app.before_request(_expire_stale_session)
    app.after_request(_set_security_headers)


def start_session() -> None:
    """A fresh session after sign-in: nothing from before it is carried over."""
    session.clear()
    session.permanent = True
    now = time.time()
    session[SESSION_STARTED] = now  # to the sub-second: a sign-out just before must not end it
    session[SESSION_SEEN] = int(now)


def safe_next(target: object) -> str | None:
    """The target if it is a path on this site, else None: never another host, scheme,
    protocol-relative URL or a value that cannot go into a ``Location`` header."""
    if not isinstance(target, str) or len(target) > MAX_NEXT_LENGTH:
        return None
    if "\\" in target or not _LOCAL_PATH.fullmatch(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def redirect_to_next(target: object, fallback_endpoint: str = "dashboard.home") -> Response:
    """The one way to follow a ``next`` the client sent: to it when it is safe, else home."""
    return redirect(safe_next(target) or url_for(fallback_endpoint))  # type: ignore[return-value]


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL of ours (for a provider, a link sent out) from ``BASE_URL``, never from
    the request's ``Host`` header, which the client chooses. Development without the setting
    falls back to the request's host."""
    base = current_app.config["BASE_URL"].rstrip("/")
    if not base:
        return url_for(endpoint, _external=True, **values)
    return base + url_for(endpoint, **values)


def _expire_stale_session() -> None:
    """30 idle minutes or 12 hours after sign-in, whichever comes first, end the session."""
    started = session.get(SESSION_STARTED)
    if started is None:
        return
    now = int(time.time())
    idle = now - int(session.get(SESSION_SEEN, started))
    started = int(started)
    config = current_app.config
    if (
        idle > config["SESSION_IDLE_MINUTES"] * 60
        or now - started > config["SESSION_MAX_HOURS"] * 3600
    ):
        logout_user()
        session.clear()
        flash(_("For your security, you were signed out after a period without activity."))
        return
    if idle >= SEEN_RESOLUTION:
        session[SESSION_SEEN] = now  # not on every request: a changed session is re-sent


def content_security_policy(config: Mapping[str, Any]) -> str:
    """Sign-out posts a form that ends at the provider: Chrome checks form-action on redirects,
    so the providers' origins are allowed there."""
    origins = set()
    for key in ("OIDC_DISCOVERY_URL", "STAFF_OIDC_DISCOVERY_URL"):
        parts = urlsplit(config[key])
        if parts.scheme and parts.netloc:
            origins.add(f"{parts.scheme}://{parts.netloc}")
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        f"form-action 'self' {' '.join(sorted(origins))}"
    ).strip()


def _set_security_headers(response: Response) -> Response:
    apply_security_headers(response)
    return response


def apply_security_headers(response: Response) -> None:
    """The headers every response carries, error pages included.

    Only static files may be kept by the browser: any other response may show or carry
    personal data (a page, a download, a redirect that signs in), so none is stored.
    """
    headers = response.headers
    headers.setdefault("Content-Security-Policy", current_app.config["CONTENT_SECURITY_POLICY"])
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"  # replaces send_file's "no-cache"


def forget_session_changes() -> None:
    """After a failed request the session is as the browser sent it: a sign-in that failed
    half-way must not leave the resident signed in."""
    interface = current_app.session_interface
    original = interface.open_session(current_app, request) or {}
    session.clear()
    session.update(original)
