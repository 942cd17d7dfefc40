"""Append-only records: the hash-chained audit log and the resident's access record.

Nothing in the application edits or deletes a row of either: the ORM refuses it (see
:func:`_refuse_changes`), and on PostgreSQL a trigger of the migration refuses any UPDATE,
DELETE or TRUNCATE a statement asks for directly. Only the cascades of a deleted account,
case or department reach them (see the foreign keys below).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Mapper, ORMExecuteState, Session, mapped_column, relationship

from portal.accounts.models import Account
from portal.db import db, text_enum, utcnow
from portal.journey.models import Case, ProcedureRequest
from portal.tenancy.models import Department, Municipality

#: The hash a chain's first entry points back to.
GENESIS_HASH = "0" * 64


class AppendOnly(Exception):
    """Raised when code tries to change or delete an append-only row."""


class AuditEntry(db.Model):
    """One thing done, in one chain ("municipality:131016", "portal"), numbered 1, 2, ... and
    chained: ``hash`` covers the entry's fields and the previous entry's hash, so an entry
    edited, inserted or taken out breaks every hash after it.

    ``actor_id`` is the account's id when it acted, deliberately not a foreign key: a deleted
    account must not rewrite (SET NULL) or block (RESTRICT) a hashed entry.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (UniqueConstraint("chain", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chain: Mapped[str] = mapped_column(String(100))
    seq: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<AuditEntry {self.chain}#{self.seq} {self.action}>"


class AuditChainHead(db.Model):
    """The last entry of each chain. Appends lock this row (``FOR UPDATE``) so two writers take
    turns and the chain never forks; it also keeps the last hash, so that deleting the last
    entry is noticed."""

    __tablename__ = "audit_chain_heads"

    chain: Mapped[str] = mapped_column(String(100), primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)


class AccessPurpose(StrEnum):
    """Why staff or another office had a resident's information."""

    VIEWED_REQUEST = "viewed_request"
    VIEWED_DOCUMENT = "viewed_document"
    HANDED_OVER = "handed_over"
    RECEIVED_HAND_OFF = "received_hand_off"
    CERTIFICATE_VERIFIED = "certificate_verified"
    CERTIFICATE_QR_VERIFIED = "certificate_qr_verified"
    CERTIFICATE_FILE_CHECKED = "certificate_file_checked"

    @property
    def label(self) -> str:
        return str(ACCESS_PURPOSE_LABELS[self])


ACCESS_PURPOSE_LABELS = {
    AccessPurpose.VIEWED_REQUEST: _l("Opened your application"),
    AccessPurpose.VIEWED_DOCUMENT: _l("Opened a document you uploaded"),
    AccessPurpose.HANDED_OVER: _l("Handed your application over to another office"),
    AccessPurpose.RECEIVED_HAND_OFF: _l("Received your application from another office"),
    AccessPurpose.CERTIFICATE_VERIFIED: _l("Checked a certificate issued to you"),
    AccessPurpose.CERTIFICATE_QR_VERIFIED: _l(
        "Checked a certificate issued to you, from its QR code"
    ),
    AccessPurpose.CERTIFICATE_FILE_CHECKED: _l(
        "Checked that a file is a certificate issued to you"
    ),
}


class AccessRecord(db.Model):
    """情報提供等記録: an office had the resident's information (opened a request or a
    document, handed it over or received it). The resident sees the municipality and the
    department, never the staff member's name.

    The record is kept for the resident, so it goes with their account (CASCADE): it is
    personal data about them, and the municipality's own account of the same access stays
    in its audit chain (:func:`portal.audit.services.record_access` appends both), which
    names no one by foreign key. A staff account, case, request or department deleted later
    leaves the record in place, without that link (SET NULL).
    """

    __tablename__ = "access_records"
    __table_args__ = (Index("ix_access_records_resident_id_at", "resident_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    resident_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), index=True
    )
    form_id: Mapped[str | None] = mapped_column(String(100))
    purpose: Mapped[AccessPurpose] = mapped_column(text_enum(AccessPurpose, 40))
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("requests.id", ondelete="SET NULL"), index=True
    )

    resident: Mapped[Account] = relationship(foreign_keys=[resident_id])
    staff: Mapped[Account | None] = relationship(foreign_keys=[staff_id])
    municipality: Mapped[Municipality] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")
    case: Mapped[Case | None] = relationship()
    request: Mapped[ProcedureRequest | None] = relationship()

    @property
    def office(self) -> str:
        """Who had the information, as the resident reads it: 千代田区 区民課."""
        if self.department is None:
            return self.municipality.name
        return self.department.full_name


APPEND_ONLY: tuple[type[db.Model], ...] = (AuditEntry, AccessRecord)


def _refuse_changes(mapper: Mapper[Any], connection: Any, target: Any) -> None:
    raise AppendOnly(f"{type(target).__name__} is append-only: it is never changed or deleted")


for _model in APPEND_ONLY:
    event.listen(_model, "before_update", _refuse_changes)
    event.listen(_model, "before_delete", _refuse_changes)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    """``update(AuditEntry)`` and ``delete(AccessRecord)`` statements skip the mapper events."""
    if not (state.is_update or state.is_delete):
        return  # every SELECT of every request passes here: ask nothing more of it
    mapper = state.bind_mapper
    if mapper is not None and mapper.class_ in APPEND_ONLY:
        raise AppendOnly(f"{mapper.class_.__name__} is append-only")
