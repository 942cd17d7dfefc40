"""Background jobs: enqueued in the transaction of the change that causes them.

On SQLite a job runs in the portal's process after the commit; on PostgreSQL it is a
procrastinate job, in the same transaction, run by ``flask --app portal worker``.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest
from flask import Flask, abort
from sqlalchemy.exc import IntegrityError

from portal import access, create_app, jobs
from portal.extensions import db
from portal.mailbox import services as mailbox
from portal.mailbox.kinds import MessageKind
from portal.mailbox.models import Message
from portal.transactions import unit_of_work
from tests.conftest import TEST_DATABASE_URL
from tests.factories import AccountFactory, CaseFactory
from tests.support.jobs import queued, run, start, subprocess_env, traces
from tests.support.mail import SmtpSink

ON_POSTGRESQL = bool(TEST_DATABASE_URL)


@pytest.fixture
def deferring_app(app: Flask) -> Iterator[Flask]:
    """The portal on the test database, with views that defer a job and then answer as told
    (views cannot be added to the session's app once it has served a request)."""
    other = create_app(
        {"TESTING": True, "SECRET_KEY": "test-secret-key", "DATABASE_URL": _database_url(app)}
    )

    @other.post("/defer/<int:status>")
    @access.requires(access.ANYONE)
    def defer_then_answer(status: int) -> tuple[str, int]:
        jobs.defer("tests.leave_trace", subject=f"answered-{status}")
        if status >= 500:
            abort(status)
        return "deferred", status

    @other.post("/defer-then-raise")
    @access.requires(access.ANYONE)
    def defer_then_raise() -> str:
        jobs.defer("tests.leave_trace", subject="raised")
        raise RuntimeError("the view failed after deferring")

    other.config["WTF_CSRF_ENABLED"] = False
    yield other
    with other.app_context():
        db.engine.dispose()


def _database_url(app: Flask) -> str:
    return TEST_DATABASE_URL or app.config["SQLALCHEMY_DATABASE_URI"]


def _done(app: Flask) -> list[str]:
    """What the deferred jobs did (SQLite) or what is queued for a worker (PostgreSQL)."""
    with app.app_context():
        if ON_POSTGRESQL:
            return sorted(job["args"]["subject"] for job in queued())
        return traces()


def test_a_request_that_fails_enqueues_nothing(app, deferring_app, queue) -> None:
    client = deferring_app.test_client()
    for status in (200, 302, 404, 422, 500):
        client.post(f"/defer/{status}")
    assert client.post("/defer-then-raise").status_code == 500
    assert _done(app) == ["answered-200", "answered-302"]


def test_a_job_deferred_in_a_savepoint_that_rolls_back_is_dropped(app, queue) -> None:
    with app.app_context(), unit_of_work():
        jobs.defer("tests.leave_trace", subject="kept")
        nested = db.session.begin_nested()
        jobs.defer("tests.leave_trace", subject="rolled back")
        nested.rollback()
        with db.session.begin_nested():
            jobs.defer("tests.leave_trace", subject="released")
    assert _done(app) == ["kept", "released"]


def test_a_unit_of_work_that_fails_enqueues_nothing(app, queue) -> None:
    with app.app_context(), pytest.raises(IntegrityError), unit_of_work():
        jobs.defer("tests.leave_trace", subject="never")
        db.session.execute(db.metadata.tables["accounts"].insert().values(id=1, issuer="x"))
    assert _done(app) == []


def test_jobs_wait_for_the_commit(app, queue) -> None:
    """Nothing runs (SQLite) or is visible to workers (PostgreSQL) before the commit."""
    with app.app_context(), unit_of_work():
        jobs.defer("tests.leave_trace", subject="after commit")
        assert _done(app) == []
    assert _done(app) == ["after commit"]


@pytest.mark.skipif(ON_POSTGRESQL, reason="in-process jobs are SQLite's")
def test_a_failing_job_is_logged_and_undoes_only_itself(app, caplog) -> None:
    with app.app_context(), unit_of_work():
        jobs.defer("tests.fail", subject="failed")
        jobs.defer("tests.leave_trace", subject="next")
    assert _done(app) == ["next"]
    assert "job tests.fail {'subject': 'failed'} failed" in caplog.text


def test_defer_refuses_what_no_worker_could_run(app) -> None:
    with app.app_context():
        with pytest.raises(LookupError, match="no task named 'tests.typo'"):
            jobs.defer("tests.typo", subject="x")
        with pytest.raises(TypeError):
            jobs.defer("tests.leave_trace", subject=object())


def test_worker_needs_postgresql(runner) -> None:
    if ON_POSTGRESQL:
        pytest.skip("this pass runs on PostgreSQL")
    result = runner.invoke(args=["worker", "--one-shot"])
    assert result.exit_code == 2
    assert "a worker needs PostgreSQL" in result.output


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def _mail_settings(app: Flask, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """E-mail on, in this process and in the workers'; the workers' environment."""
    settings = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_STARTTLS": "false",
        "MAIL_FROM": "noreply@city.example.jp",
        "SECRET_KEY": "test-secret-key",
    }
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)
    monkeypatch.setitem(app.config, "SMTP_PORT", smtp.port)
    monkeypatch.setitem(app.config, "SMTP_STARTTLS", False)
    return subprocess_env(TEST_DATABASE_URL, **settings)


def _post_approval(app: Flask) -> int:
    with app.app_context(), unit_of_work():
        resident = AccountFactory(notified_at="taro@example.jp")
        case = CaseFactory(account=resident, filed=True, forms=["mic.tenshutsu"])
        return mailbox.post(resident, MessageKind.APPROVED, request=case.requests[0]).id


@pytest.mark.postgresql
def test_a_worker_process_runs_the_job(app, queue, smtp, monkeypatch) -> None:
    env = _mail_settings(app, smtp, monkeypatch)
    message_id = _post_approval(app)
    assert smtp.received == []  # deferred: only a worker sends it
    result = run(["worker", "--one-shot"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [mail["To"] for mail in smtp.received] == ["taro@example.jp"]
    with app.app_context():
        assert db.session.get(Message, message_id).emailed_at is not None
        assert [job["status"] for job in queued()] == ["succeeded"]


@pytest.mark.postgresql
def test_a_worker_killed_mid_job_leaves_it_to_be_done_once(
    app, queue, smtp, monkeypatch, tmp_path
) -> None:
    """SIGKILL while the job talks to the SMTP server: no heartbeat comes any more, the job is
    put back, and the next worker sends the mail, once."""
    env = _mail_settings(app, smtp, monkeypatch)
    smtp.stall_next.set()
    message_id = _post_approval(app)
    log = tmp_path / "worker.log"
    worker = start(["worker", "--heartbeat-seconds", "0.5"], env, log)
    try:
        assert smtp.stalled.wait(timeout=60), log.read_text()
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    with app.app_context():
        assert [job["status"] for job in queued()] == ["doing"]
    smtp.released.set()
    time.sleep(1.5)  # the dead worker's last heartbeat grows older than --after
    result = run(["jobs", "retry-stalled", "--after", "1"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 stalled job(s) put back" in result.stdout
    assert run(["worker", "--one-shot"], env).returncode == 0
    assert run(["worker", "--one-shot"], env).returncode == 0
    assert len(smtp.received) == 1
    with app.app_context():
        assert db.session.get(Message, message_id).emailed_at is not None
        assert [(job["status"], job["attempts"]) for job in queued()] == [("succeeded", 2)]


@pytest.mark.postgresql
def test_smtp_down_the_worker_retries_later_and_sends_once(app, queue, monkeypatch) -> None:
    smtp = SmtpSink()  # not started: its port refuses connections
    env = _mail_settings(app, smtp, monkeypatch)
    try:
        message_id = _post_approval(app)
        assert run(["worker", "--one-shot"], env).returncode == 0
        with app.app_context():
            assert [(job["status"], job["attempts"]) for job in queued()] == [("todo", 1)]
        smtp.start()
        time.sleep(2.5)  # the retry's wait after a first failure: 2 s
        assert run(["worker", "--one-shot"], env).returncode == 0
        assert run(["worker", "--one-shot"], env).returncode == 0
        assert len(smtp.received) == 1
        with app.app_context():
            assert db.session.get(Message, message_id).emailed_at is not None
            assert [job["status"] for job in queued()] == ["succeeded"]
    finally:
        smtp.stop()
