"""The certificate: what was issued, to whom, by whom, and how anyone checks it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Account
from portal.db import db, text_enum, utcnow
from portal.tenancy.models import Department, Municipality

if TYPE_CHECKING:
    from portal.journey.models import Case, ProcedureRequest

#: The kind of the submission receipt (申請控え), which every submitted case gets.
RECEIPT_KIND = "receipt"


class CertificateState(StrEnum):
    """Pending until its job has rendered and stored it; failed after the job's last try
    (a clerk of the department can try again)."""

    PENDING = "pending"
    ISSUED = "issued"
    FAILED = "failed"


class Certificate(db.Model):
    """One certificate: its serial, a keyed hash of its verification code (the code itself is
    only printed on the PDF), and the stored file's SHA-256.

    ``kind`` is the name of its template under ``templates/certificates/`` (the form's
    definition names it; ``receipt`` for the submission receipt), so a new kind needs no code.
    ``municipality_id`` is the tenant key: the issuing municipality, on every row.
    """

    __tablename__ = "certificates"
    __table_args__ = (
        # One receipt per case, one certificate per decided request.
        Index(
            "uq_certificates_case_receipt",
            "case_id",
            unique=True,
            postgresql_where=text("request_id IS NULL"),
            sqlite_where=text("request_id IS NULL"),
        ),
        CheckConstraint("(kind = 'receipt') = (request_id IS NULL)", name="receipt_has_no_request"),
        # A decided request's, of its municipality (co-located on Citus).
        UniqueConstraint("request_id", "municipality_id"),
        ForeignKeyConstraint(
            ["request_id", "municipality_id"],
            ["requests.id", "requests.municipality_id"],
            ondelete="CASCADE",
        ),
        CheckConstraint(
            "state != 'issued' OR (issued_at IS NOT NULL AND sha256 IS NOT NULL"
            " AND storage_name IS NOT NULL AND code_hash IS NOT NULL)",
            name="issued_is_stored",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Grouped base32, e.g. ``C7KQ-M2XW-9TRA-P4HD``: unguessable (80 bits), typed from paper.
    serial: Mapped[str] = mapped_column(String(24), unique=True)
    #: HMAC-SHA256 of the verification code (never the code), set when the PDF that prints
    #: the code is rendered: each try at rendering draws a new code.
    code_hash: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(50))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[int | None] = mapped_column()
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    holder_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    language: Mapped[str] = mapped_column(String(5))
    #: The decision it records (``approved``, ``rejected``); empty for a receipt.
    decision: Mapped[str] = mapped_column(String(20), default="")
    state: Mapped[CertificateState] = mapped_column(
        text_enum(CertificateState), default=CertificateState.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_at: Mapped[datetime | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    storage_name: Mapped[str | None] = mapped_column(String(100), unique=True)
    size: Mapped[int | None]
    #: Filled by the Token Status List (its list and the certificate's index in it).
    status_list_id: Mapped[int | None]
    status_index: Mapped[int | None]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )

    case: Mapped[Case] = relationship()
    #: Set through ``request_id`` alone: ``municipality_id`` is the municipality's own.
    request: Mapped[ProcedureRequest | None] = relationship(
        primaryjoin="Certificate.request_id == ProcedureRequest.id", foreign_keys=[request_id]
    )
    municipality: Mapped[Municipality] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")
    holder: Mapped[Account] = relationship(foreign_keys=[holder_id])
    revoked_by: Mapped[Account | None] = relationship(foreign_keys=[revoked_by_id])

    @property
    def is_receipt(self) -> bool:
        return self.kind == RECEIPT_KIND

    @property
    def is_issued(self) -> bool:
        return self.state is CertificateState.ISSUED

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def __repr__(self) -> str:
        return f"<Certificate {self.serial} {self.kind} {self.state.value}>"


class RetiredCertificate(db.Model):
    """A certificate whose case was removed at the end of its retention: what the verify
    page still says about it (issued, by whom, when, revoked or not), and nothing about its
    holder. The code's keyed hash stays, so only someone holding the paper learns this."""

    __tablename__ = "retired_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(24), unique=True)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(50))
    #: The certificate's title in each language (``{"ja": ..., "en": ...}``), as the form
    #: named it; empty for a receipt.
    title: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL")
    )
    decision: Mapped[str] = mapped_column(String(20), default="")
    issued_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    retired_at: Mapped[datetime] = mapped_column(default=utcnow)

    municipality: Mapped[Municipality] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")

    @property
    def is_receipt(self) -> bool:
        return self.kind == RECEIPT_KIND
