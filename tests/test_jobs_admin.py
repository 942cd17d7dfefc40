"""The job queue's page for its operators and its figures for monitoring.

On PostgreSQL a real worker (``queue.run_worker``, in this process, so that it knows the
tests' tasks) fails a job past its retries; the page lists it, its retry puts it back and
the next worker runs it. The figures are checked against jobs seeded in procrastinate's
tables. On SQLite the page says the jobs run in the portal's process.
"""

from __future__ import annotations

import re
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from portal import jobs
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.jobs import failures
from portal.jobs import queue as job_queue
from portal.jobs.models import JobFailure
from portal.transactions import unit_of_work
from tests.conftest import TEST_DATABASE_URL
from tests.factories import AccountFactory, RoleFactory
from tests.support.html import text as visible
from tests.support.jobs import (
    ALLOWED,
    FAIL_FOR_GOOD,
    GIVEN_UP,
    leave_trace,
    queued,
    traces,
)
from tests.support.people import csrf_token, login_as

ON_POSTGRESQL = bool(TEST_DATABASE_URL)
TOKEN = "Zq8Lm3Xv7Rt1Wc5Hn9Bd2Kf6Jp0Gs4Ya-Ue_Oi"


@pytest.fixture
def people(app: Flask) -> dict[str, int]:
    with app.app_context():
        admin = RoleFactory(portal_admin=True)
        found = {
            "portal admin": admin.account,
            "admin of a municipality": RoleFactory(admin=True).account,
            "clerk": RoleFactory().account,
            "resident": AccountFactory(),
        }
        db.session.commit()
        return {name: account.id for name, account in found.items()}


def _as(app: Flask, people: dict[str, int], who: str | None, language: str = "ja") -> FlaskClient:
    client = app.test_client()
    if who is not None:
        login_as(client, people[who])
    if language != "ja":
        page = client.get("/")
        client.post("/language", data={"language": language, "csrf_token": csrf_token(page.text)})
    return client


def _rows(html: str, caption_id: str) -> list[list[str]]:
    """The rows of the table whose caption has this id, each cell's visible text."""
    found = re.search(rf'<caption id="{caption_id}">(.*?)</caption>(.*?)</table>', html, re.S)
    assert found, caption_id
    return [
        [visible(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", found.group(2), re.S)
    ]


@pytest.mark.parametrize("who", [None, "resident", "clerk", "admin of a municipality"])
def test_only_a_portal_admin_opens_the_page(app, people, queue, who) -> None:
    client = _as(app, people, who)
    token = csrf_token(client.get("/").text)
    for method, url in (("GET", "/admin/jobs"), ("POST", "/admin/jobs/retry")):
        response = client.open(url, method=method, data={"job_id": "1", "csrf_token": token})
        if who is None:
            assert response.status_code == 302
            assert response.headers["Location"].startswith("/auth/login")
        else:
            assert response.status_code == 404, (who, url)
    staff_home = client.get("/staff/")
    assert "/admin/jobs" not in staff_home.text


def test_the_admin_navigation_links_the_page(app, people) -> None:
    home = _as(app, people, "portal admin").get("/staff/").text
    assert 'href="/admin/jobs"' in home


@pytest.mark.skipif(ON_POSTGRESQL, reason="the in-process jobs are SQLite's")
def test_on_sqlite_the_page_says_jobs_run_in_the_portals_process(app, people) -> None:
    japanese = _as(app, people, "portal admin").get("/admin/jobs")
    assert japanese.status_code == 200
    assert "<h1>バックグラウンド処理</h1>" in japanese.text
    assert "ポータルのログ" in japanese.text
    assert "失敗した処理はありません。" in japanese.text
    english = _as(app, people, "portal admin", language="en").get("/admin/jobs").text
    assert "<h1>Background jobs</h1>" in english
    assert "its error is written to the portal's log and listed below" in english


@pytest.mark.skipif(ON_POSTGRESQL, reason="the in-process jobs are SQLite's")
def test_on_sqlite_a_job_that_failed_in_process_is_listed_with_its_error(app, people) -> None:
    from portal import jobs

    with app.app_context(), unit_of_work():
        jobs.defer("tests.fail_until_allowed", subject="saburo", case_id=31)
        jobs.defer("tests.leave_trace", subject="next")
    with app.app_context():
        assert traces() == ["next"]  # the failure undid only itself
    page = _as(app, people, "portal admin", language="en").get("/admin/jobs").text
    rows = _rows(page, "in-process-caption")
    assert rows[0] == ["Task", "About", "Error", "When"]
    assert rows[1][:3] == [
        "tests.fail_until_allowed",
        "case_id=31",
        "RuntimeError: saburo is not allowed yet",
    ]
    assert "Failed jobs, the latest first: 1" in page


def _fail_for_good(app: Flask, subject: str, case_id: int) -> None:
    """Defer the job and let workers try it twice: its attempt and its one retry."""
    from portal import jobs

    with app.app_context(), unit_of_work():
        jobs.defer("tests.fail_until_allowed", subject=subject, case_id=case_id)
    job_queue.run_worker(app, one_shot=True)
    time.sleep(2.2)  # the retry's wait after a first failure: 2 s
    job_queue.run_worker(app, one_shot=True)


def _job(app: Flask) -> dict[str, object]:
    with app.app_context():
        (job,) = [job for job in queued() if job["task_name"] == "tests.fail_until_allowed"]
        return job


@pytest.mark.postgresql
def test_a_job_failed_past_its_retries_is_listed_retried_and_run(app, people, queue) -> None:
    _fail_for_good(app, "hanako", case_id=4242)
    failed = _job(app)
    assert (failed["status"], failed["attempts"]) == ("failed", 2)
    client = _as(app, people, "portal admin", language="en")
    page = client.get("/admin/jobs").text
    rows = _rows(page, "failed-caption")
    assert rows[0] == [
        "Job",
        "Task",
        "About",
        "Attempts",
        "What happened",
        "Last error",
        "When",
        "Action",
    ]
    assert rows[1][:6] == [
        str(failed["id"]),
        "tests.fail_until_allowed",
        "case_id=4242",
        "2",
        "Failed after its last attempt",
        "RuntimeError: hanako is not allowed yet",
    ]
    with app.app_context():  # each attempt's error, the worker's rollback notwithstanding
        recorded = db.session.scalars(select(JobFailure).order_by(JobFailure.id)).all()
        assert [(f.job_id, f.attempt, f.args) for f in recorded] == [
            (failed["id"], 1, {"subject": "hanako", "case_id": 4242}),
            (failed["id"], 2, {"subject": "hanako", "case_id": 4242}),
        ]
    assert "Jobs that no worker will run again by itself, the latest first: 1" in page

    with app.app_context(), unit_of_work():  # the operator fixes the cause
        leave_trace(ALLOWED + "hanako")
    retried = client.post(
        "/admin/jobs/retry", data={"job_id": failed["id"], "csrf_token": csrf_token(page)}
    )
    assert retried.status_code == 303
    assert _job(app)["status"] == "todo"
    after = client.get("/admin/jobs").text
    assert f"Job {failed['id']} (tests.fail_until_allowed) is back in the queue." in after
    assert "No job has failed for good." in after
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).filter_by(action="job.retried")).one()
        assert (entry.subject, entry.actor_id) == (f"job:{failed['id']}", people["portal admin"])

    job_queue.run_worker(app, one_shot=True)
    assert _job(app)["status"] == "succeeded"
    with app.app_context():
        assert "hanako" in traces()

    again = client.post(  # a second press, from the page as it was: nothing to retry
        "/admin/jobs/retry", data={"job_id": failed["id"], "csrf_token": csrf_token(page)}
    )
    assert again.status_code == 303
    assert "nothing was changed" in client.get("/admin/jobs").text
    with app.app_context():
        assert db.session.scalar(select(db.func.count(AuditEntry.id))) == 1


@pytest.mark.postgresql
def test_the_page_reads_japanese(app, people, queue) -> None:
    _fail_for_good(app, "jiro", case_id=7)
    page = _as(app, people, "portal admin").get("/admin/jobs").text
    rows = _rows(page, "failed-caption")
    assert rows[0] == ["番号", "処理", "対象", "試行回数", "状況", "最後のエラー", "日時", "操作"]
    assert rows[1][4] == "最後の試行でも失敗"
    assert '<h2 id="figures-title">キューの現状</h2>' in page


def _seed(app: Flask) -> None:
    """Jobs of two tasks in every status, with events at chosen times (minutes ago)."""
    jobs = [
        # task, status, [(event, minutes ago)], due in (minutes), its worker
        ("tests.leave_trace", "todo", [("deferred", 10)], None, None),
        ("tests.leave_trace", "todo", [("deferred", 3)], None, None),
        ("tests.leave_trace", "todo", [("deferred", 1)], 30, None),  # a retry, not due yet
        ("tests.leave_trace", "doing", [("deferred", 2), ("started", 1)], None, "alive"),
        ("tests.leave_trace", "doing", [("deferred", 8), ("started", 7)], None, "stopped"),
        ("tests.leave_trace", "succeeded", [("started", 5), ("succeeded", 5)], None, None),
        ("tests.leave_trace", "succeeded", [("started", 50), ("succeeded", 50)], None, None),
        ("tests.leave_trace", "succeeded", [("started", 120), ("succeeded", 120)], None, None),
        ("mailbox.send_email", "failed", [("started", 20), ("failed", 20)], None, None),
        ("mailbox.send_email", "cancelled", [("cancelled", 90)], None, None),
        ("mailbox.send_email", "aborted", [("started", 30), ("aborted", 30)], None, None),
    ]
    with app.app_context():
        workers = {
            name: db.session.scalar(
                text(
                    "INSERT INTO procrastinate_workers (last_heartbeat)"
                    " VALUES (now() - make_interval(mins => :ago)) RETURNING id"
                ),
                {"ago": ago},
            )
            for name, ago in (("alive", 0), ("stopped", 5))
        }
        for task, status, events, due_in, worker in jobs:
            job_id = db.session.scalar(
                text(
                    "INSERT INTO procrastinate_jobs"
                    " (queue_name, task_name, status, args, scheduled_at, worker_id)"
                    " VALUES ('default', :task, CAST(:status AS procrastinate_job_status),"
                    "  '{\"message_id\": 12}', now() + make_interval(mins => :due_in), :worker)"
                    " RETURNING id"
                ),
                {"task": task, "status": status, "due_in": due_in, "worker": workers.get(worker)},
            )
            db.session.execute(
                text("DELETE FROM procrastinate_events WHERE job_id = :id"), {"id": job_id}
            )
            for event, minutes_ago in events:
                db.session.execute(
                    text(
                        "INSERT INTO procrastinate_events (job_id, type, at) VALUES (:id,"
                        " CAST(:type AS procrastinate_job_event_type),"
                        " now() - make_interval(mins => :ago))"
                    ),
                    {"id": job_id, "type": event, "ago": minutes_ago},
                )
        db.session.commit()


def _metrics(app: Flask, **headers: str) -> tuple[int, str]:
    response = app.test_client().get("/metrics", headers=headers)
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.postgresql
def test_the_figures_match_the_queue(app, people, queue, monkeypatch) -> None:
    _seed(app)
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    status, body = _metrics(app, Authorization=f"Bearer {TOKEN}")
    assert status == 200
    samples = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line and not line.startswith("#")
    }
    jobs = {k: v for k, v in samples.items() if k.startswith("madoguchi_jobs{")}
    assert jobs == {
        'madoguchi_jobs{status="todo",task="tests.leave_trace"}': 3,
        'madoguchi_jobs{status="doing",task="tests.leave_trace"}': 2,
        'madoguchi_jobs{status="succeeded",task="tests.leave_trace"}': 3,
        'madoguchi_jobs{status="failed",task="tests.leave_trace"}': 0,
        'madoguchi_jobs{status="cancelled",task="tests.leave_trace"}': 0,
        'madoguchi_jobs{status="aborted",task="tests.leave_trace"}': 0,
        'madoguchi_jobs{status="todo",task="mailbox.send_email"}': 0,
        'madoguchi_jobs{status="doing",task="mailbox.send_email"}': 0,
        'madoguchi_jobs{status="succeeded",task="mailbox.send_email"}': 0,
        'madoguchi_jobs{status="failed",task="mailbox.send_email"}': 1,
        'madoguchi_jobs{status="cancelled",task="mailbox.send_email"}': 1,
        'madoguchi_jobs{status="aborted",task="mailbox.send_email"}': 1,
    }
    # The job deferred 10 minutes ago waits; the one due in 30 minutes does not yet.
    assert 600 <= samples["madoguchi_jobs_oldest_waiting_seconds"] < 660
    finished = {k: v for k, v in samples.items() if k.startswith("madoguchi_jobs_finished")}
    assert finished == {
        'madoguchi_jobs_finished_last_hour{status="succeeded",task="tests.leave_trace"}': 2,
        'madoguchi_jobs_finished_last_hour{status="failed",task="mailbox.send_email"}': 1,
        'madoguchi_jobs_finished_last_hour{status="aborted",task="mailbox.send_email"}': 1,
    }
    assert samples['madoguchi_job_workers{state="alive"}'] == 1
    assert samples['madoguchi_job_workers{state="stopped"}'] == 1

    page = _as(app, people, "portal admin", language="en").get("/admin/jobs").text
    counts = _rows(page, "counts-caption")
    assert counts[0] == [
        "Task",
        "Waiting",
        "Running",
        "Succeeded",
        "Failed",
        "Cancelled",
        "Aborted",
        "Ended in the last hour",
    ]
    assert counts[1:] == [
        ["mailbox.send_email", "0", "0", "0", "1", "1", "1", "2"],
        ["tests.leave_trace", "3", "2", "3", "0", "0", "0", "2"],
    ]
    assert "The oldest job ready to run has waited 6" in page  # 600-odd seconds
    assert "Jobs that ended in the last hour: 4." in page
    # The failed job, and the one whose worker stopped (not the one whose worker runs), the
    # latest first.
    dead = [row[1:5] for row in _rows(page, "failed-caption")[1:]]
    assert dead == [
        ["tests.leave_trace", "message_id=12", "0", "Its worker stopped while running it"],
        ["mailbox.send_email", "message_id=12", "0", "Failed after its last attempt"],
    ]


@pytest.mark.postgresql
def test_metrics_answer_only_the_token(app, queue, monkeypatch) -> None:
    assert _metrics(app)[0] == 404  # no token set: nobody
    assert _metrics(app, Authorization="Bearer ")[0] == 404
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    for refused in ("", f"Basic {TOKEN}", f"Bearer {TOKEN[:-1]}", "Bearer", "Bearer ☃"):
        assert _metrics(app, Authorization=refused)[0] == 404, refused
    assert _metrics(app, Authorization=f"bearer {TOKEN}")[0] == 200


@pytest.mark.skipif(ON_POSTGRESQL, reason="SQLite has no queue")
def test_on_sqlite_there_is_no_queue_to_measure(app, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    assert _metrics(app, Authorization=f"Bearer {TOKEN}")[0] == 404


@pytest.mark.postgresql
def test_the_nightly_clean_up_removes_the_failures_of_removed_jobs(app, queue) -> None:
    _seed(app)
    with app.app_context(), unit_of_work():
        kept = db.session.scalar(text("SELECT min(id) FROM procrastinate_jobs"))
        error = RuntimeError("down")
        failures.record("tests.leave_trace", {}, error, job_id=kept)
        failures.record("tests.leave_trace", {}, error, job_id=kept + 10_000)  # removed since
        failures.record("tests.leave_trace", {}, error)  # in-process (SQLite's)
    with app.app_context(), unit_of_work():
        assert failures.remove_those_of_removed_jobs() == 1
    with app.app_context():
        left = db.session.scalars(select(JobFailure.job_id).order_by(JobFailure.id)).all()
        assert left == [kept, None]


@pytest.mark.postgresql
def test_a_job_given_up_after_its_last_try_ends_what_it_was_for(app: Flask, queue) -> None:
    """The task's ``given_up`` runs once, when the last try fails, not after the first."""
    with app.app_context(), unit_of_work():
        jobs.defer(FAIL_FOR_GOOD, subject="hanako")
    job_queue.run_worker(app, one_shot=True)
    with app.app_context():
        assert [(j["status"], j["attempts"]) for j in queued()] == [("todo", 1)]
        assert traces() == []  # a try is left: nothing is given up yet
    time.sleep(2.2)  # the wait before the retry: 2 s
    job_queue.run_worker(app, one_shot=True)
    with app.app_context():
        assert [(j["status"], j["attempts"]) for j in queued()] == [("failed", 2)]
        assert traces() == [GIVEN_UP + "hanako after 2"]
