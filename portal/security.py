"""Response headers and session lifetime, applied to every request."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, flash, request, session
from flask_babel import gettext as _
from flask_login import logout_user

SESSION_STARTED = "_started"
SESSION_SEEN = "_seen"
#: How precisely idleness is tracked, in seconds.
SEEN_RESOLUTION = 60


def init_app(app: Flask) -> None:
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
    headers = response.headers
    headers.setdefault("Content-Security-Policy", current_app.config["CONTENT_SECURITY_POLICY"])
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if session.get(SESSION_STARTED):
        headers.setdefault("Cache-Control", "no-store")
    return response
