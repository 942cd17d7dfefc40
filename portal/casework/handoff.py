"""Between municipalities: the old one's approval of the moving-out hands its data to the
new one, whose requests wait for it (AWAITING_HAND_OFF) and then become ready in its queues.

A hand-off is a row sent in the approving transaction and delivered once: delivering again
finds it delivered and does nothing. A rejection at either end goes back to the other: a
rejected moving-out withdraws the waiting requests; a rejected request that came by hand-off
is noted on the sending request, for the department that sent it.
"""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from portal.audit.models import AccessPurpose
from portal.audit.services import record_access
from portal.casework.lifecycle import Action, RequestStatus
from portal.casework.models import HandOff
from portal.casework.services import act
from portal.db import db
from portal.japan.clock import utcnow
from portal.journey.models import ProcedureRequest


def sends_hand_off(request: ProcedureRequest) -> bool:
    """Is this the request whose approval hands the case over (the moving-out)?"""
    hand_off = request.case.definitions.workflow.hand_off
    return hand_off is not None and hand_off.form_id == request.form_id


def waiting_for(request: ProcedureRequest) -> list[ProcedureRequest]:
    """The case's requests that wait for this one's hand-off."""
    return [
        other
        for other in request.case.requests
        if other.status is RequestStatus.AWAITING_HAND_OFF and other is not request
    ]


def send(request: ProcedureRequest) -> HandOff | None:
    """Hand the approved moving-out over to the municipality whose requests wait for it."""
    waiting = waiting_for(request)
    if not waiting:
        return None  # the new municipality is not served here: the resident takes the paper
    hand_off = HandOff(
        case_id=request.case_id,
        from_request_id=request.id,
        from_municipality_id=request.municipality_id,
        to_municipality_id=waiting[0].municipality_id,
        data=dict(request.answers),
    )
    db.session.add(hand_off)
    db.session.flush()
    _record(request, AccessPurpose.HANDED_OVER)
    with force_locale(request.case.language):
        act(
            request,
            Action.NOTE,
            None,
            reason=_("Data handed over to %(to)s.", to=waiting[0].municipality.name),
        )
    return hand_off


def deliver(hand_off_id: int) -> None:
    """Make the waiting requests ready with the handed data; once, however often called."""
    hand_off = db.session.scalar(select(HandOff).where(HandOff.id == hand_off_id).with_for_update())
    if hand_off is None or hand_off.delivered_at is not None:
        return
    received = {
        "from_municipality": hand_off.from_municipality.code,
        "from_request": hand_off.from_request_id,
        "sent_at": hand_off.sent_at.isoformat(),
        "data": hand_off.data,
    }
    for request in waiting_for(hand_off.from_request):
        if request.municipality_id == hand_off.to_municipality_id:
            act(request, Action.RECEIVE_HAND_OFF, None, changes={"hand_off": received})
            _record(request, AccessPurpose.RECEIVED_HAND_OFF)
    hand_off.delivered_at = utcnow()
    db.session.flush()


def _record(request: ProcedureRequest, purpose: AccessPurpose) -> None:
    """Both ends of a hand-off are in the resident's access record."""
    record_access(
        request.case.account,
        staff=None,
        municipality=request.municipality,
        department=request.department,
        form_id=request.form_id,
        purpose=purpose,
        case=request.case,
        request=request,
    )


def on_rejected(request: ProcedureRequest, reason: str) -> None:
    """A rejection goes back to the other end."""
    with force_locale(request.case.language):
        if sends_hand_off(request):
            for waiting in waiting_for(request):
                act(
                    waiting,
                    Action.WITHDRAW,
                    None,
                    reason=_("The moving-out was not approved: %(reason)s", reason=reason),
                )
            return
        hand_off = _received_by(request)
        if hand_off is not None:
            act(
                hand_off.from_request,
                Action.NOTE,
                None,
                reason=_(
                    "%(form)s was rejected by %(municipality)s: %(reason)s",
                    form=request.form_definition.title,
                    municipality=request.municipality.name,
                    reason=reason,
                ),
            )


def _received_by(request: ProcedureRequest) -> HandOff | None:
    received = request.answers.get("hand_off")
    if not isinstance(received, dict):
        return None
    return db.session.scalar(
        select(HandOff).where(HandOff.from_request_id == received.get("from_request"))
    )
