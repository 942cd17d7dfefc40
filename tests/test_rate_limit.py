"""Request limits per client address: the /verify pages' shared budget and the status lists.

A small app of its own carries two views marked as the /verify views will be (one budget for
both), so its counters are its own; the session's app shows the switch that keeps limits off
in tests and the status lists' limit on its real route.
"""

from __future__ import annotations

import pytest
from flask import Flask

from portal import access, create_app
from portal.certificates import statuslist
from portal.config import UnsafeConfiguration
from portal.extensions import db, limits
from tests.factories import MunicipalityFactory
from tests.test_config import SAFE_PRODUCTION

ALICE = {"REMOTE_ADDR": "203.0.113.7"}
BOB = {"REMOTE_ADDR": "198.51.100.23"}


def _verifying_app(**config: object) -> Flask:
    """An app with two views under the verify limit, as certs' /verify pages will be."""
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", **config})

    @limits.verify
    @access.requires(access.ANYONE)
    def by_code() -> str:
        return "checked"

    @limits.verify
    @access.requires(access.ANYONE)
    def by_upload() -> str:
        return "compared"

    app.add_url_rule("/probe/code", "probe_code", by_code)
    app.add_url_rule("/probe/upload", "probe_upload", by_upload)
    limits.apply(app)
    return app


@pytest.fixture
def verifying() -> Flask:
    return _verifying_app(RATE_LIMITS_ENABLED=True)


def test_the_eleventh_check_in_a_minute_is_refused_with_retry_after(verifying) -> None:
    client = verifying.test_client()
    for _ in range(10):
        assert client.get("/probe/code", environ_base=ALICE).status_code == 200
    refused = client.get("/probe/code", environ_base=ALICE)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in refused.headers["Content-Security-Policy"]
    page = refused.get_data(as_text=True)
    assert '<html lang="ja"' in page
    assert "リクエストが多すぎます" in page
    assert "1分ほど待ってから" in page


def test_the_refusal_is_in_the_visitors_language(verifying) -> None:
    client = verifying.test_client()
    client.set_cookie("madoguchi_lang", "en")
    for _ in range(10):
        client.get("/probe/code", environ_base=ALICE)
    refused = client.get("/probe/code", environ_base=ALICE)
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert '<html lang="en"' in page
    assert "Too many requests" in page
    assert "Please wait a minute and try again." in page


def test_the_verify_pages_share_one_budget_per_client_address(verifying) -> None:
    client = verifying.test_client()
    for _ in range(5):
        assert client.get("/probe/code", environ_base=ALICE).status_code == 200
        assert client.get("/probe/upload", environ_base=ALICE).status_code == 200
    assert client.get("/probe/upload", environ_base=ALICE).status_code == 429
    assert client.get("/probe/code", environ_base=ALICE).status_code == 429
    # Another address has its own ten.
    for _ in range(10):
        assert client.get("/probe/code", environ_base=BOB).status_code == 200
    assert client.get("/probe/code", environ_base=BOB).status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client() -> None:
    proxied = _verifying_app(RATE_LIMITS_ENABLED=True, TRUSTED_PROXIES=1).test_client()
    for _ in range(10):
        assert proxied.get(
            "/probe/code", headers={"X-Forwarded-For": "203.0.113.7"}
        ).status_code == (200)
    assert proxied.get("/probe/code", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 429
    assert proxied.get("/probe/code", headers={"X-Forwarded-For": "198.51.100.23"}).status_code == (
        200
    )


def test_without_a_trusted_proxy_a_forged_forwarded_address_changes_nothing() -> None:
    direct = _verifying_app(RATE_LIMITS_ENABLED=True).test_client()
    for n in range(10):
        forged = {"X-Forwarded-For": f"192.0.2.{n}"}
        assert direct.get("/probe/code", headers=forged, environ_base=ALICE).status_code == 200
    forged = {"X-Forwarded-For": "192.0.2.99"}
    assert direct.get("/probe/code", headers=forged, environ_base=ALICE).status_code == 429


def test_the_limit_is_a_setting() -> None:
    client = _verifying_app(RATE_LIMITS_ENABLED=True, VERIFY_RATE_LIMIT="2 per hour").test_client()
    assert [client.get("/probe/code").status_code for _ in range(3)] == [200, 200, 429]
    retry_after = int(client.get("/probe/code").headers["Retry-After"])
    assert 3500 < retry_after <= 3600


def test_limits_are_off_in_an_app_made_for_tests() -> None:
    client = _verifying_app().test_client()
    assert {client.get("/probe/code").status_code for _ in range(15)} == {200}


def test_a_test_switches_them_on_for_the_status_lists(app, client) -> None:
    """The session's app: off as every test's app is, then on, the lists' own limit."""
    with app.app_context():
        list_id, _ = statuslist.allocate(MunicipalityFactory(departments=[]).id)
        db.session.commit()
    path = f"/status-lists/{list_id}"
    assert app.config["RATE_LIMITS_ENABLED"] is False
    assert {client.get(path).status_code for _ in range(61)} == {200}
    app.extensions["rate_limits"].reset()
    app.config["RATE_LIMITS_ENABLED"] = True
    try:
        assert {client.get(path).status_code for _ in range(60)} == {200}
        refused = client.get(path)
        assert refused.status_code == 429
        assert "Retry-After" in refused.headers
        assert refused.headers["Cache-Control"] == "no-store"
    finally:
        app.config["RATE_LIMITS_ENABLED"] = False
        app.extensions["rate_limits"].reset()


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"RATELIMIT_STORAGE_URI": "memory://"}, "PORTAL_RATELIMIT_STORAGE_URI"),
        ({"RATELIMIT_STORAGE_URI": "memcached://cache:11211"}, "PORTAL_RATELIMIT_STORAGE_URI"),
        ({"RATE_LIMITS_ENABLED": "false"}, "PORTAL_RATE_LIMITS_ENABLED"),
    ],
)
def test_production_refuses_limits_counted_per_process_or_off(override, named) -> None:
    with pytest.raises(UnsafeConfiguration, match=named):
        create_app({**SAFE_PRODUCTION, **override})


@pytest.mark.parametrize("uri", ["redis://cache.internal:6379/0", "rediss://cache.internal:6380"])
def test_production_keeps_limits_where_every_process_counts(uri) -> None:
    app = create_app({**SAFE_PRODUCTION, "RATELIMIT_STORAGE_URI": uri})
    assert app.config["RATE_LIMITS_ENABLED"] is True
    assert type(app.extensions["rate_limits"].storage).__name__ == "RedisStorage"


@pytest.mark.parametrize("setting", ["VERIFY_RATE_LIMIT", "STATUS_LIST_RATE_LIMIT"])
def test_a_limit_that_cannot_be_read_stops_the_start_everywhere(setting) -> None:
    with pytest.raises(UnsafeConfiguration, match=f"PORTAL_{setting}"):
        create_app({"TESTING": True, setting: "ten a minute"})
