"""Response headers, applied to every request (session lifetime: ``portal.auth.sessions``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request, session

from portal.auth.sessions import SESSION_KEY


def init_app(app: Flask) -> None:
    app.config["CONTENT_SECURITY_POLICY"] = content_security_policy(app.config)
    app.after_request(_set_security_headers)


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
    if session.get(SESSION_KEY):
        headers.setdefault("Cache-Control", "no-store")
    return response
