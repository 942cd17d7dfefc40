"""The life of a filed request, as data: its states, the actions, and which action leads
from which state to which. One table, read by the one service that carries actions out
(:func:`portal.casework.services.act`) and by the pages that offer them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flask_babel import lazy_gettext as _l


class RequestStatus(StrEnum):
    #: Filed at the new municipality of a move, waiting for the old one to approve the
    #: moving-out and hand its data over (転出証明書の情報); not yet in a queue.
    AWAITING_HAND_OFF = "awaiting_hand_off"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    #: A correction is out with the resident; the deadline clock is paused.
    WAITING_FOR_RESIDENT = "waiting_for_resident"
    #: Approved once; a form that needs four eyes waits for a second clerk.
    AWAITING_SECOND_APPROVAL = "awaiting_second_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    #: Passed to another municipality or department, which works it from here on.
    HANDED_OVER = "handed_over"
    #: Not served on this portal: the resident files it at the counter, on paper. Never in a
    #: department's queue (it has none); kept so the list and the receipt show it.
    AT_COUNTER = "at_counter"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])

    @property
    def staff_label(self) -> str:
        return str(STAFF_STATUS_LABELS.get(self, STATUS_LABELS[self]))

    @property
    def is_final(self) -> bool:
        return self in FINAL


#: As the resident reads them.
STATUS_LABELS = {
    RequestStatus.AWAITING_HAND_OFF: _l("Waiting for your old municipality"),
    RequestStatus.SUBMITTED: _l("Sent, waiting for the department"),
    RequestStatus.IN_REVIEW: _l("Being reviewed"),
    RequestStatus.WAITING_FOR_RESIDENT: _l("Correction needed from you"),
    RequestStatus.AWAITING_SECOND_APPROVAL: _l("Being reviewed"),
    RequestStatus.APPROVED: _l("Approved"),
    RequestStatus.REJECTED: _l("Rejected"),
    RequestStatus.WITHDRAWN: _l("Withdrawn"),
    RequestStatus.HANDED_OVER: _l("Passed to another office"),
    RequestStatus.AT_COUNTER: _l("To do at the counter"),
}

#: As a clerk reads them, where it differs.
STAFF_STATUS_LABELS = {
    RequestStatus.SUBMITTED: _l("New"),
    RequestStatus.WAITING_FOR_RESIDENT: _l("Waiting for the resident"),
    RequestStatus.AWAITING_SECOND_APPROVAL: _l("Waiting for a second approval"),
    RequestStatus.AWAITING_HAND_OFF: _l("Waiting for the hand-off"),
}

FINAL = frozenset(
    {
        RequestStatus.APPROVED,
        RequestStatus.REJECTED,
        RequestStatus.WITHDRAWN,
        RequestStatus.HANDED_OVER,
        RequestStatus.AT_COUNTER,
    }
)

#: Ends after which nothing more happens here: a visit booked for it is freed. (An approved
#: move-in still has its counter visit: the card is updated in person.)
NOT_GOING_AHEAD = frozenset(
    {RequestStatus.REJECTED, RequestStatus.WITHDRAWN, RequestStatus.HANDED_OVER}
)

#: What a department's queue holds: work that is, or will be again, on its desk.
OPEN = frozenset(
    {
        RequestStatus.SUBMITTED,
        RequestStatus.IN_REVIEW,
        RequestStatus.WAITING_FOR_RESIDENT,
        RequestStatus.AWAITING_SECOND_APPROVAL,
    }
)


class Action(StrEnum):
    CLAIM = "claim"
    RELEASE = "release"
    ASSIGN = "assign"
    ASK_CORRECTION = "ask_correction"
    RESUBMIT = "resubmit"
    APPROVE = "approve"
    REJECT = "reject"
    NOTE = "note"
    WITHDRAW = "withdraw"
    RECEIVE_HAND_OFF = "receive_hand_off"
    HAND_OVER = "hand_over"

    @property
    def label(self) -> str:
        return str(ACTION_LABELS[self])


ACTION_LABELS = {
    Action.CLAIM: _l("Claim"),
    Action.RELEASE: _l("Release"),
    Action.ASSIGN: _l("Assign"),
    Action.ASK_CORRECTION: _l("Ask for a correction"),
    Action.RESUBMIT: _l("Correction sent"),
    Action.APPROVE: _l("Approve"),
    Action.REJECT: _l("Reject"),
    Action.NOTE: _l("Internal note"),
    Action.WITHDRAW: _l("Withdraw"),
    Action.RECEIVE_HAND_OFF: _l("Hand-off received"),
    Action.HAND_OVER: _l("Hand over"),
}


class Actor(StrEnum):
    """Who may take an action: a clerk of the request's department (supervisors and admins
    above it included), the resident who filed it, or the portal itself (a job)."""

    STAFF = "staff"
    RESIDENT = "resident"
    SYSTEM = "system"


@dataclass(frozen=True)
class Transition:
    sources: frozenset[RequestStatus]
    #: None: the action leaves the status as it is (a note, a claim, an assignment).
    target: RequestStatus | None
    actors: frozenset[Actor]
    #: Requires a reason (rejecting, assigning someone else, asking for a correction).
    needs_reason: bool = False
    #: Only the clerk who holds the request may take it (see ``holder_only``).
    holder_only: bool = False


_S = RequestStatus
_STAFF = frozenset({Actor.STAFF})
_WORKABLE = frozenset({_S.SUBMITTED, _S.IN_REVIEW, _S.AWAITING_SECOND_APPROVAL})

TRANSITIONS: dict[Action, Transition] = {
    Action.CLAIM: Transition(frozenset({_S.SUBMITTED, _S.IN_REVIEW}), _S.IN_REVIEW, _STAFF),
    Action.RELEASE: Transition(frozenset({_S.IN_REVIEW}), _S.SUBMITTED, _STAFF, holder_only=True),
    Action.ASSIGN: Transition(
        frozenset({_S.SUBMITTED, _S.IN_REVIEW, _S.WAITING_FOR_RESIDENT}),
        None,
        _STAFF,
        needs_reason=True,
    ),
    Action.ASK_CORRECTION: Transition(
        frozenset({_S.IN_REVIEW}), _S.WAITING_FOR_RESIDENT, _STAFF, True, holder_only=True
    ),
    Action.RESUBMIT: Transition(
        frozenset({_S.WAITING_FOR_RESIDENT}), _S.IN_REVIEW, frozenset({Actor.RESIDENT})
    ),
    # The target is settled by the service: a four-eyes form stops at the second approval.
    Action.APPROVE: Transition(
        frozenset({_S.IN_REVIEW, _S.AWAITING_SECOND_APPROVAL}), _S.APPROVED, _STAFF
    ),
    Action.REJECT: Transition(
        frozenset({_S.IN_REVIEW, _S.AWAITING_SECOND_APPROVAL}),
        _S.REJECTED,
        _STAFF,
        needs_reason=True,
        holder_only=True,
    ),
    # The portal notes too: what it sent and received for a request, in its history.
    Action.NOTE: Transition(
        frozenset(RequestStatus) - {_S.AT_COUNTER},
        None,
        frozenset({Actor.STAFF, Actor.SYSTEM}),
        needs_reason=True,
    ),
    # At the resident's request: they ask, a clerk records it (or they withdraw it themselves
    # before a decision).
    # The portal withdraws a move-in whose moving-out was rejected: it cannot go ahead.
    Action.WITHDRAW: Transition(
        frozenset({_S.AWAITING_HAND_OFF, _S.SUBMITTED, _S.IN_REVIEW, _S.WAITING_FOR_RESIDENT}),
        _S.WITHDRAWN,
        frozenset({Actor.STAFF, Actor.RESIDENT, Actor.SYSTEM}),
        needs_reason=True,
    ),
    Action.RECEIVE_HAND_OFF: Transition(
        frozenset({_S.AWAITING_HAND_OFF}), _S.SUBMITTED, frozenset({Actor.SYSTEM})
    ),
    Action.HAND_OVER: Transition(
        _WORKABLE, _S.HANDED_OVER, frozenset({Actor.STAFF, Actor.SYSTEM}), needs_reason=True
    ),
}


def transition(action: Action) -> Transition:
    return TRANSITIONS[action]


def allowed(action: Action, status: RequestStatus, actor: Actor = Actor.STAFF) -> bool:
    """May ``actor`` take ``action`` on a request in ``status``? (Who exactly, and four
    eyes, are for the service to check.)"""
    step = TRANSITIONS[action]
    return status in step.sources and actor in step.actors


def actions_from(status: RequestStatus, actor: Actor = Actor.STAFF) -> list[Action]:
    """The actions a page may offer from here, in the table's order."""
    return [action for action in TRANSITIONS if allowed(action, status, actor)]


class CaseProgress(StrEnum):
    """A case's status, derived from its requests: never stored, so never out of step."""

    DRAFT = "draft"
    #: At least one request waits for the resident's correction.
    ACTION_NEEDED = "action_needed"
    IN_PROGRESS = "in_progress"
    #: Every request decided, withdrawn, passed on or left for the counter.
    COMPLETED = "completed"

    @property
    def label(self) -> str:
        return str(PROGRESS_LABELS[self])


PROGRESS_LABELS = {
    CaseProgress.DRAFT: _l("Not sent yet"),
    CaseProgress.ACTION_NEEDED: _l("Your correction is needed"),
    CaseProgress.IN_PROGRESS: _l("In progress"),
    CaseProgress.COMPLETED: _l("Completed"),
}


def case_progress(statuses: list[RequestStatus], *, submitted: bool) -> CaseProgress:
    if not submitted:
        return CaseProgress.DRAFT
    if RequestStatus.WAITING_FOR_RESIDENT in statuses:
        return CaseProgress.ACTION_NEEDED
    if all(status in FINAL for status in statuses):
        return CaseProgress.COMPLETED
    return CaseProgress.IN_PROGRESS
