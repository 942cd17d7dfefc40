"""The job queue as tests see it: a task that leaves a trace, procrastinate's table, workers
as real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from portal import jobs
from portal.accounts.models import Account
from portal.extensions import db

ROOT = Path(__file__).resolve().parents[2]
TRACE_ISSUER = "https://jobs.test"


@jobs.task(name="tests.leave_trace")
def leave_trace(subject: str) -> None:
    """Idempotent: the trace is an account, made once however often the job runs."""
    if db.session.scalar(select(Account).filter_by(issuer=TRACE_ISSUER, subject=subject)):
        return
    db.session.add(Account(issuer=TRACE_ISSUER, subject=subject))
    db.session.flush()


@jobs.task(name="tests.fail")
def fail(subject: str) -> None:
    leave_trace(subject)
    raise RuntimeError("the job failed")


#: Whoever leaves this trace lets ``tests.fail_until_allowed`` of that subject succeed.
ALLOWED = "allowed:"
FAIL_UNTIL_ALLOWED = "tests.fail_until_allowed"


@jobs.task(name=FAIL_UNTIL_ALLOWED, max_attempts=1)
def fail_until_allowed(subject: str, case_id: int) -> None:
    """Fails (its one retry too) until the trace ``allowed:<subject>`` exists: a job that
    fails for good, then runs once an operator has fixed its cause and retried it."""
    if ALLOWED + subject not in traces():
        raise RuntimeError(f"{subject} is not allowed yet")
    leave_trace(subject)


#: What ``tests.fail_for_good`` leaves once the workers gave it up.
GIVEN_UP = "given up:"
FAIL_FOR_GOOD = "tests.fail_for_good"


def _given_up(tries: int, subject: str) -> None:
    leave_trace(f"{GIVEN_UP}{subject} after {tries}")


@jobs.task(name=FAIL_FOR_GOOD, max_attempts=1, given_up=_given_up)
def fail_for_good(subject: str) -> None:
    """Fails each time (tried twice): the workers give it up, and ``_given_up`` says so."""
    raise RuntimeError(f"{subject} fails each time")


def traces() -> list[str]:
    query = select(Account.subject).filter_by(issuer=TRACE_ISSUER).order_by(Account.subject)
    return list(db.session.scalars(query))


def queued() -> list[dict[str, Any]]:
    """procrastinate's jobs (PostgreSQL), oldest first; not the workers' own chores, nor what
    a schedule deferred (a worker started in the minutes after 18:40 UTC defers that night's
    retention run)."""
    rows = db.session.execute(
        text(
            "SELECT id, task_name, args, status, attempts FROM procrastinate_jobs"
            " WHERE task_name NOT LIKE 'jobs.%' AND id NOT IN"
            " (SELECT job_id FROM procrastinate_periodic_defers WHERE job_id IS NOT NULL)"
            " ORDER BY id"
        )
    )
    return [dict(row._mapping) for row in rows]


def empty_queue() -> None:
    db.session.execute(
        text(
            "TRUNCATE procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs,"
            " procrastinate_workers"
        )
    )
    db.session.commit()


def subprocess_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a portal process beside the tests: this worktree first on the path,
    the test database, and ``settings`` as ``PORTAL_*`` variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env["PORTAL_INSTANCE_PATH"] = os.environ["PORTAL_INSTANCE_PATH"]
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PORTAL_DATABASE_URL"] = database_url
    env.update({f"PORTAL_{key}": value for key, value in settings.items()})
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A portal process in the background, its output in ``log``."""
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "portal", *args],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def run(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "portal", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
