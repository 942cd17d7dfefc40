"""Stored definitions: every version of every definition with its lifecycle, and the frozen
snapshots cases are filled against."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import db, text_enum, utcnow


class VersionState(StrEnum):
    """A draft is never live; a published version is immutable and what new cases start from
    (the newest one of its key and scope); a retired one is kept readable, never used again."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class VersionOrigin(StrEnum):
    """Where a version came from: ``definitions load`` of the repository's YAML, or an admin."""

    REPOSITORY = "repository"
    ADMIN = "admin"


def _unique_where(name: str, where: str, *columns: str) -> Index:
    """A unique index over the rows ``where`` holds, on SQLite and on PostgreSQL alike."""
    return Index(
        name, *columns, unique=True, sqlite_where=text(where), postgresql_where=text(where)
    )


class DefinitionVersion(db.Model):
    """One version of one vocabulary, form or workflow, national (``municipality_id`` NULL)
    or one municipality's override or local form.

    Numbers are per key and scope. Only a draft's content changes; publishing freezes it.
    """

    __tablename__ = "definition_versions"
    __table_args__ = (
        _unique_where(
            "uq_definition_versions_national_number",
            "municipality_id IS NULL",
            "kind",
            "key",
            "version",
        ),
        _unique_where(
            "uq_definition_versions_local_number",
            "municipality_id IS NOT NULL",
            "kind",
            "key",
            "municipality_id",
            "version",
        ),
        # One draft per key and scope: admins of a scope share it, and two drafts can never
        # race to be published over each other.
        _unique_where(
            "uq_definition_versions_national_draft",
            "state = 'draft' AND municipality_id IS NULL",
            "kind",
            "key",
        ),
        _unique_where(
            "uq_definition_versions_local_draft",
            "state = 'draft' AND municipality_id IS NOT NULL",
            "kind",
            "key",
            "municipality_id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("municipalities.id", ondelete="RESTRICT"), index=True
    )
    state: Mapped[VersionState] = mapped_column(text_enum(VersionState), default=VersionState.DRAFT)
    origin: Mapped[VersionOrigin] = mapped_column(text_enum(VersionOrigin))
    digest: Mapped[str] = mapped_column(String(64))
    content: Mapped[Any] = mapped_column(JSON)
    #: A draft's YAML as its author last saved it, faults and all, so nothing typed is lost.
    source_text: Mapped[str | None] = mapped_column(Text)
    source_file: Mapped[str] = mapped_column(String(255))
    #: The published version a draft was made from: publishing refuses once another one was
    #: published since, so no one's changes are overwritten unseen.
    based_on_id: Mapped[int | None] = mapped_column(
        ForeignKey("definition_versions.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    retired_at: Mapped[datetime | None]

    @property
    def label(self) -> str:
        return f"{self.kind} {self.key} v{self.version}"


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
