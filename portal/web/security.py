"""Response headers and redirect targets, applied to every request (session lifetime:
``portal.auth.sessions``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import (
    Flask,
    Request,
    Response,
    current_app,
    has_request_context,
    redirect,
    request,
    session,
    url_for,
)

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


P = ParamSpec("P")
R = TypeVar("R")


def publicly_cacheable(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a public, personal-data-free view (a status list) whose successful answers set
    their own ``Cache-Control``: every other answer is ``no-store``."""
    view.publicly_cacheable = True  # type: ignore[attr-defined]
    return view


def is_publicly_cacheable(view: Callable[..., Any] | None) -> bool:
    return bool(getattr(view, "publicly_cacheable", False))


def init_app(app: Flask) -> None:
    app.request_class = BoundedRequest
    app.config["CONTENT_SECURITY_POLICY"] = content_security_policy(app.config)
    app.after_request(_set_security_headers)


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
    return base + url_path(endpoint, **values)


def url_path(endpoint: str, **values: Any) -> str:
    """``url_for``'s path, also in a job, outside any request.

    Not through a made-up request: its ``Host`` would be none production trusts (Flask then
    builds no URL at all), and its teardown would roll back the job's transaction.
    """
    if has_request_context():
        return url_for(endpoint, **values)
    current_app.inject_url_defaults(endpoint, values)
    return current_app.url_map.bind("localhost").build(endpoint, values)


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
    if request.endpoint == "static":
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if not (is_publicly_cacheable(view) and response.status_code in (200, 304)):
        headers["Cache-Control"] = "no-store"  # replaces send_file's "no-cache"


def forget_session_changes() -> None:
    """After a failed request the session is as the browser sent it: a sign-in that failed
    half-way must not leave the resident signed in."""
    interface = current_app.session_interface
    original = interface.open_session(current_app, request) or {}
    session.clear()
    session.update(original)
