"""The errors jobs raised: written when an attempt fails, read by the operators' page.

A failed attempt's unit of work is rolled back; its failure is written in a unit of its own
right after (:func:`record_apart`), by the worker (PostgreSQL) or by the portal's process
(SQLite, in-process jobs). The rest flushes only: the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app
from sqlalchemy import func, select, text

from portal.extensions import db
from portal.jobs.models import JobFailure, describe

#: The SQLite page lists this many in-process failures, the latest first.
SHOWN_IN_PROCESS = 200


def record(
    task_name: str,
    args: dict[str, Any],
    error: BaseException,
    *,
    job_id: int | None = None,
    attempt: int = 1,
) -> JobFailure:
    failure = JobFailure(
        job_id=job_id, task_name=task_name, args=args, attempt=attempt, error=describe(error)
    )
    db.session.add(failure)
    db.session.flush()
    return failure


def record_apart(
    task_name: str,
    args: dict[str, Any],
    error: BaseException,
    *,
    job_id: int | None = None,
    attempt: int = 1,
) -> None:
    """Write a failed attempt's error and commit it, the attempt's own work having been
    rolled back; a database that cannot take it leaves it to the log (the job's own error
    is what its runner must go on with). Written once per attempt of a queued job: a
    stalled job's end, cut short by a second death, is ended again by the next pass."""
    try:
        if job_id is not None and _written(job_id, attempt):
            return
        record(task_name, args, error, job_id=job_id, attempt=attempt)
        db.session.commit()
    except Exception:
        db.session.rollback()
        current_app.logger.exception("could not record the failure of job %s", task_name)


def _written(job_id: int, attempt: int) -> bool:
    query = select(JobFailure.id).filter_by(job_id=job_id, attempt=attempt).limit(1)
    return db.session.scalar(query) is not None


def latest_errors(job_ids: Iterable[int]) -> dict[int, str]:
    """The last error of each of these jobs that has one, by job id, in one query."""
    ids = list(job_ids)
    if not ids:
        return {}
    latest = (
        select(func.max(JobFailure.id))
        .where(JobFailure.job_id.in_(ids))
        .group_by(JobFailure.job_id)
    )
    rows = db.session.execute(
        select(JobFailure.job_id, JobFailure.error).where(JobFailure.id.in_(latest))
    )
    return {job_id: error for job_id, error in rows if job_id is not None}


def in_process(limit: int = SHOWN_IN_PROCESS) -> list[JobFailure]:
    """The jobs that failed in the portal's own process (SQLite), the latest first."""
    query = select(JobFailure).where(JobFailure.job_id.is_(None))
    return list(db.session.scalars(query.order_by(JobFailure.id.desc()).limit(limit)))


def remove_those_of_removed_jobs() -> int:
    """The failures of jobs procrastinate no longer keeps (PostgreSQL); how many."""
    result = db.session.execute(
        text(
            "DELETE FROM job_failures WHERE job_id IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM procrastinate_jobs job WHERE job.id = job_failures.job_id)"
        )
    )
    return result.rowcount
