"""What procrastinate does not keep: the error each failed attempt of a job raised."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import db, utcnow

#: An error's text is cut to this many characters (a traceback is in the worker's log).
ERROR_LENGTH = 1000


class JobFailure(db.Model):
    """One failed attempt of a job, and what it raised.

    ``job_id`` is procrastinate's job id on PostgreSQL, without a foreign key (its tables are
    not our models'; the nightly clean-up removes the failures of removed jobs), and None for
    a job run in the portal's process on SQLite."""

    __tablename__ = "job_failures"
    __table_args__ = (Index("ix_job_failures_job_id", "job_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    task_name: Mapped[str] = mapped_column(String(128))
    #: The job's arguments (on SQLite, the only record of what the job was about).
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: 1 for the first attempt.
    attempt: Mapped[int]
    error: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


def describe(error: BaseException) -> str:
    """``RuntimeError: the job failed``, cut to :data:`ERROR_LENGTH` characters."""
    text = f"{type(error).__name__}: {error}".strip()
    return text if len(text) <= ERROR_LENGTH else text[: ERROR_LENGTH - 1] + "…"
