"""Cases (one life event of one resident), the requests they file, and their attachments."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Account
from portal.casework.lifecycle import FINAL, OPEN, CaseProgress, RequestStatus, case_progress
from portal.db import days_after, db, text_enum, utcnow
from portal.definitions.model import Form, Snapshot
from portal.definitions.models import DefinitionSnapshot
from portal.definitions.services import parsed_snapshot
from portal.tenancy.models import Department, Municipality, counter_name

if TYPE_CHECKING:
    from portal.casework.models import Correction, RequestEvent


class CaseStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class Case(db.Model):
    """A resident's life event: the answers given once, filed as one request per form.

    A procedure that can only follow a later event (the funeral allowance, after the funeral)
    is filed by a follow-up case: it follows the submitted case, files just that form against
    the same frozen definitions, and starts from its answers. Each case keeps one simple
    lifecycle (draft, then submitted once), and the back office sees the link.
    """

    __tablename__ = "cases"
    __table_args__ = (
        #: Drafts untouched for longer than their retention, found without reading the rest.
        Index("ix_cases_status_updated_at", "status", "updated_at"),
        UniqueConstraint("follows_case_id", "follow_up_form"),
        CheckConstraint(
            "(follows_case_id IS NULL) = (follow_up_form IS NULL)", name="follow_up_names_its_form"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The filer; None once the case is anonymised (see ``anonymised_at``).
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("definition_snapshots.id"))
    #: The snapshot's digest, so the parsed definitions are found without loading its row.
    snapshot_digest: Mapped[str] = mapped_column(String(64))
    workflow_key: Mapped[str] = mapped_column(String(100))
    status: Mapped[CaseStatus] = mapped_column(text_enum(CaseStatus), default=CaseStatus.DRAFT)
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
    #: When its forms' retention ran out and its personal data was removed: the case stays
    #: for the figures, and no page shows it any more (see ``portal.retention``).
    anonymised_at: Mapped[datetime | None]

    account: Mapped[Account | None] = relationship()
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

    @property
    def definitions(self) -> Snapshot:
        """The frozen definitions the case is filled against, parsed once per digest."""
        return parsed_snapshot(self.snapshot_digest, lambda: self.snapshot)

    @property
    def progress(self) -> CaseProgress:
        return case_progress([r.status for r in self.requests], submitted=not self.is_draft)


def adjusted_due_date(
    deadline: date | None, paused_days: int, paused_since: date | None, today: date
) -> date | None:
    """The deadline moved by the days a correction was out with the resident (counting the
    current pause up to ``today``), as Dimpact's ZAC suspends a case."""
    if deadline is None:
        return None
    running = max((today - paused_since).days, 0) if paused_since is not None else 0
    return deadline + timedelta(days=paused_days + running)


class ProcedureRequest(db.Model):
    """One form of a case: filed online with a department, or left for the resident to file
    at the counter of a municipality not served here (no department then).

    ``municipality`` is the municipality in law (横浜市) and ``office`` the counter the
    address belongs to (横浜市中区役所, or the municipality itself where it has no wards).
    """

    __tablename__ = "requests"
    __table_args__ = (
        UniqueConstraint("case_id", "form_id"),
        # What a certificate's key names, municipality included (co-located on Citus).
        Index("uq_requests_id_municipality_id", "id", "municipality_id", unique=True),
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
        text_enum(RequestStatus, 30), default=RequestStatus.SUBMITTED, index=True
    )
    #: The statutory last day, as filed; ``due_date`` adds the days a correction was out.
    deadline: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Optimistic lock: each action names the version it was taken on, and an action on an
    #: older version (a stale page, a second clerk) is refused with what changed since.
    version: Mapped[int] = mapped_column(default=1)
    #: The clerk who holds it; at most one, claimed under a row lock.
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    #: The answers this form reads, frozen at submit (a correction changes only these): a
    #: correction asked by one department never changes what another decided on.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    answers_digest: Mapped[str] = mapped_column(String(64), default="")
    #: The resident as this department kind of this municipality knows them (a keyed hash,
    #: different in each department; never the account id or the provider's subject).
    resident_code: Mapped[str] = mapped_column(String(20), default="", index=True)
    #: The deadline clock: paused while a correction is out with the resident.
    paused_since: Mapped[date | None]
    paused_days: Mapped[int] = mapped_column(default=0)
    #: Four eyes: the clerk whose approval was the first of two.
    first_approver_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None]

    __mapper_args__ = {"version_id_col": version}

    case: Mapped[Case] = relationship(back_populates="requests")
    municipality: Mapped[Municipality] = relationship(lazy="joined", foreign_keys=[municipality_id])
    office: Mapped[Municipality] = relationship(lazy="joined", foreign_keys=[office_id])
    department: Mapped[Department | None] = relationship(lazy="joined")
    assignee: Mapped[Account | None] = relationship(foreign_keys=[assignee_id])
    events: Mapped[list[RequestEvent]] = relationship(
        back_populates="request", order_by="RequestEvent.id", cascade="all, delete-orphan"
    )
    corrections: Mapped[list[Correction]] = relationship(
        back_populates="request", order_by="Correction.id", cascade="all, delete-orphan"
    )

    @property
    def form_definition(self) -> Form:
        """This request's form, as its case's frozen definitions have it."""
        return self.case.definitions.form(self.form_id, self.municipality.code)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def needs_correction(self) -> bool:
        """A correction is out with the resident."""
        return self.status is RequestStatus.WAITING_FOR_RESIDENT

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    @property
    def open_correction(self) -> Correction | None:
        return next((c for c in reversed(self.corrections) if c.is_open), None)

    def due_date(self, today: date) -> date | None:
        return adjusted_due_date(self.deadline, self.paused_days, self.paused_since, today)

    @property
    def online(self) -> bool:
        return self.department_id is not None

    @property
    def counter(self) -> str:
        """Where it is handled, as the resident reads it: 横浜市中区役所 戸籍課 登録担当."""
        return counter_name(self.office, self.department)


#: The adjusted statutory deadline, as SQL: the deadline moved by the days corrections were
#: out with the resident (a pause still running counts once it ends, when the clock
#: resumes); requests with no deadline come last. Department queues are ordered by it.
REQUEST_DUE_ON = days_after(ProcedureRequest.deadline, ProcedureRequest.paused_days)

#: The open work of a department in queue order, read a page at a time from a key.
Index(
    "ix_requests_open_queue",
    ProcedureRequest.department_id,
    REQUEST_DUE_ON,
    ProcedureRequest.id,
    postgresql_where=ProcedureRequest.status.in_(sorted(OPEN)),
    sqlite_where=ProcedureRequest.status.in_(sorted(OPEN)),
)
#: A department's counts per state, one state's rows in queue order, the next to claim.
Index(
    "ix_requests_department_status_queue",
    ProcedureRequest.department_id,
    ProcedureRequest.status,
    REQUEST_DUE_ON,
    ProcedureRequest.id,
)
#: What a clerk holds, in queue order ("held by me"): a few rows found directly, where the
#: department's open index would be read through all its open requests to find them.
Index(
    "ix_requests_held_queue",
    ProcedureRequest.assignee_id,
    ProcedureRequest.department_id,
    REQUEST_DUE_ON,
    ProcedureRequest.id,
    postgresql_where=ProcedureRequest.status.in_(sorted(OPEN)),
    sqlite_where=ProcedureRequest.status.in_(sorted(OPEN)),
)


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


# The request's history lives with the back office's models; load them with these.
from portal.casework import models as _casework_models  # noqa: E402, F401
