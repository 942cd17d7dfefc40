"""Stored definitions: every loaded version, and the frozen snapshots cases are filled against."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import db, utcnow


class DefinitionVersion(db.Model):
    """One version of one vocabulary, form or workflow file. Never changed once stored:
    a changed file needs a new version number."""

    __tablename__ = "definition_versions"
    __table_args__ = (UniqueConstraint("kind", "key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    digest: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_file: Mapped[str] = mapped_column(String(255))
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class DefinitionSnapshot(db.Model):
    """A workflow with the forms and vocabulary it uses, as a resident was shown them.

    A case points at its snapshot, so a later definition never changes an old case; equal
    snapshots are stored once.
    """

    __tablename__ = "definition_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    workflow_key: Mapped[str] = mapped_column(String(100))
    workflow_version: Mapped[int]
    #: Read only when a process first needs this snapshot: parsed copies are cached by digest.
    content: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
