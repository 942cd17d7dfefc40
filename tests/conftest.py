"""The test harness: a real development provider over HTTP, the portal on SQLite or PostgreSQL.

The suite runs on SQLite; with ``PORTAL_TEST_DATABASE_URL`` set it runs on that database
instead (``make test`` does both when it is set). Each test starts from empty tables.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Table, text

# Tests never read a developer's instance/config.py or their PORTAL_* settings.
os.environ["PORTAL_INSTANCE_PATH"] = tempfile.mkdtemp(prefix="portal-test-instance-")
for _name in [
    n
    for n in os.environ
    if n.startswith("PORTAL_") and n not in ("PORTAL_INSTANCE_PATH", "PORTAL_TEST_DATABASE_URL")
]:
    del os.environ[_name]

from portal import create_app  # noqa: E402
from portal.devidp import create_app as create_provider  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.tenancy.services import seed_builtin_kinds  # noqa: E402
from tests.support.people import Person  # noqa: E402
from tests.support.servers import Tamperable, ThreadedServer, free_port  # noqa: E402

TEST_DATABASE_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
CLIENT_ID = "madoguchi-portal"
CLIENT_SECRET = "test-client-secret"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL-only tests run in the PostgreSQL pass; browser tests in the SQLite pass.

    By their markers, not their keywords: keywords hold the names of the folders above a
    test too, and a checkout in a folder called ``browser`` would skip every test."""
    for item in items:
        if item.get_closest_marker("postgresql") and not TEST_DATABASE_URL:
            item.add_marker(pytest.mark.skip(reason="needs PORTAL_TEST_DATABASE_URL"))
        if item.get_closest_marker("browser") and TEST_DATABASE_URL:
            item.add_marker(pytest.mark.skip(reason="browser journeys run in the SQLite pass"))


@dataclass
class Provider:
    """The development ID provider served on a loopback port, and a switch to tamper with it."""

    app: Flask
    server: ThreadedServer
    tamper: Tamperable
    live_portal_port: int

    @property
    def issuer(self) -> str:
        return self.server.url

    @property
    def key_dir(self) -> Path:
        return Path(self.app.config["DEVIDP_KEY_DIR"])


@pytest.fixture(scope="session")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    port, live_portal_port = free_port(), free_port()
    portal_origins = ["http://localhost", f"http://127.0.0.1:{live_portal_port}"]
    app = create_provider(
        {
            "DEVIDP_ISSUER": f"http://127.0.0.1:{port}",
            "DEVIDP_KEY_DIR": str(tmp_path_factory.mktemp("devidp")),
            "DEVIDP_CLIENTS": [
                {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "redirect_uris": [f"{origin}/auth/callback" for origin in portal_origins],
                    "post_logout_redirect_uris": [f"{origin}/" for origin in portal_origins],
                }
            ],
        }
    )
    tamper = Tamperable(app)
    server = ThreadedServer(tamper, port).start()
    yield Provider(app, server, tamper, live_portal_port)
    server.stop()


@pytest.fixture(autouse=True)
def _honest_provider(request: pytest.FixtureRequest) -> Iterator[None]:
    """Whatever a test made the provider do, the next test gets an honest one."""
    yield
    if "provider" in request.fixturenames:
        request.getfixturevalue("provider").tamper.rewrite.clear()


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'portal.sqlite3'}"


def portal_app(database_url: str, provider: Provider, **settings: object) -> Flask:
    """The portal as tests make it, on ``database_url``, signing in at ``provider``: the
    session's app, and the apps of tests that run their own PostgreSQL servers."""
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "DATABASE_URL": database_url,
            "DEVIDP_ISSUER": provider.issuer,
            "DEVIDP_KEY_DIR": str(provider.key_dir),
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            **settings,
        }
    )


@pytest.fixture(scope="session")
def app(provider: Provider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    from flask_migrate import upgrade

    app = portal_app(_database_url(tmp_path_factory), provider)
    with app.app_context():
        _drop_everything()
        upgrade()
        _load_once_for_the_run()
    yield app
    with app.app_context():
        db.engine.dispose()


#: What the ``demo``, ``municipalities`` and ``definitions`` fixtures write, by table in the
#: order of their foreign keys: written by the portal's own loaders once per run, in empty
#: tables, and copied into each test that asks for them (loading the shipped definitions
#: takes half a second, reading and checking the YAML; copying their rows a hundredth).
LOADED: dict[str, list[tuple[Table, list[dict[str, object]]]]] = {}


def _load_once_for_the_run() -> None:
    from portal import demo as demo_data
    from portal.definitions import services

    loaders = {
        "demo": demo_data.load,
        "municipalities": demo_data.load_municipalities,
        "definitions": services.load,
    }
    for name, load in loaders.items():
        before = _all_rows()
        load()
        db.session.commit()
        LOADED[name] = [
            (table, [row for row in rows if row not in before[table]])
            for table, rows in _all_rows().items()
        ]
        _empty_every_table()


def _all_rows() -> dict[Table, list[dict[str, object]]]:
    return {
        table: [dict(row) for row in db.session.execute(table.select()).mappings()]
        for table in db.metadata.sorted_tables
    }


def _copy_loaded(app: Flask, name: str) -> None:
    """The rows of one loader, written again; a row the test already has is a conflict."""
    with app.app_context():
        for table, rows in LOADED[name]:
            if rows:
                db.session.execute(table.insert(), rows)
        db.session.commit()


def _drop_everything() -> None:
    """A clean schema for the run, whatever an earlier run left in the test database."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))


@pytest.fixture(autouse=True)
def _empty_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "app" not in request.fixturenames:
        return
    app: Flask = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        _empty_every_table()


def _empty_every_table() -> None:
    if db.engine.dialect.name == "postgresql":
        # The append-only tables' triggers refuse DELETE; a superuser's session may skip
        # triggers for this transaction (the portal's own database role never can).
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    seed_builtin_kinds()  # reference data the migration seeds: every test starts with it
    db.session.commit()


@pytest.fixture
def queue(app: Flask) -> Iterator[None]:
    """The job queue, procrastinate's tables emptied before and after (they are not our
    models', which ``_empty_tables`` empties); nothing to empty on SQLite."""
    from tests.support.jobs import empty_queue

    if TEST_DATABASE_URL:
        with app.app_context():
            empty_queue()
    yield
    if TEST_DATABASE_URL:
        with app.app_context():
            empty_queue()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # noqa: ANN201 - FlaskCliRunner
    return app.test_cli_runner()


@pytest.fixture
def demo(app: Flask) -> None:
    """The demo municipalities with their departments (Yokohama with its wards), and the demo
    staff's roles; no other municipality (see ``known_municipalities``)."""
    _copy_loaded(app, "demo")


@pytest.fixture
def municipalities(app: Flask) -> None:
    """The demo municipalities with their departments (Yokohama with its wards), no staff;
    no other municipality (see ``known_municipalities``)."""
    _copy_loaded(app, "municipalities")


@pytest.fixture
def known_municipalities(app: Flask):  # noqa: ANN201
    """``known_municipalities("271004")``: municipalities of the official list, without
    departments (not served here), with a ward's city and a city's wards; loading all
    1,912 is tested once, in tests/test_municipalities.py."""
    from portal.tenancy.services import load_official

    def load(*codes: str) -> None:
        with app.app_context():
            load_official(codes)
            db.session.commit()

    return load


@pytest.fixture
def person(client: FlaskClient, provider: Provider):  # noqa: ANN201
    """``person("yamada-taro")``: someone who can sign in through the provider."""

    def make(persona: str, pin: str | None = None) -> Person:
        return Person(client, persona, pin)

    return make


@pytest.fixture
def definitions(app: Flask) -> None:
    """The shipped forms and workflows, as a deployment's `make run` loads them."""
    _copy_loaded(app, "definitions")


@pytest.fixture
def resident(app: Flask, client: FlaskClient, provider: Provider, demo, definitions):  # noqa: ANN201
    """``resident("yamada-taro")``: signed in through the provider, ready to start a case."""
    from tests.support.journey import Resident

    def make(persona: str = "yamada-taro") -> Resident:
        signed_in = Person(client, persona).sign_in()
        assert signed_in.response.status_code == 302
        return Resident(app, client)

    return make
