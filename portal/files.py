"""Files that belong to database rows: removed only once the transaction has decided.

A replaced upload is deleted after the commit (a rollback keeps the row, so it keeps the
file); a new upload is deleted after a rollback (its row was never stored).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

_ON_COMMIT = "files_to_delete_on_commit"
_ON_ROLLBACK = "files_to_delete_on_rollback"


def delete_after_commit(session: Session, path: Path) -> None:
    session.info.setdefault(_ON_COMMIT, []).append(path)


def delete_after_rollback(session: Session, path: Path) -> None:
    session.info.setdefault(_ON_ROLLBACK, []).append(path)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    _delete(session.info.pop(_ON_COMMIT, []))
    session.info.pop(_ON_ROLLBACK, None)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction: object) -> None:
    if session.in_transaction():
        return  # a savepoint rolled back; the outer transaction still decides
    _delete(session.info.pop(_ON_ROLLBACK, []))
    session.info.pop(_ON_COMMIT, None)


def _delete(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
