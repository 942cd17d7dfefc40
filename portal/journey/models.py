"""Cases (one life event of one resident), the requests they file, and their attachments."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Account
from portal.db import db, utcnow
from portal.definitions.models import DefinitionSnapshot
from portal.tenancy.models import Department, Municipality, counter_name


def _enum(enum: type[StrEnum], length: int = 20) -> Enum:
    return Enum(
        enum, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class CaseStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class RequestStatus(StrEnum):
    SUBMITTED = "submitted"
    #: Not served on this portal: the resident files it at the counter, on paper. Never in a
    #: department's queue (it has none); kept so the list and the receipt show it.
    AT_COUNTER = "at_counter"

    @property
    def label(self) -> str:
        return str(REQUEST_STATUS_LABELS[self])


REQUEST_STATUS_LABELS = {
    RequestStatus.SUBMITTED: _l("Sent, waiting for the department"),
    RequestStatus.AT_COUNTER: _l("To do at the counter"),
}


class Case(db.Model):
    """A resident's life event: the answers given once, filed as one request per form.

    A procedure that can only follow a later event (the funeral allowance, after the funeral)
    is filed by a follow-up case: it follows the submitted case, files just that form against
    the same frozen definitions, and starts from its answers. Each case keeps one simple
    lifecycle (draft, then submitted once), and the back office sees the link.
    """

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("follows_case_id", "follow_up_form"),
        CheckConstraint(
            "(follows_case_id IS NULL) = (follow_up_form IS NULL)", name="follow_up_names_its_form"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("definition_snapshots.id"))
    #: The snapshot's digest, so the parsed definitions are found without loading its row.
    snapshot_digest: Mapped[str] = mapped_column(String(64))
    workflow_key: Mapped[str] = mapped_column(String(100))
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus), default=CaseStatus.DRAFT)
    #: Every answer of the case by vocabulary key: each fact once, for all its forms.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Keys whose value came from the certified sign-in and may not be edited.
    locked_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Optional procedures the resident chose to leave out.
    declined_forms: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Pages the resident has saved, so a resumed case opens where they left off.
    completed_pages: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: What was typed on a page that could not be saved yet, and why (``{"page": slug,
    #: "formdata": [[name, value], ...], "refused": {key: [message]}}``): the POST redirects
    #: and the page's GET shows it again, so Back never resubmits a form.
    unsaved: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The submitted case this one follows up, and the one follow-up form it files.
    follows_case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    follow_up_form: Mapped[str | None] = mapped_column(String(100))
    receipt_number: Mapped[str | None] = mapped_column(String(20), unique=True)
    language: Mapped[str] = mapped_column(String(5), default="ja")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None]

    account: Mapped[Account] = relationship()
    snapshot: Mapped[DefinitionSnapshot] = relationship()
    requests: Mapped[list[ProcedureRequest]] = relationship(
        back_populates="case", order_by="ProcedureRequest.id", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="case", order_by="Attachment.id", cascade="all, delete-orphan"
    )
    follows: Mapped[Case | None] = relationship(remote_side=[id], back_populates="follow_ups")
    follow_ups: Mapped[list[Case]] = relationship(back_populates="follows", order_by="Case.id")

    @property
    def is_draft(self) -> bool:
        return self.status is CaseStatus.DRAFT


class ProcedureRequest(db.Model):
    """One form of a case: filed online with a department, or left for the resident to file
    at the counter of a municipality not served here (no department then).

    ``municipality`` is the municipality in law (横浜市) and ``office`` the counter the
    address belongs to (横浜市中区役所, or the municipality itself where it has no wards).
    """

    __tablename__ = "requests"
    __table_args__ = (
        UniqueConstraint("case_id", "form_id"),
        CheckConstraint(
            "(status = 'at_counter' AND department_id IS NULL)"
            " OR (status != 'at_counter' AND department_id IS NOT NULL)",
            name="online_has_department",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    form_id: Mapped[str] = mapped_column(String(100))
    form_version: Mapped[int]
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    status: Mapped[RequestStatus] = mapped_column(
        _enum(RequestStatus), default=RequestStatus.SUBMITTED
    )
    deadline: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="requests")
    municipality: Mapped[Municipality] = relationship(lazy="joined", foreign_keys=[municipality_id])
    office: Mapped[Municipality] = relationship(lazy="joined", foreign_keys=[office_id])
    department: Mapped[Department | None] = relationship(lazy="joined")

    @property
    def online(self) -> bool:
        return self.department_id is not None

    @property
    def counter(self) -> str:
        """Where it is handled, as the resident reads it: 横浜市中区役所 戸籍課 登録担当."""
        return counter_name(self.office, self.department)


class Attachment(db.Model):
    """A document uploaded for a case, stored outside the web root and checked by content."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    field_key: Mapped[str] = mapped_column(String(150))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_name: Mapped[str] = mapped_column(String(100), unique=True)
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="attachments")
