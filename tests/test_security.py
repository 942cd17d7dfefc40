"""Headers on every response, CSRF on every POST, and the session's lifetime."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from portal import access
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


HOSTILE_NEXT = [
    "/\r\nSet-Cookie: stolen=1",
    "/cases\n",
    "/\rx",
    "/\x00",
    "/\t/evil.example",  # browsers drop the tab: //evil.example
    "/\u202eelpmaxe.live",
    "/ space",
    "//evil.example",
    "/\\evil.example",
    "https://evil.example/",
    "/" + "a" * 5000,
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_sign_in_with_a_hostile_next_goes_home(app, person, demo, target: str) -> None:
    from urllib.parse import quote

    from sqlalchemy import func, select

    from portal.accounts.models import Account
    from portal.extensions import db

    resident = person("yamada-taro")
    signed_in = resident.sign_in("/auth/login?next=" + quote(target, safe=""))
    assert signed_in.response.status_code == 302
    assert signed_in.response.headers["Location"] == "/"
    assert "山田 太郎" in resident.client.get("/").text
    with app.app_context():
        query = select(func.count()).select_from(Account).filter_by(display_name="山田 太郎")
        assert db.session.scalar(query) == 1


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_language_switch_with_a_hostile_next_goes_home(client, target: str) -> None:
    from tests.support.people import csrf_token

    page = client.get("/")
    response = client.post(
        "/language",
        data={"language": "en", "next": target, "csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.fixture
def failing_app(app):
    """A second portal on the test database with one route that writes a row in a savepoint,
    as a first sign-in does, and then fails."""
    from portal import create_app
    from portal.accounts import services as accounts

    failing = create_app(
        {
            "TESTING": True,
            "PROPAGATE_EXCEPTIONS": False,  # answered by our error page, as in production
            "SECRET_KEY": app.config["SECRET_KEY"],
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "DEVIDP_ISSUER": app.config["DEVIDP_ISSUER"],
        }
    )

    @failing.get("/fails-after-a-savepoint")
    @access.requires(access.ANYONE)
    def fails_after_a_savepoint() -> str:
        from flask import session

        accounts.account_for("https://id.example.jp", "half-written")
        session["written_by_the_failed_request"] = True
        raise RuntimeError("the request fails after its savepoint")

    yield failing
    from portal.extensions import db

    with failing.app_context():
        db.engine.dispose()


def test_a_failed_request_leaves_no_row_and_no_session_change(app, failing_app) -> None:
    """On SQLite and PostgreSQL alike: a savepoint is part of the request's transaction."""
    from sqlalchemy import func, select

    from portal.accounts.models import Account
    from portal.extensions import db

    client = failing_app.test_client()
    client.set_cookie("madoguchi_lang", "en")
    response = client.get("/fails-after-a-savepoint")
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.text
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    with client.session_transaction() as session:
        assert "written_by_the_failed_request" not in session
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Account)) == 0


def test_a_form_body_over_the_limit_is_refused_before_it_is_read(client) -> None:
    import time

    client.set_cookie("madoguchi_lang", "en")
    body = b"language=en&next=" + b"%E3%81%82" * (15 * 1024 * 1024 // 9)
    started = time.perf_counter()
    response = client.post("/language", data=body, content_type="application/x-www-form-urlencoded")
    elapsed = time.perf_counter() - started
    assert response.status_code == 413
    assert "What you sent is too large" in response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert elapsed < 0.5, elapsed


def test_a_form_body_under_the_limit_is_read(client) -> None:
    from tests.support.people import csrf_token

    page = client.get("/")
    response = client.post(
        "/language",
        data={
            "language": "en",
            "next": "/",
            "csrf_token": csrf_token(page.text),
            "x": "あ" * 20000,
        },
    )
    assert response.status_code == 302


def test_an_upload_form_may_be_larger_than_a_form(client) -> None:
    """A multipart body up to the request limit is read (here refused for its CSRF token:
    the point is that it is not a 413)."""
    import io

    response = client.post(
        "/language",
        data={"language": "en", "file": (io.BytesIO(b"%PDF-" + b"0" * 300 * 1024), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400


def test_the_redirect_uri_comes_from_the_base_url_not_the_host_header(
    app, client, provider, monkeypatch
) -> None:
    from urllib.parse import parse_qs, urlsplit

    monkeypatch.setitem(app.config, "BASE_URL", "http://localhost")
    response = client.get("/auth/login", headers={"Host": "evil.example"})
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["redirect_uri"] == ["http://localhost/auth/callback"]


def test_without_a_base_url_development_uses_the_request_host(client, provider) -> None:
    from urllib.parse import parse_qs, urlsplit

    response = client.get("/auth/login", headers={"Host": "127.0.0.1:5000"})
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["redirect_uri"] == ["http://127.0.0.1:5000/auth/callback"]


def test_forwarded_headers_are_ignored_unless_proxies_are_trusted(app, client) -> None:
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
    assert "Strict-Transport-Security" not in client.get("/", headers=forged).headers


def test_forwarded_headers_are_followed_from_trusted_proxies(app) -> None:
    from portal import create_app

    behind_proxy = create_app(
        {
            "TESTING": True,
            "TRUSTED_PROXIES": 1,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        }
    )
    response = behind_proxy.test_client().get("/", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    from portal.extensions import db

    with behind_proxy.app_context():
        db.engine.dispose()


def test_starting_sign_in_again_and_again_keeps_the_cookie_small(person, demo) -> None:
    resident = person("yamada-taro")
    for _ in range(40):
        resident.start("/auth/login?next=/" + "a" * 500)
    cookie = resident.client.get_cookie("madoguchi_session")
    assert cookie is not None and len(cookie.value) < 2000
    signed_in = resident.sign_in()  # the last attempt still completes
    assert signed_in.response.status_code == 302


def test_when_even_the_error_page_fails_a_plain_page_keeps_our_headers(app) -> None:
    from flask import g

    from portal import create_app
    from portal.extensions import db

    broken = create_app({"TESTING": True, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"]})
    broken.config["PROPAGATE_EXCEPTIONS"] = False

    @broken.context_processor
    def _templates_fail_after_the_error() -> dict[str, object]:
        if g.get("failed"):
            raise RuntimeError("the templates' own lookups fail too")
        return {}

    @broken.get("/fails")
    @access.requires(access.ANYONE)
    def fails() -> str:
        g.failed = True
        raise RuntimeError("the request fails")

    response = broken.test_client().get("/fails")
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.text
    assert "申し訳ありません" in response.text
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    with broken.app_context():
        db.engine.dispose()


def _serve_with_gunicorn(port: int, **environment: str):  # noqa: ANN202 - Popen
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    import requests

    repo = Path(__file__).resolve().parent.parent
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
        + ["wsgi:app"],
        cwd=repo,  # where gunicorn.conf.py is read from, as in production
        env={**os.environ, **environment},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            return server
        except requests.RequestException:
            time.sleep(0.2)
    server.terminate()
    server.wait(timeout=10)
    raise AssertionError("gunicorn did not start")


@pytest.mark.parametrize(("trusted_proxies", "secure"), [("0", False), ("1", True)])
def test_gunicorn_leaves_forwarded_headers_to_the_portal(
    trusted_proxies: str, secure: bool
) -> None:
    """gunicorn itself would believe X-Forwarded-Proto from 127.0.0.1; its config file makes
    it believe nothing, so PORTAL_TRUSTED_PROXIES alone decides."""
    import requests

    from tests.support.servers import free_port

    port = free_port()
    server = _serve_with_gunicorn(port, PORTAL_TRUSTED_PROXIES=trusted_proxies)
    try:
        response = requests.get(
            f"http://127.0.0.1:{port}/", headers={"X-Forwarded-Proto": "https"}, timeout=5
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert ("Strict-Transport-Security" in response.headers) is secure


def test_the_413_page_is_in_japanese_first(client) -> None:
    response = client.post(
        "/language",
        data=b"x=" + b"a" * (300 * 1024),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert '<html lang="ja">' in response.text and "送信された内容が大きすぎます" in response.text


def test_the_post_logout_uri_comes_from_the_base_url_not_the_host_header(
    app, person, demo, monkeypatch
) -> None:
    from urllib.parse import parse_qs, urlsplit

    from tests.support.people import csrf_token

    monkeypatch.setitem(app.config, "BASE_URL", "http://localhost")
    resident = person("yamada-taro")
    resident.sign_in()
    page = resident.client.get("/")
    cookie = resident.client.get_cookie("madoguchi_session")
    assert cookie is not None
    resident.client.set_cookie("madoguchi_session", cookie.value, domain="evil.example")
    response = resident.client.post(
        "/auth/logout",
        data={"csrf_token": csrf_token(page.text)},
        headers={"Host": "evil.example"},
    )
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["post_logout_redirect_uri"] == ["http://localhost/"]
