"""Token Status Lists: one row per published list, one row per index ever handed out.

A list belongs to the municipality that issues the certificates it covers (the tenant key: a
distributed database would keep a municipality's lists and entries together). The statuses
live in the entries, not in a bitstring on the list: changing one status updates one row, so
two clerks revoking at once never overwrite each other's bits; the published bitstring is
built from the entries (``portal.certificates.statuslist``).
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    SmallInteger,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import db, text_enum, utcnow


class StatusPurpose(StrEnum):
    """What a list's statuses say; one purpose per list, so a verifier knows what a set bit
    means without reading anything else."""

    #: Certificates (and later the wallet credentials of the same decisions): valid, revoked
    #: or suspended.
    CERTIFICATE = "certificate"


class Status(IntEnum):
    """The draft's Status Types (draft-ietf-oauth-status-list, section 7.1)."""

    VALID = 0x00
    #: Revoked: final, never set back (see ``set_status``).
    INVALID = 0x01
    #: Temporarily invalid, reversible: e.g. while a clerk reconsiders a decision.
    SUSPENDED = 0x02


class StatusList(db.Model):
    """A published list: its size and bits per status are fixed at creation; ``version``
    grows with every change of a status, and names the published token's content."""

    __tablename__ = "status_lists"
    __table_args__ = (
        CheckConstraint("bits IN (1, 2, 4, 8)", name="bits"),
        CheckConstraint("size > 0 AND (size * bits) % 8 = 0", name="whole_bytes"),
        CheckConstraint("allocated >= 0 AND allocated <= size", name="allocated"),
        # What the entries' key names, municipality included (co-located on Citus).
        UniqueConstraint("id", "municipality_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="RESTRICT"), index=True
    )
    purpose: Mapped[StatusPurpose] = mapped_column(text_enum(StatusPurpose, 20))
    bits: Mapped[int] = mapped_column(SmallInteger)
    #: Number of entries (indices 0 .. size - 1).
    size: Mapped[int]
    #: Indices handed out so far; the list is full when it reaches ``size``.
    allocated: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StatusListEntry(db.Model):
    """An index handed out, with its status. Never deleted: its primary key is what keeps an
    index from being handed out twice, even by two allocations racing."""

    __tablename__ = "status_list_entries"
    __table_args__ = (
        CheckConstraint("idx >= 0 AND status >= 0 AND status <= 255", name="idx"),
        # The list's and its municipality's: an entry is never in another municipality's
        # list, and on Citus both live on one node (``portal.tenancy.distribution``).
        ForeignKeyConstraint(
            ["list_id", "municipality_id"],
            ["status_lists.id", "status_lists.municipality_id"],
            ondelete="RESTRICT",
        ),
    )

    list_id: Mapped[int] = mapped_column(primary_key=True)
    idx: Mapped[int] = mapped_column(primary_key=True)
    #: The list's municipality, repeated: the tenant key of every row, in its primary key.
    municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    status: Mapped[int] = mapped_column(SmallInteger, default=Status.VALID)
    allocated_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime | None]
