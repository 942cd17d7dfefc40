"""Sign-in sessions live on the server: the browser's cookie holds a random key and expires
with the session; any process of the portal knows the session from the database."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from email.utils import parsedate_to_datetime

from flask import Flask
from sqlalchemy import select

from portal import create_app
from portal.auth.models import SignInSession
from portal.auth.sessions import SESSION_KEY
from portal.db import utcnow
from portal.extensions import db
from tests.support.people import Person

#: What the cookie may carry: the session's key and when it expires, Flask-Login's account
#: id and freshness, the CSRF token, whether to show the staff link, flashed messages.
COOKIE_KEYS = {SESSION_KEY, "_expires", "_user_id", "_fresh", "_id", "csrf_token", "staff"}


def session_cookie(response) -> str:  # noqa: ANN001
    return next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("madoguchi_session=")
    )


def cookie_contents(app: Flask, client) -> dict:  # noqa: ANN001
    serializer = app.session_interface.get_signing_serializer(app)
    return dict(serializer.loads(client.get_cookie("madoguchi_session").value))


def test_the_cookie_holds_no_personal_data(app, person, demo) -> None:
    resident = person("yamada-taro")
    resident.sign_in()
    resident.client.get("/")
    contents = cookie_contents(app, resident.client)
    assert set(contents) <= COOKIE_KEYS | {"_flashes"}
    raw = repr(contents)
    for personal in ("山田", "ヤマダ", "1985", "霞が関", "male", "eyJ"):  # eyJ: a JWT
        assert personal not in raw
    with app.app_context():
        row = db.session.scalar(select(SignInSession))
        # Only a digest of the key is stored: the table cannot be replayed as cookies.
        assert row.key_digest == hashlib.sha256(contents[SESSION_KEY].encode()).hexdigest()
        assert row.key_digest != contents[SESSION_KEY]
        assert row.id_token and row.audience == "resident"


def test_the_cookie_expires_with_the_session(app, person, demo) -> None:
    resident = person("yamada-taro")
    cookie = session_cookie(resident.sign_in().response)
    expires = parsedate_to_datetime(cookie.split("Expires=")[1].split(";")[0])
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    assert abs(expires - (utcnow() + idle)) < timedelta(seconds=5)

    # Seen again a while later: the cookie is renewed, never beyond the 12 hours.
    with app.app_context():
        row = db.session.scalar(select(SignInSession))
        row.started_at -= timedelta(hours=11, minutes=50)
        row.last_seen_at -= timedelta(minutes=5)
        started = row.started_at
        db.session.commit()
    cookie = session_cookie(resident.client.get("/"))
    expires = parsedate_to_datetime(cookie.split("Expires=")[1].split(";")[0])
    assert abs(expires - (started + timedelta(hours=12))) < timedelta(seconds=2)


def test_a_cookie_before_sign_in_ends_with_the_browser(client) -> None:
    client.get("/auth/login")  # keeps the sign-in's state in the session
    cookie = session_cookie(client.get("/auth/login"))
    assert "Expires=" not in cookie and "Max-Age" not in cookie


def test_each_device_has_its_own_session_and_sign_out_ends_them_all(app, person, demo) -> None:
    phone = person("yamada-taro")
    phone.sign_in()
    computer = Person(app.test_client(), "yamada-taro")
    computer.sign_in()
    with app.app_context():
        assert len(db.session.scalars(select(SignInSession)).all()) == 2
    phone.sign_out()
    with app.app_context():
        assert db.session.scalars(select(SignInSession)).all() == []
    assert "山田 太郎" not in computer.client.get("/").text


def test_another_process_knows_the_session(app, person, demo, provider) -> None:
    """Two app processes share nothing but the database and the secret key."""
    resident = person("yamada-taro")
    resident.sign_in()
    other = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "DATABASE_URL": app.config["DATABASE_URL"],
            "DEVIDP_ISSUER": provider.issuer,
            "OIDC_CLIENT_SECRET": app.config["OIDC_CLIENT_SECRET"],
        }
    )
    elsewhere = other.test_client()
    elsewhere.set_cookie("madoguchi_session", resident.client.get_cookie("madoguchi_session").value)
    assert "山田 太郎" in elsewhere.get("/").text
    resident.sign_out()  # in the first process
    assert "山田 太郎" not in elsewhere.get("/").text
    with other.app_context():
        db.engine.dispose()


def test_idle_time_is_written_at_most_once_a_minute(app, person, demo) -> None:
    resident = person("yamada-taro")
    resident.sign_in()
    with app.app_context():
        first = db.session.scalar(select(SignInSession)).last_seen_at
    resident.client.get("/")
    with app.app_context():
        assert db.session.scalar(select(SignInSession)).last_seen_at == first
        row = db.session.scalar(select(SignInSession))
        row.last_seen_at -= timedelta(seconds=61)
        db.session.commit()
    before = time.time()
    resident.client.get("/")
    with app.app_context():
        seen = db.session.scalar(select(SignInSession)).last_seen_at
        assert seen.timestamp() >= before - 1


def test_a_sign_out_elsewhere_during_a_request_is_no_error(app, person, demo) -> None:
    """The row goes between this request's reading it and writing when it was last seen."""
    from sqlalchemy import delete, event

    resident = person("yamada-taro")
    resident.sign_in()
    with app.app_context():
        row = db.session.scalar(select(SignInSession))
        row.last_seen_at -= timedelta(seconds=61)
        db.session.commit()
        engine = db.engine

    done: list[bool] = []

    def sign_out_elsewhere(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        if statement.startswith("UPDATE sign_in_sessions") and not done:
            done.append(True)
            with engine.begin() as other:
                other.execute(delete(SignInSession))

    event.listen(engine, "before_cursor_execute", sign_out_elsewhere)
    try:
        assert resident.client.get("/").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", sign_out_elsewhere)
    assert done
    assert "山田 太郎" not in resident.client.get("/").text
