"""Headers on every response, CSRF on every POST, and the session's lifetime."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from portal.auth.models import SignInSession
from portal.db import utcnow
from portal.extensions import db


@pytest.mark.parametrize("path", ["/", "/healthz", "/no-such-page"])
def test_security_headers_on_every_response(client, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # plain http in tests


def test_hsts_when_served_over_https(client) -> None:
    headers = client.get("/", base_url="https://localhost").headers
    assert headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("path", ["/language", "/auth/logout"])
def test_post_without_csrf_token_is_refused(client, path: str) -> None:
    client.set_cookie("madoguchi_lang", "en")
    response = client.post(path, data={"language": "en"})
    assert response.status_code == 400
    assert "The page had expired" in response.text


def test_language_switch_is_remembered(client) -> None:
    from tests.support.people import csrf_token

    page = client.get("/")
    assert '<html lang="ja">' in page.text
    response = client.post(
        "/language", data={"language": "en", "next": "/", "csrf_token": csrf_token(page.text)}
    )
    assert response.status_code == 302
    assert '<html lang="en">' in client.get("/").text


def test_language_switch_never_redirects_off_site(client) -> None:
    from tests.support.people import csrf_token

    page = client.get("/")
    response = client.post(
        "/language",
        data={
            "language": "en",
            "next": "https://evil.example/",
            "csrf_token": csrf_token(page.text),
        },
    )
    assert response.headers["Location"] == "/"


def test_session_cookie_has_its_own_name_and_flags(person, demo) -> None:
    resident = person("yamada-taro")
    signed_in = resident.sign_in()
    cookie = next(
        c
        for c in signed_in.response.headers.getlist("Set-Cookie")
        if c.startswith("madoguchi_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize(
    ("started_ago", "seen_ago", "signed_in"),
    [
        (60, 60, True),
        (3600, 29 * 60, True),
        (3600, 31 * 60, False),  # 30 idle minutes
        (12 * 3600 + 60, 60, False),  # 12 hours at most
    ],
)
def test_session_expires_when_idle_or_too_old(
    app, person, demo, started_ago: int, seen_ago: int, signed_in: bool
) -> None:
    resident = person("yamada-taro")
    resident.sign_in()
    now = utcnow()
    with app.app_context():
        db.session.execute(
            update(SignInSession).values(
                started_at=now - timedelta(seconds=started_ago),
                last_seen_at=now - timedelta(seconds=seen_ago),
            )
        )
        db.session.commit()
    page = resident.client.get("/")
    assert ("山田 太郎" in page.text) is signed_in
    assert ("操作がなかったため" in page.text) is not signed_in
