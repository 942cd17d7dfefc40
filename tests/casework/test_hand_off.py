"""Between municipalities: the old one's approval of the moving-out makes the new one's
requests ready, once; a rejection at either end goes back to the other."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select

from portal.casework.lifecycle import Action, Actor, RequestStatus
from portal.casework.models import HandOff
from portal.casework.services import act
from portal.casework.tasks import DELIVER_HAND_OFF_TASK, deliver_hand_off
from portal.extensions import db
from portal.jobs.inprocess import run_committed
from portal.journey import services
from portal.journey.models import Case, ProcedureRequest
from tests.factories import CaseFactory, RoleFactory
from tests.support.journey import CHIYODA_SAVED, SAVED_MOVE

UMEDA_OSAKA = {
    "postal_code": "530-0001",
    "prefecture": "大阪府",
    "city": "大阪市北区",
    "town": "梅田",
    "street": "1-1",
    "building": "",
    "municipality_code": "271276",
}


@pytest.fixture
def ctx(app: Flask, municipalities) -> Iterator[None]:
    with app.test_request_context(), force_locale("en"):
        yield


def _moved(answers: dict = SAVED_MOVE) -> Case:
    case = CaseFactory(answers={**answers, "move.circumstances": ["kokuho"]}, language="en")
    services.submit(case)
    return case


def _request(case: Case, form_id: str) -> ProcedureRequest:
    return next(r for r in case.requests if r.form_id == form_id)


def _decide(request: ProcedureRequest, action: Action, reason: str = "") -> None:
    clerk = RoleFactory(department=request.department).account
    act(request, Action.CLAIM, clerk)
    act(request, action, clerk, reason=reason)


def test_the_new_municipality_waits_for_the_old_one(ctx) -> None:
    case = _moved()
    at = {r.form_id: (r.municipality.code, r.status) for r in case.requests}
    assert at["mic.tenshutsu"] == ("131016", RequestStatus.SUBMITTED)
    assert at["mhlw.kokuho_soshitsu_tenshutsu"] == ("131016", RequestStatus.SUBMITTED)
    assert at["mic.tennyu"] == ("141003", RequestStatus.AWAITING_HAND_OFF)
    assert at["mhlw.kokuho_shutoku_tennyu"] == ("141003", RequestStatus.AWAITING_HAND_OFF)


def test_approving_the_moving_out_hands_its_data_over_once(ctx) -> None:
    case = _moved()
    moving_out = _request(case, "mic.tenshutsu")
    _decide(moving_out, Action.APPROVE)

    sent = db.session.scalars(select(HandOff)).one()
    assert (sent.from_municipality.code, sent.to_municipality.code) == ("131016", "141003")
    assert sent.data == moving_out.answers
    assert moving_out.events[-1].reason.startswith("Data handed over to")
    # Delivered by a job, once the approval has committed: until then the new side waits.
    assert sent.delivered_at is None
    assert _request(case, "mic.tennyu").status is RequestStatus.AWAITING_HAND_OFF
    deliver_hand_off(sent.id)  # what the job does
    assert sent.delivered_at is not None
    for form_id in ("mic.tennyu", "mhlw.kokuho_shutoku_tennyu"):
        moving_in = _request(case, form_id)
        assert moving_in.status is RequestStatus.SUBMITTED
        received = moving_in.events[-1]
        assert (received.action, received.actor_kind) == (Action.RECEIVE_HAND_OFF, Actor.SYSTEM)
        assert moving_in.answers["hand_off"]["data"] == moving_out.answers
        assert moving_in.answers["hand_off"]["from_municipality"] == "131016"

    versions = [r.version for r in case.requests]
    deliver_hand_off(sent.id)  # the job run twice
    assert [r.version for r in case.requests] == versions


def test_the_hand_off_job_runs_after_the_approval_commits(app: Flask, municipalities) -> None:
    """Through the real queue: in-process after the commit on SQLite; on PostgreSQL a
    procrastinate job in the approving transaction, which a worker would run."""
    from portal.certificates.services import ISSUE_TASK
    from tests.support.jobs import empty_queue, queued

    with app.app_context():
        postgresql = db.engine.dialect.name == "postgresql"
        if postgresql:
            empty_queue()
    with app.test_request_context(), force_locale("en"):
        case = _moved()
        db.session.commit()
        _decide(_request(case, "mic.tenshutsu"), Action.APPROVE)
        db.session.commit()
        if postgresql:
            # Beside the moving-out certificate's job, which the certificates' tests run.
            jobs = [job for job in queued() if job["task_name"] != ISSUE_TASK]
            assert [job["task_name"] for job in jobs] == [DELIVER_HAND_OFF_TASK]
            deliver_hand_off(**jobs[0]["args"])
            db.session.commit()
        else:
            run_committed()
        case_id = case.id
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert _request(case, "mic.tennyu").status is RequestStatus.SUBMITTED
        assert db.session.scalars(select(HandOff)).one().delivered_at is not None


def test_a_rejected_moving_out_withdraws_what_waited_for_it(ctx) -> None:
    case = _moved()
    _decide(_request(case, "mic.tenshutsu"), Action.REJECT, reason="Not registered here")
    moving_in = _request(case, "mic.tennyu")
    assert moving_in.status is RequestStatus.WITHDRAWN
    assert "Not registered here" in moving_in.events[-1].reason
    assert _request(case, "mhlw.kokuho_soshitsu_tenshutsu").status is RequestStatus.SUBMITTED


def test_a_rejected_move_in_goes_back_to_the_department_that_sent_it(ctx) -> None:
    case = _moved()
    moving_out = _request(case, "mic.tenshutsu")
    _decide(moving_out, Action.APPROVE)
    deliver_hand_off(db.session.scalars(select(HandOff)).one().id)
    _decide(_request(case, "mic.tennyu"), Action.REJECT, reason="No such building")
    note = moving_out.events[-1]
    assert (note.action, note.actor_kind) == (Action.NOTE, Actor.SYSTEM)
    assert "No such building" in note.reason and "rejected by" in note.reason


def test_from_a_municipality_not_served_the_move_in_is_ready_at_once(
    ctx, known_municipalities
) -> None:
    known_municipalities("271276")
    case = _moved(
        {**SAVED_MOVE, "principal.address": UMEDA_OSAKA, "move.new_address": CHIYODA_SAVED}
    )
    assert _request(case, "mic.tenshutsu").status is RequestStatus.AT_COUNTER
    assert _request(case, "mic.tennyu").status is RequestStatus.SUBMITTED


def test_to_a_municipality_not_served_approving_hands_nothing_over(
    ctx, known_municipalities
) -> None:
    known_municipalities("271276")
    case = _moved({**SAVED_MOVE, "move.new_address": UMEDA_OSAKA})
    assert _request(case, "mic.tennyu").status is RequestStatus.AT_COUNTER
    _decide(_request(case, "mic.tenshutsu"), Action.APPROVE)
    assert db.session.scalars(select(HandOff)).all() == []


def test_both_ends_of_the_hand_off_are_in_the_access_record_and_the_audit_log(ctx, runner) -> None:
    from portal.audit.models import AccessPurpose, AccessRecord, AuditEntry

    case = _moved()
    _decide(_request(case, "mic.tenshutsu"), Action.APPROVE)
    deliver_hand_off(db.session.scalars(select(HandOff)).one().id)
    records = db.session.scalars(select(AccessRecord).order_by(AccessRecord.id)).all()
    waited = [r.form_id for r in case.requests if r.municipality.code == "141003" and r.online]
    assert [(r.purpose, r.municipality.code, r.form_id) for r in records] == [
        (AccessPurpose.HANDED_OVER, "131016", "mic.tenshutsu"),
        *((AccessPurpose.RECEIVED_HAND_OFF, "141003", form_id) for form_id in waited),
    ]
    assert {"mic.tennyu", "mhlw.kokuho_shutoku_tennyu"} <= set(waited)
    assert all(r.resident_id == case.account_id for r in records)
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.chain == "municipality:141003")
    ).all()
    assert actions.count("request.receive_hand_off") == len(waited)
    db.session.commit()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_the_resident_is_told_their_move_out_went_on_to_the_new_municipality(ctx) -> None:
    from portal.mailbox.kinds import MessageKind
    from portal.mailbox.models import Message

    case = _moved()
    _decide(_request(case, "mic.tenshutsu"), Action.APPROVE)
    told = db.session.scalars(select(Message).where(Message.account_id == case.account_id)).one()
    assert told.kind is MessageKind.HANDED_OVER
    assert "Yokohama" in told.subject and "Chiyoda" not in told.subject
    with force_locale("ja"):
        assert "横浜市" in told.subject
