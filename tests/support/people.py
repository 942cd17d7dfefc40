"""Residents and staff who sign in through the development provider over real HTTP.

The portal is driven through Flask's test client; the provider is a real server on a
loopback port, reached with ``requests`` as a browser would, redirects followed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.html import forms, post_form

PINS = {
    "yamada-taro": "1234",
    "sato-hanako": "2345",
    "suzuki-ichiro": "3456",
    "tanaka-jiro": "1111",
    "takahashi-misaki": "2222",
    "nakamura-yoko": "3333",
    "kobayashi-makoto": "4444",
    "ito-ken": "9999",
    "watanabe-yui": "0000",
}


@dataclass
class SignIn:
    """What happened: the provider's redirect back to the portal, and the portal's answer."""

    callback: str
    response: TestResponse

    @property
    def callback_params(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.callback).query).items()}


class Person:
    def __init__(self, client: FlaskClient, persona: str, pin: str | None = None) -> None:
        self.client = client
        self.persona = persona
        self.pin = pin or PINS[persona]
        self.browser = requests.Session()

    def start(self, path: str = "/auth/login") -> str:
        """Ask the portal to sign in; returns the provider's authorization URL it sent us to."""
        response = self.client.get(path)
        assert response.status_code == 302, response.status_code
        return response.headers["Location"]

    def authenticate(self, authorization_url: str) -> str:
        """At the provider: choose the persona, type the PIN; returns the redirect to the portal."""
        page = self.browser.get(authorization_url, timeout=10)
        assert page.status_code == 200, page.text[:500]
        form = post_form(page.text)
        data = dict(form.fields, persona=self.persona, pin=self.pin)
        answer = self.browser.post(
            urljoin(page.url, form.action or page.url), data=data, allow_redirects=False, timeout=10
        )
        assert answer.status_code in (302, 303), answer.text[:1000]
        return answer.headers["Location"]

    def return_to_portal(self, callback: str) -> TestResponse:
        parts = urlsplit(callback)
        return self.client.get(f"{parts.path}?{parts.query}")

    def sign_in(self, path: str = "/auth/login") -> SignIn:
        callback = self.authenticate(self.start(path))
        return SignIn(callback, self.return_to_portal(callback))

    def sign_out(self) -> TestResponse:
        page = self.client.get("/")
        return self.client.post("/auth/logout", data={"csrf_token": csrf_token(page.text)})


def csrf_token(html: str) -> str:
    for form in forms(html):
        if "csrf_token" in form.fields:
            return form.fields["csrf_token"]
    raise AssertionError("no CSRF token on the page")


def login_as(client: FlaskClient, account_id: int) -> None:
    """Start a signed-in session for an account without the provider round trip.

    For tests about what an account may do once signed in; sign-in itself is tested through
    the provider. The session is a real server-side one, as a sign-in makes.
    """
    from portal.accounts.models import Account
    from portal.auth.sessions import SESSION_KEY, open_session
    from portal.extensions import db

    with client.application.app_context():
        key, _row = open_session(db.session.get(Account, account_id), "resident", None)
        db.session.commit()
    with client.session_transaction() as session:
        session.clear()
        session[SESSION_KEY] = key
        session["_user_id"] = str(account_id)
        session["_fresh"] = True
