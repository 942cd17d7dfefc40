"""A GET that only reads sends neither BEGIN nor COMMIT on PostgreSQL; one that writes is still
one transaction: committed when it answers below 400, rolled back otherwise, jobs included."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, abort
from sqlalchemy import event, func, select

from portal import access, create_app, jobs
from portal.accounts.models import Account
from portal.extensions import db
from tests.conftest import TEST_DATABASE_URL
from tests.factories import AccountFactory
from tests.support.jobs import empty_queue, queued, traces
from tests.support.people import login_as

ON_POSTGRESQL = bool(TEST_DATABASE_URL)
ISSUER = "https://id.example.jp"


@pytest.fixture
def writing_app(app: Flask) -> Iterator[Flask]:
    """The portal on the test database, with GET views that read, then write (an account, a
    job), then answer as told (views cannot be added to the session's app once it has served)."""
    other = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "DATABASE_URL": TEST_DATABASE_URL or app.config["SQLALCHEMY_DATABASE_URI"],
        }
    )

    @other.get("/read-write/<int:status>")
    @access.requires(access.ANYONE)
    def read_write_then_answer(status: int) -> tuple[str, int]:
        db.session.scalar(select(func.count()).select_from(Account))  # a plain read first
        db.session.add(Account(issuer=ISSUER, subject=f"get-{status}"))
        db.session.flush()
        jobs.defer("tests.leave_trace", subject=f"get-{status}")
        if status >= 500:
            abort(status)
        return "written", status

    @other.get("/read-write-raise")
    @access.requires(access.ANYONE)
    def read_write_then_raise() -> str:
        db.session.scalar(select(func.count()).select_from(Account))
        db.session.add(Account(issuer=ISSUER, subject="get-raised"))
        db.session.flush()
        raise RuntimeError("the view failed after writing")

    @other.get("/stream")
    @access.requires(access.ANYONE)
    def stream() -> str:
        """Rows streamed in batches: a server-side cursor on PostgreSQL (audit verify's way)."""
        query = select(Account.subject).execution_options(yield_per=2)
        with db.session.execute(query) as rows:
            return str(sum(1 for _ in rows))

    yield other
    with other.app_context():
        db.engine.dispose()


@pytest.fixture
def clean(app: Flask) -> Iterator[None]:
    def empty() -> None:
        with app.app_context():
            if ON_POSTGRESQL:
                empty_queue()
            db.session.execute(Account.__table__.delete().where(Account.subject.like("get-%")))
            db.session.commit()

    empty()
    yield
    empty()


def _written(app: Flask) -> tuple[list[str], list[str]]:
    """The accounts the GETs left, and their jobs (queued on PostgreSQL, done on SQLite)."""
    with app.app_context():
        subjects = select(Account.subject).where(
            Account.issuer == ISSUER, Account.subject.like("get-%")
        )
        accounts = sorted(db.session.scalars(subjects))
        done = [job["args"]["subject"] for job in queued()] if ON_POSTGRESQL else traces()
        return accounts, sorted(s for s in done if s.startswith("get-"))


def test_a_get_that_writes_is_one_unit_of_work(app, writing_app, clean) -> None:
    client = writing_app.test_client()
    for status in (200, 302, 404, 422, 500):
        assert client.get(f"/read-write/{status}").status_code == status
    assert client.get("/read-write-raise").status_code == 500
    expected = ["get-200", "get-302"]
    assert _written(app) == (expected, expected)


def test_a_get_may_stream_rows(app, writing_app, clean) -> None:
    with app.app_context():
        AccountFactory.create_batch(5)
        db.session.commit()
        count = db.session.scalar(select(func.count()).select_from(Account))
    assert writing_app.test_client().get("/stream").text == str(count)


def test_after_a_get_the_connection_has_transactions_again(app, writing_app, clean) -> None:
    """The next user of the pooled connection (a POST, a job) rolls back as it always did."""
    client = writing_app.test_client()
    assert client.get("/read-write/200").status_code == 200
    with writing_app.app_context():
        db.session.add(Account(issuer=ISSUER, subject="get-rolled-back"))
        db.session.flush()
        db.session.rollback()
    assert _written(app)[0] == ["get-200"]


@pytest.mark.skipif(not ON_POSTGRESQL, reason="pysqlite sends no BEGIN before a read anyway")
def test_a_get_that_only_reads_sends_no_begin_nor_commit(app, client) -> None:
    """What the driver sends, traced by libpq: a journey-like page of plain SELECTs."""
    from psycopg.pq import Trace

    with app.app_context():
        account = AccountFactory()
        db.session.commit()
        account_id = account.id
    login_as(client, account_id)
    client.get("/")  # the once-a-minute last-seen write is done
    trace = Path(tempfile.mkdtemp()) / "libpq.trace"
    with app.app_context():
        engine = db.engine

    with trace.open("w") as sink:

        def traced(dbapi_connection, record, proxy) -> None:  # noqa: ANN001
            dbapi_connection.pgconn.trace(sink.fileno())
            dbapi_connection.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS)

        event.listen(engine.pool, "checkout", traced)
        try:
            assert client.get("/").status_code == 200
        finally:
            event.remove(engine.pool, "checkout", traced)
            with app.app_context():
                engine.dispose()  # no connection keeps writing to the trace
    sent = trace.read_text(errors="replace")
    assert "SELECT" in sent
    assert '"BEGIN"' not in sent and '"COMMIT"' not in sent
