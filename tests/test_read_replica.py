"""The read-only pages read from a real streaming replica, and a clerk's own write from the
primary while the replica lags.

Two servers of this test's own (``tests/support/postgres.py``): a primary, and its hot
standby made by ``pg_basebackup -R`` on another loopback port. With the standby's replay
paused (``pg_wal_replay_pause()``) the two differ, and a page shows which one it read. It
runs in the SQLite pass, the one every machine has, as tests/test_database_restart.py does.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from portal import access, replica
from portal.audit.models import AccessPurpose, AccessRecord
from portal.casework.lifecycle import RequestStatus
from portal.extensions import db
from portal.japan.clock import today_in_japan
from portal.journey.models import ProcedureRequest
from portal.replica import LSN_KEY, READ_FROM_HEADER, WriteInReadOnlyView, reads_from_replica
from portal.tenancy.models import Department
from tests.conftest import TEST_DATABASE_URL, Provider, portal_app
from tests.factories import (
    FACTORY_CODE,
    CaseFactory,
    CertificateFactory,
    MunicipalityFactory,
    RequestFactory,
    RoleFactory,
)
from tests.support import postgres
from tests.support.html import text
from tests.support.people import csrf_token, login_as

pytestmark = [
    pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="runs once, in the SQLite pass"),
    pytest.mark.skipif(postgres.available() is not None, reason=str(postgres.available())),
]


@dataclass
class Servers:
    primary: postgres.ScratchPostgres
    standby: postgres.ScratchPostgres

    def primary_sql(self, statement: str) -> None:
        with psycopg.connect(self.primary.url, autocommit=True) as connection:
            connection.execute(statement)

    def standby_sql(self, statement: str) -> object:
        with psycopg.connect(self.standby.url, autocommit=True) as connection:
            row = connection.execute(statement).fetchone()
        return row[0] if row else None

    def caught_up(self, limit: float = 30) -> None:
        """Until the standby has replayed all the primary has written."""
        with psycopg.connect(self.primary.url, autocommit=True) as connection:
            row = connection.execute("SELECT pg_current_wal_insert_lsn()").fetchone()
        assert row is not None
        target = replica.position(row[0])
        began = time.monotonic()
        while time.monotonic() - began < limit:
            replayed = self.standby_sql("SELECT pg_last_wal_replay_lsn()")
            if isinstance(replayed, str) and replica.position(replayed) >= target:
                return
            time.sleep(0.05)
        raise AssertionError(f"the standby did not catch up in {limit} s")


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    primary = postgres.ScratchPostgres().init()
    standby = None
    try:
        primary.start()
        standby = primary.standby()
        standby.start()
        yield Servers(primary, standby)
    finally:
        for server in (standby, primary):
            if server is not None:
                if server.running:
                    server.stop()
                server.remove()


@dataclass
class World:
    app: Flask
    department_id: int
    municipality_id: int
    request_id: int
    clerk_id: int
    admin_id: int


@pytest.fixture(scope="module")
def world(servers: Servers, provider: Provider) -> Iterator[World]:
    """The portal on the primary, reading its marked pages from the standby; a department
    with a clerk and one new request, and the portal's admin."""
    from flask_migrate import upgrade

    app = portal_app(servers.primary.url, provider, REPLICA_DATABASE_URL=servers.standby.url)
    _add_writing_views(app)
    with app.app_context():
        upgrade()
        municipality = MunicipalityFactory(name_en="Oldtown")
        department = municipality.department_of_kind("resident_registration")
        filed = RequestFactory(case=CaseFactory(filed=True, forms=[]), municipality=municipality)
        made = World(
            app=app,
            department_id=department.id,
            municipality_id=municipality.id,
            request_id=filed.id,
            clerk_id=RoleFactory(department=department).account.id,
            admin_id=RoleFactory(portal_admin=True).account.id,
        )
        db.session.commit()
    yield made
    with app.app_context():
        db.engine.dispose()
        standby_engine = replica.engine(app)
        assert standby_engine is not None
        standby_engine.dispose()


def _add_writing_views(app: Flask) -> None:
    """Views marked read-only that write anyway: each must fail, loudly."""

    @app.get("/test/flushes")
    @access.requires(access.ANYONE)
    @reads_from_replica
    def flushes() -> str:
        db.session.get(Department, 1)
        db.session.add(Department(municipality_id=1, kind="x", name_ja="x", name_en="x"))
        db.session.flush()
        return "written"

    @app.get("/test/updates")
    @access.requires(access.ANYONE)
    @reads_from_replica
    def updates() -> str:
        db.session.execute(update(Department).values(name_ja="書き換え"))
        return "written"

    @app.get("/test/locks")
    @access.requires(access.ANYONE)
    @reads_from_replica
    def locks() -> str:
        db.session.scalars(select(Department).with_for_update()).all()
        return "locked"


def _file(world: World, due_in: int) -> int:
    """A new request to the department, due in ``due_in`` days; its id."""
    with world.app.app_context():
        municipality = db.session.get(Department, world.department_id).municipality
        filed = RequestFactory(
            case=CaseFactory(filed=True, forms=[]),
            municipality=municipality,
            deadline=today_in_japan() + timedelta(days=due_in),
        )
        db.session.commit()
        return filed.id


def _rows(html: str) -> list[int]:
    """The request ids of the queue's rows, in the order shown."""
    return [
        int(i) for i in re.findall(r'<th scope="row"[^>]*><a href="/staff/requests/(\d+)"', html)
    ]


def _signed_in(world: World, account_id: int) -> FlaskClient:
    client = world.app.test_client()
    login_as(client, account_id)
    client.set_cookie("madoguchi_lang", "en")
    return client


def test_read_only_pages_answer_from_the_replica_and_a_clerks_claim_from_the_primary(
    world: World, servers: Servers
) -> None:
    clerk = _signed_in(world, world.clerk_id)
    admin = _signed_in(world, world.admin_id)
    queue = f"/staff/departments/{world.department_id}"
    kpis = f"/admin/kpis?municipality={world.municipality_id}"
    standby = f"replica:{servers.standby.port}"
    servers.caught_up()
    servers.standby_sql("SELECT pg_wal_replay_pause()")
    try:
        # On the primary only: a request due sooner, and the municipality renamed (its old
        # name, the request's absence: the replica alone has them).
        sooner = _file(world, due_in=1)
        servers.primary_sql(
            f"UPDATE municipalities SET name_en = 'Newtown' WHERE id = {world.municipality_id}"
        )
        page = clerk.get(queue)
        assert page.status_code == 200 and page.headers[READ_FROM_HEADER] == standby
        assert _rows(page.text) == [world.request_id]
        dashboard = admin.get(kpis)
        assert dashboard.status_code == 200 and dashboard.headers[READ_FROM_HEADER] == standby
        assert "KPIs of Oldtown" in text(dashboard.text)
        verify = world.app.test_client().get("/verify")
        assert verify.status_code == 200 and verify.headers[READ_FROM_HEADER] == standby
        # A page for anyone sets no cookie (it stays cacheable).
        open_data = world.app.test_client().get("/open-data/kpis.json")
        assert open_data.status_code == 200 and open_data.headers[READ_FROM_HEADER] == standby
        assert "Set-Cookie" not in open_data.headers

        # The clerk's own claim, on the primary; the queue they come back to reads the primary
        # while the replica has not replayed it.
        claimed = clerk.post(f"{queue}/claim-next", data={"csrf_token": csrf_token(page.text)})
        assert claimed.headers["Location"] == f"/staff/requests/{sooner}"
        with clerk.session_transaction() as cookie:
            assert LSN_KEY in cookie
        after = clerk.get(queue)
        assert after.headers[READ_FROM_HEADER] == "primary"
        assert _rows(after.text) == [sooner, world.request_id]
        assert "Being reviewed" in text(after.text)
        # Someone who wrote nothing still reads the replica.
        assert "KPIs of Oldtown" in text(admin.get(kpis).text)
    finally:
        servers.standby_sql("SELECT pg_wal_replay_resume()")
    servers.caught_up()
    again = clerk.get(queue)
    assert again.headers[READ_FROM_HEADER] == standby
    assert _rows(again.text) == [sooner, world.request_id]
    with clerk.session_transaction() as cookie:
        assert LSN_KEY not in cookie  # replayed: nothing left to wait for
    assert "KPIs of Newtown" in text(admin.get(kpis).text)
    with world.app.app_context():
        held = db.session.get(ProcedureRequest, sooner)
        assert (held.status, held.assignee_id) == (RequestStatus.IN_REVIEW, world.clerk_id)


def test_a_replica_that_is_down_leaves_the_pages_to_the_primary(
    world: World, servers: Servers, caplog: pytest.LogCaptureFixture
) -> None:
    admin = _signed_in(world, world.admin_id)
    kpis = f"/admin/kpis?municipality={world.municipality_id}"
    servers.standby.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="portal.replica"):
            page = admin.get(kpis)
        assert page.status_code == 200 and page.headers[READ_FROM_HEADER] == "primary"
        assert any("replica unreachable" in r.getMessage() for r in caplog.records)
    finally:
        servers.standby.start()
    time.sleep(replica.RETRY_AFTER_SECONDS + 0.5)  # then it is tried again
    servers.caught_up()
    assert admin.get(kpis).headers[READ_FROM_HEADER] == f"replica:{servers.standby.port}"


@pytest.mark.parametrize("path", ["/test/flushes", "/test/updates", "/test/locks"])
def test_a_read_only_view_that_writes_fails_loudly(
    world: World, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A 500, with the error logged: never a write on the primary from a marked view."""
    with caplog.at_level(logging.ERROR):
        answer = world.app.test_client().get(path)
    assert answer.status_code == 500
    (logged,) = [r for r in caplog.records if r.exc_info]
    assert logged.exc_info is not None and logged.exc_info[0] is WriteInReadOnlyView
    with world.app.app_context():
        names = db.session.scalars(select(Department.name_ja)).all()
        assert "x" not in names and "書き換え" not in names


def test_a_post_to_a_marked_view_is_not_routed(world: World) -> None:
    """/verify's POST writes the holder's access record: it runs as an ordinary view."""
    with world.app.app_context():
        certificate = CertificateFactory()
        serial, holder_id = certificate.serial, certificate.holder_id
        db.session.commit()
    client = world.app.test_client()
    form = client.get("/verify")
    answer = client.post(
        "/verify",
        data={"csrf_token": csrf_token(form.text), "serial": serial, "code": FACTORY_CODE},
    )
    assert answer.status_code == 200 and READ_FROM_HEADER not in answer.headers
    with world.app.app_context():
        records = db.session.scalars(select(AccessRecord).filter_by(resident_id=holder_id))
        assert [r.purpose for r in records] == [AccessPurpose.CERTIFICATE_VERIFIED]
