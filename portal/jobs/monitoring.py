"""What the job queue holds, for its operators: the jobs that failed for good, and its figures.

Read from procrastinate's own tables (PostgreSQL; see :mod:`portal.jobs.schema`) on the
session's connection, so a page sees what its request's transaction sees. procrastinate keeps
each job's status, attempts and events (when it was deferred, started, retried, failed); what
a failed attempt raised is ours, in :mod:`portal.jobs.failures`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text

from portal.extensions import db
from portal.jobs.queue import STALLED_AFTER_SECONDS

#: procrastinate's job statuses ('aborting' is a legacy one, never set since 3.0).
STATUSES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborted")
#: The statuses a job ends in, counted among the jobs finished in the last hour.
FINISHED = ("succeeded", "failed", "cancelled", "aborted")
#: The dead-letter list shows this many, the latest first.
SHOWN_FAILURES = 200
#: Argument names that say which object a job was about.
SUBJECT_ARGUMENTS = (
    "case_id",
    "request_id",
    "certificate_id",
    "message_id",
    "hand_off_id",
    "account_id",
)


@dataclass(frozen=True)
class DeadJob:
    """A job no worker will run again by itself: failed past its retries, or left ``doing``
    by a worker that stopped (the workers put those back within a minute)."""

    id: int
    task_name: str
    args: dict[str, Any]
    status: str
    attempts: int
    #: When it failed (or, stalled, when it last started).
    at: datetime | None

    @property
    def stalled(self) -> bool:
        return self.status == "doing"

    @property
    def subjects(self) -> list[tuple[str, Any]]:
        return subjects(self.args)


def subjects(args: dict[str, Any]) -> list[tuple[str, Any]]:
    """The ids a job was about, as (argument name, value), in :data:`SUBJECT_ARGUMENTS` order."""
    return [(name, args[name]) for name in SUBJECT_ARGUMENTS if name in args]


_DEAD_JOBS = text(
    """
    SELECT job.id, job.task_name, job.args, job.status::text AS status, job.attempts,
           last_event.at
      FROM procrastinate_jobs job
      LEFT JOIN procrastinate_workers worker ON worker.id = job.worker_id
      LEFT JOIN LATERAL (
           SELECT event.at FROM procrastinate_events event
            WHERE event.job_id = job.id AND event.type IN ('failed', 'started')
            ORDER BY event.id DESC LIMIT 1
      ) last_event ON true
     WHERE job.status = 'failed'
        OR (job.status = 'doing'
            AND (job.worker_id IS NULL
                 OR worker.last_heartbeat < now() - make_interval(secs => :stalled_after)))
     ORDER BY last_event.at DESC NULLS LAST, job.id DESC
     LIMIT :limit
    """
)


def dead_jobs(limit: int = SHOWN_FAILURES) -> list[DeadJob]:
    rows = db.session.execute(_DEAD_JOBS, {"stalled_after": STALLED_AFTER_SECONDS, "limit": limit})
    return [DeadJob(**row._mapping) for row in rows]


_DEAD_JOB = text(
    """
    SELECT job.id, job.task_name, job.args, job.status::text AS status, job.attempts,
           NULL AS at
      FROM procrastinate_jobs job
      LEFT JOIN procrastinate_workers worker ON worker.id = job.worker_id
     WHERE job.id = :id
       AND (job.status = 'failed'
            OR (job.status = 'doing'
                AND (job.worker_id IS NULL
                     OR worker.last_heartbeat < now() - make_interval(secs => :stalled_after))))
       FOR UPDATE OF job
    """
)


def dead_job(job_id: int) -> DeadJob | None:
    """One job of the dead-letter list, locked until the transaction ends (a retry changes it);
    None if it is not (or no longer) on it."""
    row = db.session.execute(
        _DEAD_JOB, {"id": job_id, "stalled_after": STALLED_AFTER_SECONDS}
    ).first()
    return DeadJob(**row._mapping) if row is not None else None


@dataclass(frozen=True)
class Figures:
    """The queue at one moment: what a monitoring system scrapes and the page shows."""

    #: Jobs by (task, status), every status of every task that has jobs (zeros included).
    counts: dict[tuple[str, str], int]
    #: Seconds the oldest job ready to run has waited for a worker; 0 when none waits.
    oldest_waiting_seconds: float
    #: Jobs that ended in the last hour, by (task, status).
    finished_last_hour: dict[tuple[str, str], int]
    #: Workers whose heartbeat is recent, and those taken for dead.
    workers_alive: int
    workers_stopped: int

    @property
    def tasks(self) -> list[str]:
        return sorted({task for task, _status in self.counts})

    def ended_last_hour(self, task: str) -> int:
        return sum(n for (t, _status), n in self.finished_last_hour.items() if t == task)


def figures() -> Figures:
    counts: dict[tuple[str, str], int] = {}
    rows = db.session.execute(
        text(
            "SELECT task_name, status::text, count(*) FROM procrastinate_jobs"
            " GROUP BY task_name, status"
        )
    )
    for task, status, count in rows:
        for each in STATUSES:
            counts.setdefault((task, each), 0)
        counts[task, status] = count
    finished = {
        (task, status): count
        for task, status, count in db.session.execute(
            text(
                "SELECT job.task_name, event.type::text, count(*)"
                "  FROM procrastinate_events event"
                "  JOIN procrastinate_jobs job ON job.id = event.job_id"
                " WHERE event.type::text IN :finished AND event.at > now() - interval '1 hour'"
                " GROUP BY job.task_name, event.type"
            ).bindparams(bindparam("finished", expanding=True)),
            {"finished": list(FINISHED)},
        )
    }
    alive, stopped = db.session.execute(
        text(
            "SELECT count(*) FILTER (WHERE last_heartbeat >= now() - make_interval(secs => :s)),"
            "       count(*) FILTER (WHERE last_heartbeat < now() - make_interval(secs => :s))"
            "  FROM procrastinate_workers"
        ),
        {"s": STALLED_AFTER_SECONDS},
    ).one()
    return Figures(counts, _oldest_waiting_seconds(), finished, alive, stopped)


def _oldest_waiting_seconds() -> float:
    """A job waits from when it was deferred, or put back, or was due (a retry is due after
    its wait); one due later does not wait yet."""
    waited = db.session.scalar(
        text(
            "SELECT extract(epoch FROM now() - min(greatest(job.scheduled_at, queued.at)))"
            "  FROM procrastinate_jobs job"
            "  LEFT JOIN LATERAL ("
            "       SELECT max(event.at) AS at FROM procrastinate_events event"
            "        WHERE event.job_id = job.id"
            "          AND event.type IN ('deferred', 'deferred_for_retry', 'retried')"
            "  ) queued ON true"
            " WHERE job.status = 'todo' AND (job.scheduled_at IS NULL OR job.scheduled_at <= now())"
        )
    )
    return max(float(waited or 0), 0.0)
