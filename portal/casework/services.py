"""What happens when someone acts on a request: the one function that does it.

:func:`act` checks the action against the lifecycle's table, who is acting, four eyes and
the version the actor saw; then changes the request, writes the event, and sets off what
follows, all in the caller's transaction. Nothing else changes a request's status.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from portal import access, jobs
from portal.accounts.models import Account
from portal.audit import services as audit
from portal.audit.models import AccessPurpose
from portal.casework import lifecycle
from portal.casework.lifecycle import Action, Actor, RequestStatus
from portal.casework.models import Correction, RequestEvent
from portal.casework.pseudonyms import resident_code
from portal.casework.queue import next_unclaimed
from portal.certificates import services as certificates
from portal.db import db
from portal.definitions.model import Form
from portal.japan.clock import today_in_japan, utcnow
from portal.journey.models import ProcedureRequest
from portal.mailbox.kinds import MessageKind
from portal.mailbox.services import post
from portal.tenancy.models import Department


class NotAllowed(Exception):
    """The action cannot be taken now; ``message`` says why, in the actor's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StaleRequest(Exception):
    """The request changed since the actor's page was drawn: ``events`` says how."""

    def __init__(self, request: ProcedureRequest, events: list[RequestEvent]) -> None:
        super().__init__(f"request {request.id} is at version {request.version}")
        self.request = request
        self.events = events


@dataclass(frozen=True)
class Frozen:
    answers: dict[str, Any]
    digest: str


def freeze(form: Form, answers: Mapping[str, Any], *also: str) -> Frozen:
    """The answers a form reads (its fields, its documents, and ``also``: the address that
    routed it), copied out of the case at submit, with a digest of exactly those."""
    keys = {field.key for field in form.fields()} | set(also)
    subset = {key: answers[key] for key in sorted(keys) if key in answers}
    return Frozen(subset, answers_digest(subset))


def answers_digest(answers: Mapping[str, Any]) -> str:
    canonical = json.dumps(answers, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def code_for(account_id: int, request: ProcedureRequest) -> str:
    """The resident's code in this request's department kind and municipality."""
    return resident_code(
        account_id, request.municipality.code, request.form_definition.department_kind
    )


def act(
    request: ProcedureRequest,
    action: Action,
    by: Account | None,
    *,
    expected_version: int | None = None,
    reason: str = "",
    assignee: Account | None = None,
    fields: Collection[str] = (),
    documents: Collection[str] = (),
    changes: Mapping[str, Any] | None = None,
) -> RequestEvent:
    """Carry out ``action`` by ``by`` (None: the portal itself, in a job).

    Raises :class:`NotAllowed` when the lifecycle, the actor's rights or four eyes forbid
    it, and :class:`StaleRequest` when ``expected_version`` (the version the actor's page
    showed) is no longer the request's.
    """
    _lock(request)
    if expected_version is not None and expected_version != request.version:
        raise StaleRequest(request, events_since(request, expected_version))
    reason = reason.strip()
    refused = refusal(request, action, by, reason)
    if refused is not None:
        raise NotAllowed(refused)
    step = lifecycle.transition(action)
    actor = _actor_kind(request, action, by)
    before = request.status
    recorded: dict[str, Any] = {}
    target = step.target or request.status

    if action is Action.CLAIM:
        request.assignee = by
    elif action is Action.RELEASE:
        request.assignee = None
    elif action is Action.ASSIGN:
        recorded = _assign(request, assignee)
        if request.status is RequestStatus.SUBMITTED:
            target = RequestStatus.IN_REVIEW
    elif action is Action.ASK_CORRECTION:
        recorded = _ask_correction(request, by, fields, documents, reason)
    elif action is Action.RESUBMIT:
        recorded = _resubmit(request, changes or {})
    elif action is Action.APPROVE:
        target = _approve(request, by)
    elif action is Action.RECEIVE_HAND_OFF:
        recorded = _receive(request, changes or {})
    if target in lifecycle.FINAL and target is not before:
        request.decided_at = utcnow()
        _resume_clock(request)

    request.status = target
    request.version = request.version + 1
    event = RequestEvent(
        actor=by,
        actor_kind=actor,
        action=action,
        from_status=before,
        to_status=target,
        version=request.version,
        reason=reason,
        changes=recorded,
    )
    # Added beside the history, not appended to it: appending would load every past event.
    event.request = request
    db.session.add(event)
    try:
        db.session.flush()
    except StaleDataError:
        # Another transaction changed the row between our read and our write (SQLite has
        # no row lock to wait on): the same answer as a stale page.
        db.session.rollback()
        raise StaleRequest(request, []) from None
    _audit(request, event)
    _set_off(request, event)
    return event


def _audit(request: ProcedureRequest, event: RequestEvent) -> None:
    """Every action goes into the municipality's hash-chained audit log as well."""
    audit.append(
        audit.municipality_chain(request.municipality),
        actor=event.actor,
        action=f"request.{event.action.value}",
        subject=f"request:{request.id}",
        details={
            "actor_kind": event.actor_kind.value,
            "from": event.from_status.value,
            "to": event.to_status.value,
            "version": event.version,
            "reason": event.reason,
            "changed": sorted(event.changes),
        },
    )


def _set_off(request: ProcedureRequest, event: RequestEvent) -> None:
    """What an event sets off, in the same transaction: the decision's certificate (issued by
    a job), the hand-off between municipalities (delivered by a job), a rejection's way back
    to the other end, and the resident's mailbox message."""
    from portal.casework import handoff  # it acts through this module
    from portal.casework.tasks import DELIVER_HAND_OFF_TASK

    if event.to_status is event.from_status:
        return
    # The decision's certificate, asked for in the decision's transaction: never a decision
    # whose certificate is lost.
    certificates.ask_for_decision(request, event.to_status)
    resident = request.case.account
    if event.action is Action.ASK_CORRECTION:
        post(
            resident, MessageKind.CORRECTION_ASKED, request=request, params={"reason": event.reason}
        )
    elif event.to_status is RequestStatus.APPROVED:
        sent = handoff.send(request) if handoff.sends_hand_off(request) else None
        if sent is None:
            post(resident, MessageKind.APPROVED, request=request)
            return
        jobs.defer(DELIVER_HAND_OFF_TASK, hand_off_id=sent.id)
        post(
            resident,
            MessageKind.HANDED_OVER,
            request=request,
            params={"municipality": sent.to_municipality.names},
        )
    elif event.to_status is RequestStatus.REJECTED:
        post(resident, MessageKind.REJECTED, request=request, params={"reason": event.reason})
        handoff.on_rejected(request, event.reason)
    if event.to_status in lifecycle.NOT_GOING_AHEAD:
        _cancel_visit(request)


def _cancel_visit(request: ProcedureRequest) -> None:
    """A request that will not go ahead frees its counter visit (one still to come)."""
    from portal.bookings import services as bookings

    booking = bookings.active_booking(request)
    if booking is not None and booking.slot_start > utcnow():
        bookings.cancel(booking, None)


def opened_by(
    request: ProcedureRequest,
    staff: Account,
    purpose: AccessPurpose = AccessPurpose.VIEWED_REQUEST,
) -> None:
    """A clerk opened the request, or one of its documents: the resident sees which office
    did in their access record."""
    department = request.department
    audit.record_access(
        request.case.account,
        staff=staff,
        municipality=department.municipality if department else request.municipality,
        department=request.department,
        form_id=request.form_id,
        purpose=purpose,
        case=request.case,
        request=request,
    )


def events_since(request: ProcedureRequest, version: int) -> list[RequestEvent]:
    return [event for event in request.events if event.version > version]


def _lock(request: ProcedureRequest) -> None:
    """Re-read the row under a lock (PostgreSQL), so two clerks acting at once take turns
    and the second sees the first one's change."""
    db.session.scalars(
        select(ProcedureRequest)
        .where(ProcedureRequest.id == request.id)
        .with_for_update(of=ProcedureRequest)
        .execution_options(populate_existing=True)
    ).one()


def _actor_kind(request: ProcedureRequest, action: Action, by: Account | None) -> Actor:
    if by is None:
        return Actor.SYSTEM
    if by.id == request.case.account_id and Actor.RESIDENT in lifecycle.transition(action).actors:
        return Actor.RESIDENT
    return Actor.STAFF


def refusal(
    request: ProcedureRequest, action: Action, by: Account | None, reason: str | None = None
) -> str | None:
    """Why ``by`` may not take ``action`` now, or None when they may. The one set of rules:
    :func:`act` raises it, and a page asks it to decide which actions to offer (with
    ``reason=None``, as no reason has been typed yet)."""
    step = lifecycle.transition(action)
    actor = _actor_kind(request, action, by)
    if request.status not in step.sources:
        return _(
            "“%(action)s” cannot be done on a request that is “%(status)s”.",
            action=action.label,
            status=request.status.staff_label,
        )
    if actor not in step.actors or not access.may_act(by, request, action):
        return _("You may not do that with this request.")
    if actor is Actor.STAFF and by is not None and by.id == request.case.account_id:
        return _("Staff do not decide their own requests.")
    if step.needs_reason and actor is Actor.STAFF and reason is not None and not reason:
        return _("Give a reason.")
    by_id = by.id if by is not None else None
    if action is Action.CLAIM and request.assignee_id is not None:
        if request.assignee_id == by_id:
            return _("You hold this request already.")
        return _("Another clerk holds this request.")
    if (
        (step.holder_only or action is Action.APPROVE)
        and request.status is RequestStatus.IN_REVIEW
        and request.assignee_id != by_id
    ):
        return _("Claim the request first: only the clerk who holds it can do that.")
    if (
        action is Action.APPROVE
        and request.status is RequestStatus.AWAITING_SECOND_APPROVAL
        and request.first_approver_id == by_id
    ):
        return _("A second clerk must approve this form; you gave the first approval.")
    return None


def _assign(request: ProcedureRequest, assignee: Account | None) -> dict[str, Any]:
    if assignee is None or request.department is None:
        raise NotAllowed(_("Choose a clerk."))
    if not access.may_work_in_department(assignee, request.department):
        raise NotAllowed(_("That clerk does not work in this department."))
    previous = request.assignee_id
    request.assignee = assignee
    return {"assignee": [previous, assignee.id]}


def _ask_correction(
    request: ProcedureRequest,
    by: Account | None,
    fields: Iterable[str],
    documents: Iterable[str],
    reason: str,
) -> dict[str, Any]:
    form = request.form_definition
    answerable = {f.key for s in form.sections for f in s.fields}
    uploadable = {f.key for f in form.attachments}
    fields, documents = sorted(set(fields)), sorted(set(documents))
    if not fields and not documents:
        raise NotAllowed(_("Name at least one answer or document to correct."))
    if not set(fields) <= answerable or not set(documents) <= uploadable:
        raise NotAllowed(_("Only this form's answers and documents can be corrected."))
    request.corrections.append(
        Correction(asked_by=by, fields=fields, documents=documents, reason=reason)
    )
    request.paused_since = today_in_japan()
    return {"fields": fields, "documents": documents}


def _resubmit(request: ProcedureRequest, new: Mapping[str, Any]) -> dict[str, Any]:
    """Apply the resident's corrected answers: only those asked for, to this request only."""
    correction = request.open_correction
    if correction is None:  # pragma: no cover - the status says one is open
        raise NotAllowed(_("No correction is open."))
    if not set(new) <= set(correction.keys):
        raise NotAllowed(_("Only the answers asked for can be changed."))
    changed = {
        key: [request.answers.get(key), value]
        for key, value in new.items()
        if request.answers.get(key) != value
    }
    request.answers = {**request.answers, **new}
    request.answers_digest = answers_digest(request.answers)
    correction.answered_at = utcnow()
    correction.changes = changed
    _resume_clock(request)
    return changed


def _resume_clock(request: ProcedureRequest) -> None:
    if request.paused_since is not None:
        request.paused_days += max((today_in_japan() - request.paused_since).days, 0)
        request.paused_since = None


def _approve(request: ProcedureRequest, by: Account | None) -> RequestStatus:
    """Final, unless the form wants four eyes: the first approval waits for a second clerk,
    who must be someone else, whatever their role."""
    if request.form_definition.approvals < 2:
        return RequestStatus.APPROVED
    if request.status is RequestStatus.IN_REVIEW:
        request.first_approver_id = by.id  # type: ignore[union-attr]
        request.assignee = None
        return RequestStatus.AWAITING_SECOND_APPROVAL
    return RequestStatus.APPROVED  # by a second clerk: ``refusal`` saw to that


def _receive(request: ProcedureRequest, handed: Mapping[str, Any]) -> dict[str, Any]:
    """The old municipality's data arrives: it joins the request's answers."""
    request.answers = {**request.answers, **handed}
    request.answers_digest = answers_digest(request.answers)
    return {"received": sorted(handed)}


def claim_next(department: Department, clerk: Account) -> ProcedureRequest | None:
    """Claim for ``clerk`` the department's oldest-due new request that nobody holds, or
    None when none is waiting. Eight clerks pressing "next" at once each get a different
    one: the pick locks its row and skips those locked by the others."""
    request_id = db.session.scalar(next_unclaimed(department, clerk))
    if request_id is None:
        return None
    request = db.session.get(ProcedureRequest, request_id)
    assert request is not None  # locked by us a moment ago
    act(request, Action.CLAIM, clerk)
    return request


@dataclass(frozen=True)
class Refused:
    """One request a bulk action left as it was, by receipt number, and why."""

    receipt_number: str
    message: str


def assign_many(
    department: Department,
    request_ids: Collection[int],
    assignee: Account,
    by: Account,
    reason: str,
) -> tuple[list[ProcedureRequest], list[Refused]]:
    """A supervisor assigns several of the department's requests to one clerk, each through
    :func:`act` so each gets its event and its audit entry with the reason.

    Each request goes on its own: one that cannot be assigned any more (decided, or
    withdrawn, since the page was drawn) is reported by its receipt number and the others
    are still assigned. A supervisor sharing out a morning's work wants the rest done, not
    to start over for the one a clerk closed meanwhile; the refusal is checked before
    anything is changed, so a refused request leaves nothing half done. Ids that are not
    the department's are left out, as the 404 of a single request would.
    """
    query = (
        select(ProcedureRequest)
        .where(
            ProcedureRequest.id.in_(sorted(set(request_ids))),
            ProcedureRequest.department_id == department.id,
        )
        .order_by(ProcedureRequest.id)
    )
    assigned: list[ProcedureRequest] = []
    refused: list[Refused] = []
    for request in db.session.scalars(query).unique():
        try:
            act(request, Action.ASSIGN, by, reason=reason, assignee=assignee)
        except NotAllowed as refusal_:
            refused.append(Refused(request.case.receipt_number or "", refusal_.message))
        else:
            assigned.append(request)
    return assigned, refused
