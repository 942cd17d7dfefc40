"""The portal behind pgbouncer in transaction mode: nothing it relies on outlives a
transaction (no SET, no session advisory lock, no prepared statement), so any server
connection may serve any of its transactions.

A PostgreSQL and a pgbouncer of this test's own (``tests/support/postgres.py``), the pool
smaller than the portal's connections so that transactions change server connections; it
runs in the SQLite pass, as tests/test_database_restart.py does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from flask import Flask
from sqlalchemy import select, text

from portal import demo as demo_data
from portal.casework.lifecycle import RequestStatus
from portal.certificates import statuslist
from portal.definitions import services as definitions
from portal.extensions import db
from portal.journey.models import Case, CaseStatus, ProcedureRequest
from portal.transactions import unit_of_work
from tests.conftest import TEST_DATABASE_URL, Provider, portal_app
from tests.factories import CaseFactory, MunicipalityFactory, RequestFactory, RoleFactory
from tests.journey.test_concurrency import WITHIN, at_once
from tests.support import postgres
from tests.support.html import post_form
from tests.support.journey import Resident
from tests.support.people import Person, csrf_token, login_as

pytestmark = [
    pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="runs once, in the SQLite pass"),
    pytest.mark.skipif(
        postgres.pgbouncer_available() is not None, reason=str(postgres.pgbouncer_available())
    ),
]


@dataclass
class Pooled:
    server: postgres.ScratchPostgres
    bouncer: postgres.Pgbouncer
    app: Flask


@pytest.fixture(scope="module")
def pooled(provider: Provider) -> Iterator[Pooled]:
    """The portal through a pgbouncer (transaction mode, two server connections), migrated
    through it too, with the demo municipalities and the definitions."""
    from flask_migrate import upgrade

    server = postgres.ScratchPostgres().init()
    bouncer = None
    try:
        server.start()
        bouncer = postgres.Pgbouncer(server, pool_mode="transaction", pool_size=2).start()
        app = portal_app(bouncer.url, provider, DATABASE_POOLER="transaction")
        with app.app_context():
            upgrade()
            demo_data.load()
            definitions.load()
            db.session.commit()
        yield Pooled(server, bouncer, app)
        with app.app_context():
            db.engine.dispose()
    finally:
        if bouncer is not None:
            bouncer.stop()
        if server.running:
            server.stop()
        server.remove()


def test_a_resident_signs_in_and_files_a_journey_through_the_pooler(pooled: Pooled) -> None:
    app = pooled.app
    client = app.test_client()
    assert Person(client, "yamada-taro").sign_in().response.status_code == 302
    person = Resident(app, client)
    walk = person.walk(person.start("moving"), WITHIN)
    form = post_form(walk.last.text)
    sent = client.post(
        form.action, data={"csrf_token": form.fields["csrf_token"], "declaration": "y"}
    )
    assert sent.status_code == 302, sent.text[:300]
    # The session holds across requests, whichever server connection serves each.
    assert client.get("/mailbox/").status_code == 200
    with app.app_context():
        case = db.session.get(Case, person.case_id)
        assert case.status is CaseStatus.SUBMITTED and case.receipt_number
        # Its jobs were deferred in the submission's transaction (procrastinate's table).
        deferred = db.session.scalar(
            text("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'")
        )
        assert deferred and deferred >= 1


def test_clerks_claim_at_once_with_skip_locked_through_the_pooler(pooled: Pooled) -> None:
    app = pooled.app
    with app.app_context():
        municipality = MunicipalityFactory()
        department = municipality.department_of_kind("resident_registration")
        filed = {
            RequestFactory(case=CaseFactory(filed=True, forms=[]), municipality=municipality).id
            for _ in range(6)
        }
        clerks = [RoleFactory(department=department).account.id for _ in range(3)]
        db.session.commit()
        department_id = department.id
    queue = f"/staff/departments/{department_id}"
    clients = []
    for clerk in clerks:
        client = app.test_client()
        login_as(client, clerk)
        clients.append((client, csrf_token(client.get(queue).text)))

    def claim(client, token):  # noqa: ANN001, ANN202
        return lambda: client.post(f"{queue}/claim-next", data={"csrf_token": token})

    for _ in range(2):
        answers = at_once(*(claim(client, token) for client, token in clients))
        assert all(a.status_code == 303 for a in answers), [a.status_code for a in answers]
    with app.app_context():
        held = db.session.execute(
            select(ProcedureRequest.id, ProcedureRequest.assignee_id).where(
                ProcedureRequest.id.in_(filed)
            )
        ).all()
        statuses = db.session.scalars(
            select(ProcedureRequest.status).where(ProcedureRequest.id.in_(filed))
        ).all()
    assert {status for status in statuses} == {RequestStatus.IN_REVIEW}
    assert sorted(assignee for _id, assignee in held) == sorted(clerks * 2)


def test_advisory_transaction_locks_hold_through_the_pooler(pooled: Pooled) -> None:
    """Status-list indexes are drawn under ``pg_advisory_xact_lock``: it ends with the
    transaction, as the pooler needs; drawn at once, none is drawn twice."""
    app = pooled.app
    with app.app_context():
        municipality_id = MunicipalityFactory().id
        db.session.commit()

    def draw() -> tuple[int, int]:
        with app.app_context(), unit_of_work():
            return statuslist.allocate(municipality_id)

    drawn = at_once(*([draw] * 6))
    assert len(set(drawn)) == 6, drawn
    with app.app_context():
        # None left behind on a server connection for the next client to trip over.
        left = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        assert db.session.scalar(left) == 0


def test_without_the_setting_prepared_statements_break_under_transaction_pooling(
    pooled: Pooled,
) -> None:
    """Why ``PORTAL_DATABASE_POOLER=transaction``: psycopg prepares a statement it has run
    five times, on whichever server connection it had; through the pooler the next client
    on that connection prepares the same name again, and fails. The portal's settings never
    prepare."""
    portal_options = pooled.app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]

    def repeat(**options: object) -> None:
        clients = [psycopg.connect(pooled.bouncer.url, autocommit=True, **options) for _ in "ab"]
        try:
            for _ in range(8):
                for client in clients:
                    client.execute("SELECT %s::int", [1]).fetchone()
        finally:
            for client in clients:
                client.close()

    repeat(**portal_options)
    with pytest.raises(psycopg.errors.DuplicatePreparedStatement):
        repeat()


def test_a_worker_refuses_to_run_through_the_pooler(pooled: Pooled) -> None:
    """Its LISTEN would not survive the transaction: it must connect to PostgreSQL itself."""
    result = pooled.app.test_cli_runner().invoke(args=["worker", "--one-shot"])
    assert result.exit_code == 2
    assert "PORTAL_DATABASE_POOLER" in result.output
