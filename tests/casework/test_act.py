"""Acting on a request: one service, the lifecycle's table, who may act, four eyes, versions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from flask_babel import force_locale

from portal.casework.lifecycle import Action, Actor, CaseProgress, RequestStatus
from portal.casework.services import NotAllowed, StaleRequest, act, answers_digest
from portal.extensions import db
from portal.japan.clock import today_in_japan
from portal.journey.models import ProcedureRequest
from tests.factories import (
    AccountFactory,
    CaseFactory,
    DepartmentFactory,
    MunicipalityFactory,
    RequestFactory,
    RoleFactory,
)

ANSWERS = {"move.new_address": {"postal_code": "100-0013", "street": "1-3-1", "building": ""}}


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """A request in English, so that refusals can be matched by their words."""
    with app.test_request_context(), force_locale("en"):
        yield


def _filed(form_id: str = "mic.tenshutsu", **answers: object) -> ProcedureRequest:
    case = CaseFactory(filed=True, forms=[], answers={**ANSWERS, **answers})
    return RequestFactory(case=case, form_id=form_id)


def _clerk_of(request: ProcedureRequest, **traits: object):  # noqa: ANN202
    return RoleFactory(department=request.department, **traits).account


def test_claiming_puts_the_request_in_review_with_its_clerk_and_an_event(ctx) -> None:
    request = _filed()
    clerk = _clerk_of(request)
    event = act(request, Action.CLAIM, clerk, expected_version=1)
    assert (request.status, request.assignee, request.version) == (
        RequestStatus.IN_REVIEW,
        clerk,
        2,
    )
    assert (event.from_status, event.to_status, event.actor, event.actor_kind) == (
        RequestStatus.SUBMITTED,
        RequestStatus.IN_REVIEW,
        clerk,
        Actor.STAFF,
    )
    assert request.events == [event]


def test_a_request_held_by_one_clerk_cannot_be_claimed_by_another(ctx) -> None:
    request = _filed()
    first, second = _clerk_of(request), _clerk_of(request)
    act(request, Action.CLAIM, first)
    with pytest.raises(NotAllowed, match="Another clerk holds"):
        act(request, Action.CLAIM, second)
    assert request.assignee == first


def test_a_clerk_of_another_department_or_a_resident_may_not_act(ctx) -> None:
    request = _filed()
    elsewhere = RoleFactory(
        department=DepartmentFactory(municipality=request.municipality, kind="childcare")
    ).account
    for outsider in (elsewhere, AccountFactory(), request.case.account):
        with pytest.raises(NotAllowed, match="You may not"):
            act(request, Action.CLAIM, outsider)
    assert request.events == []


def test_an_action_not_allowed_from_the_current_status_is_refused_with_a_message(ctx) -> None:
    request = _filed()
    clerk = _clerk_of(request)
    with pytest.raises(NotAllowed, match="cannot be done on a request that is"):
        act(request, Action.RESUBMIT, request.case.account)
    act(request, Action.CLAIM, clerk)
    act(request, Action.APPROVE, clerk)
    for action in (Action.APPROVE, Action.REJECT, Action.CLAIM, Action.ASK_CORRECTION):
        with pytest.raises(NotAllowed):
            act(request, action, clerk, reason="again")
    assert request.status is RequestStatus.APPROVED
    assert request.decided_at is not None


def test_a_stale_page_is_told_what_changed_since(ctx) -> None:
    request = _filed()
    first, second = _clerk_of(request), _clerk_of(request)
    act(request, Action.CLAIM, first, expected_version=1)
    act(request, Action.NOTE, first, reason="Called the resident", expected_version=2)
    with pytest.raises(StaleRequest) as stale:
        act(request, Action.CLAIM, second, expected_version=1)
    assert [e.action for e in stale.value.events] == [Action.CLAIM, Action.NOTE]
    assert request.assignee == first


def test_rejecting_needs_a_reason_and_the_holder(ctx) -> None:
    request = _filed()
    holder, other = _clerk_of(request), _clerk_of(request)
    act(request, Action.CLAIM, holder)
    with pytest.raises(NotAllowed, match="Give a reason"):
        act(request, Action.REJECT, holder, reason="  ")
    with pytest.raises(NotAllowed, match="Claim the request first"):
        act(request, Action.REJECT, other, reason="Not our municipality")
    event = act(request, Action.REJECT, holder, reason="The move date is in the future")
    assert (request.status, event.reason) == (
        RequestStatus.REJECTED,
        "The move date is in the future",
    )


def test_four_eyes_needs_a_second_different_clerk_whatever_the_role(ctx) -> None:
    request = _filed("cfa.jidou_teate_nintei_tennyu")
    first = _clerk_of(request)
    RoleFactory(account=first, admin=True, municipality=request.municipality)
    second = _clerk_of(request)
    act(request, Action.CLAIM, first)
    act(request, Action.APPROVE, first)
    assert request.status is RequestStatus.AWAITING_SECOND_APPROVAL
    assert request.assignee is None
    with pytest.raises(NotAllowed, match="second clerk must approve"):
        act(request, Action.APPROVE, first)
    act(request, Action.APPROVE, second)
    assert request.status is RequestStatus.APPROVED
    assert [e.actor for e in request.events if e.action is Action.APPROVE] == [first, second]


def test_a_form_without_four_eyes_is_approved_by_one_clerk(ctx) -> None:
    request = _filed("mic.tenshutsu")
    clerk = _clerk_of(request)
    act(request, Action.CLAIM, clerk)
    act(request, Action.APPROVE, clerk)
    assert request.status is RequestStatus.APPROVED


def test_only_a_supervisor_assigns_with_a_reason_to_a_clerk_of_the_department(ctx) -> None:
    request = _filed()
    clerk, supervisor = _clerk_of(request), _clerk_of(request, supervisor=True)
    colleague = _clerk_of(request)
    with pytest.raises(NotAllowed, match="You may not"):
        act(request, Action.ASSIGN, clerk, assignee=colleague, reason="cover")
    with pytest.raises(NotAllowed, match="Give a reason"):
        act(request, Action.ASSIGN, supervisor, assignee=colleague)
    with pytest.raises(NotAllowed, match="does not work in this department"):
        act(request, Action.ASSIGN, supervisor, assignee=AccountFactory(), reason="cover")
    event = act(request, Action.ASSIGN, supervisor, assignee=colleague, reason="Holiday cover")
    assert (request.assignee, request.status) == (colleague, RequestStatus.IN_REVIEW)
    assert event.changes == {"assignee": [None, colleague.id]}


def test_staff_never_decide_their_own_request(ctx) -> None:
    request = _filed()
    RoleFactory(account=request.case.account, department=request.department)
    with pytest.raises(NotAllowed, match="their own requests"):
        act(request, Action.CLAIM, request.case.account)


def test_a_correction_pauses_the_clock_and_the_resident_changes_only_what_was_asked(
    ctx,
) -> None:
    request = _filed()
    clerk = _clerk_of(request)
    act(request, Action.CLAIM, clerk)
    filed_deadline = request.deadline
    with pytest.raises(NotAllowed, match="Name at least one"):
        act(request, Action.ASK_CORRECTION, clerk, reason="Unclear")
    with pytest.raises(NotAllowed, match="Only this form's"):
        act(request, Action.ASK_CORRECTION, clerk, fields=["child.name"], reason="Unclear")
    act(request, Action.ASK_CORRECTION, clerk, fields=["move.new_address"], reason="No street")
    assert request.status is RequestStatus.WAITING_FOR_RESIDENT
    assert request.case.progress is CaseProgress.ACTION_NEEDED

    later = today_in_japan() + timedelta(days=3)
    with time_machine.travel(later, tick=False):
        assert request.due_date(today_in_japan()) == filed_deadline + timedelta(days=3)
        resident = request.case.account
        with pytest.raises(NotAllowed, match="Only the answers asked for"):
            act(request, Action.RESUBMIT, resident, changes={"move.date": "2026-11-30"})
        new_address = {"postal_code": "100-0013", "street": "1-3-1", "building": "201"}
        event = act(request, Action.RESUBMIT, resident, changes={"move.new_address": new_address})
    assert event.actor_kind is Actor.RESIDENT
    assert (request.status, request.assignee) == (RequestStatus.IN_REVIEW, clerk)
    assert request.answers["move.new_address"] == new_address
    assert request.answers_digest == answers_digest(request.answers)
    assert event.changes == {"move.new_address": [ANSWERS["move.new_address"], new_address]}
    assert request.corrections[0].changes == event.changes
    # The clock ran again from the resident's answer: three days added, for good.
    assert request.due_date(later + timedelta(days=10)) == filed_deadline + timedelta(days=3)
    # The case keeps what was filed: another department's request is not changed.
    assert request.case.answers["move.new_address"] == ANSWERS["move.new_address"]


def test_the_case_status_is_derived_from_its_requests(ctx) -> None:
    case = CaseFactory(filed=True, forms=["mic.tenshutsu", "mhlw.kokuho_soshitsu_tenshutsu"])
    first, second = case.requests
    assert case.progress is CaseProgress.IN_PROGRESS
    for request in case.requests:
        clerk = _clerk_of(request)
        act(request, Action.CLAIM, clerk)
        act(request, Action.APPROVE, clerk)
        if request is first:
            assert case.progress is CaseProgress.IN_PROGRESS
    assert second.status is RequestStatus.APPROVED
    assert case.progress is CaseProgress.COMPLETED
    assert CaseFactory().progress is CaseProgress.DRAFT


def test_the_resident_may_withdraw_before_a_decision(ctx) -> None:
    request = _filed()
    event = act(request, Action.WITHDRAW, request.case.account)
    assert (request.status, event.actor_kind) == (RequestStatus.WITHDRAWN, Actor.RESIDENT)


def test_only_the_portal_receives_a_hand_off(ctx) -> None:
    request = _filed("mic.tennyu")
    request.status = RequestStatus.AWAITING_HAND_OFF
    with pytest.raises(NotAllowed):
        act(request, Action.RECEIVE_HAND_OFF, _clerk_of(request))
    event = act(request, Action.RECEIVE_HAND_OFF, None, changes={"moved_out.on": "2026-12-01"})
    assert (request.status, event.actor_kind) == (RequestStatus.SUBMITTED, Actor.SYSTEM)
    assert request.answers["moved_out.on"] == "2026-12-01"


def test_municipality_admins_work_every_department_of_theirs_only(ctx) -> None:
    request = _filed()
    admin = RoleFactory(admin=True, municipality=request.municipality).account
    stranger = RoleFactory(admin=True, municipality=MunicipalityFactory()).account
    act(request, Action.CLAIM, admin)
    with pytest.raises(NotAllowed):
        act(request, Action.NOTE, stranger, reason="hello")
    db.session.flush()


def test_the_resident_is_told_of_each_decision_in_their_mailbox(ctx) -> None:
    from portal.mailbox.kinds import MessageKind
    from portal.mailbox.models import Message

    asked, rejected = _filed(), _filed()
    for request in (asked, rejected):
        act(request, Action.CLAIM, _clerk_of(request))
    act(asked, Action.ASK_CORRECTION, asked.assignee, fields=["move.new_address"], reason="Flat?")
    act(rejected, Action.REJECT, rejected.assignee, reason="Moved before")
    act(rejected, Action.NOTE, rejected.assignee, reason="internal only")
    messages = db.session.scalars(db.select(Message).order_by(Message.id)).all()
    assert [(m.account, m.kind, m.params.get("reason")) for m in messages] == [
        (asked.case.account, MessageKind.CORRECTION_ASKED, "Flat?"),
        (rejected.case.account, MessageKind.REJECTED, "Moved before"),
    ]
