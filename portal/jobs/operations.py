"""What an operator does to the job queue: put a failed job back. Each change is written to the
portal's audit chain in the same transaction; the caller's unit of work commits."""

from __future__ import annotations

from flask import current_app
from procrastinate import sql

from portal.accounts.models import Account
from portal.audit.services import append
from portal.extensions import db
from portal.japan.clock import utcnow
from portal.jobs import monitoring, queue
from portal.tenancy.management import PORTAL_CHAIN


class NotRetryable(Exception):
    """The job is not on the dead-letter list (any more): it ran again, or was removed."""


def retry(job_id: int, by: Account) -> monitoring.DeadJob:
    """Put a failed (or stalled) job back to ``todo``, due now, through procrastinate's own
    retry on the request's connection: the job is back exactly when the audit entry is."""
    job = monitoring.dead_job(job_id)
    if job is None:
        raise NotRetryable(job_id)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    connection = db.session.connection().connection.driver_connection
    connector = queue.procrastinate_app(app).connector.get_sync_connector()
    connector.execute_query_one_with_connection(
        connection,
        query=sql.queries["retry_job"],
        job_id=job.id,
        retry_at=utcnow(),
        new_priority=None,
        new_queue_name=None,
        new_lock=None,
    )
    append(
        PORTAL_CHAIN,
        actor=by,
        action="job.retried",
        subject=f"job:{job.id}",
        details={"task": job.task_name, "status": job.status, "attempts": job.attempts},
    )
    return job
