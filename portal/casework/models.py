"""What happened to a request: its events, and the corrections asked of the resident."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, ForeignKeyConstraint, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Account
from portal.casework.lifecycle import Action, Actor, RequestStatus
from portal.db import db, text_enum, utcnow
from portal.tenancy.models import Municipality

if TYPE_CHECKING:
    from portal.journey.models import ProcedureRequest


#: The longest reason a resident or a clerk gives (rejecting, withdrawing, asking for a
#: correction, a note): one that may be read in one look, whoever wrote it.
REASON_MAX = 1000


def of_its_request() -> ForeignKeyConstraint:
    """A row of a request's, its municipality's too: both columns are set with the request
    (co-located with it on Citus, ``portal.tenancy.distribution``)."""
    return ForeignKeyConstraint(
        ["request_id", "municipality_id"],
        ["requests.id", "requests.municipality_id"],
        ondelete="CASCADE",
    )


class RequestEvent(db.Model):
    """One step in a request's history: who, when, from which status to which, and why.

    Written only by :func:`portal.casework.services.act`, never changed afterwards.
    """

    __tablename__ = "request_events"
    __table_args__ = (of_its_request(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(index=True)
    #: The request's municipality, set with the request: the tenant key, in its reference.
    municipality_id: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    actor_kind: Mapped[Actor] = mapped_column(text_enum(Actor, 10))
    action: Mapped[Action] = mapped_column(text_enum(Action, 30))
    from_status: Mapped[RequestStatus] = mapped_column(text_enum(RequestStatus, 30))
    to_status: Mapped[RequestStatus] = mapped_column(text_enum(RequestStatus, 30))
    #: The version of the request this event made (for "what changed since you opened it").
    version: Mapped[int]
    reason: Mapped[str] = mapped_column(Text, default="")
    #: What changed: the assignee, the answers changed by a correction ({key: [old, new]}).
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    request: Mapped[ProcedureRequest] = relationship(back_populates="events")
    actor: Mapped[Account | None] = relationship(lazy="joined")


class Correction(db.Model):
    """What a clerk asked the resident to fix, and what they changed in answer.

    The resident may change only ``fields`` and the documents ``documents``; every other
    answer of the request stays as filed.
    """

    __tablename__ = "corrections"
    __table_args__ = (of_its_request(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(index=True)
    #: The request's municipality, set with the request: the tenant key, in its reference.
    municipality_id: Mapped[int]
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Vocabulary keys of the answers to correct.
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Keys of the document fields to upload again.
    documents: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    #: {key: [old, new]} for each answer the resident changed.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    request: Mapped[ProcedureRequest] = relationship(back_populates="corrections")
    asked_by: Mapped[Account | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.answered_at is None

    @property
    def keys(self) -> list[str]:
        return [*self.fields, *self.documents]


class HandOff(db.Model):
    """Data one municipality passes to another for a case: the moving-out certificate
    (転出証明書) from the old municipality to the new. One row records both ends: who sent
    what, when, and when it was delivered to the waiting requests.
    """

    __tablename__ = "hand_offs"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    #: The approved request whose data is handed over (one hand-off per request).
    from_request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), unique=True
    )
    from_municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    to_municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    #: What the certificate carries: the approved request's frozen answers.
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]

    from_request: Mapped[ProcedureRequest] = relationship(foreign_keys=[from_request_id])
    from_municipality: Mapped[Municipality] = relationship(foreign_keys=[from_municipality_id])
    to_municipality: Mapped[Municipality] = relationship(foreign_keys=[to_municipality_id])
