"""Drive the provider as a relying party and a browser would, through Flask's test client."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import KeySet
from werkzeug.test import TestResponse

from tests.support.people import PINS

# Deliberately not the test client's host: URLs must come from the configured issuer.
ISSUER = "http://127.0.0.1:5999"
REDIRECT_URI = "http://127.0.0.1:5000/auth/callback"
OTHER_REDIRECT_URI = "http://localhost:6000/callback"
CLIENT = {
    "client_id": "madoguchi-portal",
    "client_secret": "portal-secret",
    "client_name": "Madoguchi",
    "redirect_uris": [REDIRECT_URI, "http://localhost:5000/auth/callback"],
    "post_logout_redirect_uris": ["http://127.0.0.1:5000/"],
}
OTHER_CLIENT = {
    "client_id": "other-service",
    "client_secret": "other-secret",
    "redirect_uris": [OTHER_REDIRECT_URI],
    "post_logout_redirect_uris": ["http://localhost:6000/bye"],
}


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class Request:
    """One authorization request, with the secrets the client keeps for the token exchange."""

    client: dict[str, Any] = field(default_factory=lambda: CLIENT)
    scope: str = "openid profile address"
    extra: dict[str, str] = field(default_factory=dict)
    omit: tuple[str, ...] = ()
    verifier: str = ""
    challenge: str = ""
    state: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    def __post_init__(self) -> None:
        if not self.verifier:
            self.verifier, self.challenge = pkce_pair()

    @property
    def redirect_uri(self) -> str:
        return str(self.extra.get("redirect_uri", self.client["redirect_uris"][0]))

    @property
    def params(self) -> dict[str, str]:
        params = {
            "response_type": "code",
            "client_id": self.client["client_id"],
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
        }
        params.update(self.extra)
        return {k: v for k, v in params.items() if k not in self.omit}

    @property
    def url(self) -> str:
        return "/authorize?" + urlencode(self.params)


def english(**fields: Any) -> Request:
    """A request for the pages in English: ``ui_locales=en``, kept for the whole sign-in.

    Without it the provider speaks Japanese, its default.
    """
    extra = {"ui_locales": "en", **fields.pop("extra", {})}
    return Request(extra=extra, **fields)


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    if match is None:
        match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None, "no CSRF token on the page"
    return match.group(1)


def form_action(html: str) -> str:
    match = re.search(r'<form method="post" action="([^"]+)"', html)
    assert match is not None, "no POST form on the page"
    return unescape(match.group(1))


def submit(
    browser: FlaskClient,
    request: Request,
    persona: str | None = "yamada-taro",
    form: dict[str, str] | None = None,
    **fields: str,
) -> TestResponse:
    """Open the sign-in page and post it, as a person would: ``fields`` override the form."""
    page = browser.get(request.url)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    html = page.get_data(as_text=True)
    data = {"csrf_token": csrf_token(html)}
    if persona is not None:
        data["persona"] = persona
        data["pin"] = PINS[persona]
    data.update(form or {})
    data.update(fields)
    return browser.post(form_action(html), data=data)


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize(browser: FlaskClient, request: Request, persona: str = "yamada-taro") -> str:
    """Sign in; return the authorization code from the redirect."""
    response = submit(browser, request, persona)
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    params = query(response.headers["Location"])
    assert params["state"] == request.state
    return params["code"]


def exchange(
    browser: FlaskClient,
    request: Request,
    code: str,
    *,
    verifier: str | None = None,
    auth: str = "basic",
) -> TestResponse:
    """The client's back-channel token request."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": request.redirect_uri}
    if verifier is None:
        verifier = request.verifier
    if verifier:
        data["code_verifier"] = verifier
    headers = {}
    client_id, secret = request.client["client_id"], request.client["client_secret"]
    if auth == "basic":
        raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {raw}"
    else:
        data.update(client_id=client_id, client_secret=secret)
    return browser.post("/token", data=data, headers=headers)


def sign_in(
    browser: FlaskClient, request: Request | None = None, persona: str = "yamada-taro"
) -> dict[str, Any]:
    """The whole code flow; returns the token response."""
    request = request or Request()
    response = exchange(browser, request, authorize(browser, request, persona))
    assert response.status_code == 200, response.get_data(as_text=True)
    token: dict[str, Any] = response.get_json()
    return token


def decode_id_token(browser: FlaskClient, id_token: str) -> jwt.Token:
    """Verify the signature against the published JWKS, as a relying party does."""
    keys = KeySet.import_key_set(browser.get("/jwks").get_json())
    return jwt.decode(id_token, keys, algorithms=["RS256"])
