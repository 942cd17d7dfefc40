"""Two portal processes against one PostgreSQL database and one Redis work as one portal.

Two real gunicorn processes, on two loopback ports, as two machines behind a load balancer
would run: nothing one of them keeps in its memory may be something the other needs. The
request counts live in Redis, the sign-in sessions and the definitions in the database, and
the status lists' validators come from what the database says.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
import yaml
from flask import Flask

from portal.accounts.models import Account
from portal.certificates import statuslist
from portal.definitions import versions
from portal.definitions.sources import to_yaml
from portal.extensions import db
from portal.tenancy.services import municipality_by_code
from tests.conftest import CLIENT_SECRET, TEST_DATABASE_URL, Provider
from tests.support.html import post_form
from tests.support.jobs import ROOT, subprocess_env
from tests.support.people import PINS, csrf_token
from tests.support.servers import free_port

pytestmark = pytest.mark.postgresql

#: A Redis database of the tests' own, emptied first; another with PORTAL_TEST_REDIS_URL.
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
VERIFY_LIMIT = 4
CHIYODA = "131016"
NEW_TITLE = "Moving house (published through one process)"


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).flushdb()
    except redis.RedisError as error:
        pytest.skip(f"no Redis at {REDIS_URL} ({error}): `apt-get install redis-server`")


@dataclass
class Portal:
    """One gunicorn process of the portal."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def get(self, browser: requests.Session, path: str, **kwargs: object) -> requests.Response:
        return browser.get(self.url + path, allow_redirects=False, timeout=10, **kwargs)


def _serve(port: int, env: dict[str, str], log: Path) -> Portal:
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
            + ["wsgi:app"],
            cwd=ROOT,  # where gunicorn.conf.py is read from, as in production
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    portal = Portal(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(portal.url + "/healthz", timeout=5).status_code == 200:
                return portal
        except requests.RequestException:
            pass
        time.sleep(0.3)
    process.terminate()
    process.wait(timeout=10)
    raise AssertionError(f"gunicorn did not start: {log.read_text(errors='replace')[-2000:]}")


@pytest.fixture
def portals(
    app: Flask, provider: Provider, demo: None, definitions: None, tmp_path: Path
) -> Iterator[tuple[Portal, Portal]]:
    """Two processes on two ports, as behind a load balancer: one public address (the port
    the provider has the live portal's redirect registered on, served by the first), one
    secret key, one database, one Redis, and a verify limit small enough to reach."""
    _redis_or_skip()
    env = subprocess_env(
        TEST_DATABASE_URL,
        BASE_URL=f"http://127.0.0.1:{provider.live_portal_port}",
        SECRET_KEY="a-secret-key-both-processes-share-0123456789",
        DEVIDP_ISSUER=provider.issuer,
        OIDC_CLIENT_SECRET=CLIENT_SECRET,
        RATELIMIT_STORAGE_URI=REDIS_URL,
        VERIFY_RATE_LIMIT=f"{VERIFY_LIMIT} per minute",
    )
    started: list[Portal] = []
    try:
        for name, port in (("one", provider.live_portal_port), ("two", free_port())):
            started.append(_serve(port, env, tmp_path / f"gunicorn-{name}.log"))
        yield started[0], started[1]
    finally:
        for portal in started:
            portal.process.terminate()
        for portal in started:
            portal.process.wait(timeout=10)


def _sign_in(portal: Portal, persona: str, path: str = "/auth/login") -> requests.Session:
    """Through the provider, as a browser: the session is made by ``portal``."""
    browser = requests.Session()
    start = portal.get(browser, path)
    assert start.status_code == 302, start.text[:500]
    page = browser.get(start.headers["Location"], timeout=10)
    form = post_form(page.text)
    answer = browser.post(
        urljoin(page.url, form.action or page.url),
        data=dict(form.fields, persona=persona, pin=PINS[persona]),
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code in (302, 303), answer.text[:500]
    back = browser.get(answer.headers["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 302, back.text[:500]
    return browser


def test_a_request_limit_counts_the_hits_on_both_processes(portals) -> None:
    one, two = portals
    browser = requests.Session()
    for hit in range(VERIFY_LIMIT):
        answered = (one if hit % 2 else two).get(browser, "/verify")
        assert answered.status_code == 200, hit
    # Each process saw half the limit; counted apart, either would let the next one in.
    assert one.get(browser, "/verify").status_code == 429
    assert two.get(browser, "/verify").status_code == 429


def test_a_session_made_on_one_process_is_valid_on_the_other(portals) -> None:
    one, two = portals
    resident = _sign_in(one, "yamada-taro")
    home = two.get(resident, "/")
    assert home.status_code == 200
    assert "/auth/logout" in home.text  # signed in: the sign-out form
    stranger = two.get(requests.Session(), "/")
    assert "/auth/logout" not in stranger.text
    # Signing out on the second process ends the session on the first as well.
    signed_out = resident.post(
        two.url + "/auth/logout",
        data={"csrf_token": csrf_token(home.text)},
        allow_redirects=False,
        timeout=10,
    )
    assert signed_out.status_code in (302, 303)
    assert "/auth/logout" not in one.get(resident, "/").text


def test_a_definition_published_through_one_process_is_served_by_the_other(
    app: Flask, portals
) -> None:
    one, two = portals
    with app.app_context():
        admin = db.session.query(Account).filter_by(subject="watanabe-yui").one_or_none()
        draft = versions.create_draft("workflow", "moving", actor=admin)
        data = yaml.safe_load(draft.source_text or to_yaml(draft.content))
        data["title"]["en"] = NEW_TITLE
        assert versions.save_draft(draft, to_yaml(data), actor=admin) == []
        db.session.commit()
        draft_id = draft.id
    resident = _sign_in(one, "yamada-taro")
    resident.cookies.set("madoguchi_lang", "en")
    before = two.get(resident, "/")
    assert "Moving house" in before.text and NEW_TITLE not in before.text  # parsed, kept

    staff = _sign_in(one, "watanabe-yui", "/auth/staff/login")
    page = two.get(staff, f"/admin/definitions/versions/{draft_id}")
    assert page.status_code == 200
    published = staff.post(
        f"{one.url}/admin/definitions/versions/{draft_id}/publish",
        data={"csrf_token": csrf_token(page.text)},
        allow_redirects=False,
        timeout=30,
    )
    assert published.status_code == 303, published.text[:500]
    assert NEW_TITLE in two.get(resident, "/").text
    assert NEW_TITLE in one.get(resident, "/").text


def test_a_status_list_has_the_same_validators_from_every_process(app: Flask, portals) -> None:
    one, two = portals
    with app.app_context():
        chiyoda = municipality_by_code(CHIYODA)
        assert chiyoda is not None
        list_id, _ = statuslist.allocate(chiyoda.id)
        db.session.commit()
    browser = requests.Session()
    first = one.get(browser, f"/status-lists/{list_id}")
    time.sleep(1.1)  # the second signs a second later: another iat, another signature
    second = two.get(browser, f"/status-lists/{list_id}")
    assert first.status_code == second.status_code == 200
    assert first.text != second.text
    assert first.headers["ETag"] == second.headers["ETag"]
    assert first.headers["Last-Modified"] == second.headers["Last-Modified"]
    asked = {"If-None-Match": first.headers["ETag"]}
    assert two.get(browser, f"/status-lists/{list_id}", headers=asked).status_code == 304
