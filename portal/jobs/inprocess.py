"""Jobs on SQLite, the embedded default: run in this process just after the commit.

There is no worker beside an embedded database. A deferred job waits on the session until
its transaction ends: dropped when the transaction (or the savepoint it was deferred in)
rolls back, run when the unit of work has committed, in an app context of its own, as a unit
of work of its own. A job that fails is logged, its error written to ``job_failures`` for the
operators' page, and not retried here; what it was to do stays to be done (an unsent mail
stays in the outbox for ``flask --app portal mailbox send``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from portal.extensions import db
from portal.jobs import failures
from portal.jobs.registry import TASKS

_PENDING = "portal.jobs.pending"
_READY = "portal.jobs.ready"


@dataclass(frozen=True)
class Deferred:
    task_name: str
    kwargs: dict[str, Any]
    #: The innermost transaction it was deferred in: its rollback drops the job.
    transaction: SessionTransaction


def defer_after_commit(task_name: str, kwargs: dict[str, Any]) -> None:
    session = db.session()
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:  # nothing begun yet: begin, so that a rollback has a scope
        transaction = session.begin()
    session.info.setdefault(_PENDING, []).append(Deferred(task_name, kwargs, transaction))


def _within(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    if pending := session.info.get(_PENDING):
        pending[:] = [job for job in pending if not _within(job.transaction, previous_transaction)]


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if pending := session.info.pop(_PENDING, None):
        session.info.setdefault(_READY, []).extend(pending)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    """A transaction that ended without a commit (closed, rolled back) runs nothing."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def run_committed() -> None:
    """Run the jobs whose transaction has committed: called by the unit of work (a request's
    or a command's) after its commit. Each in an app context of its own, so in a session of
    its own, whatever the caller's session holds."""
    ready = db.session.info.pop(_READY, None)
    for job in ready or ():
        with current_app.app_context():
            try:
                TASKS[job.task_name].func(**job.kwargs)
                db.session.commit()
            except Exception as error:
                db.session.rollback()
                current_app.logger.exception("job %s %r failed", job.task_name, job.kwargs)
                failures.record_apart(job.task_name, job.kwargs, error)
                continue
            run_committed()  # what the job deferred in its turn
