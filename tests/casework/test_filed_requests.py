"""What a request carries from submit: its own answers, frozen, and the resident's code in
its department; and the lifecycle's table as a whole."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from flask_babel import force_locale

from portal.casework import lifecycle
from portal.casework.lifecycle import Action, Actor, RequestStatus
from portal.casework.pseudonyms import resident_code
from portal.casework.services import NotAllowed, StaleRequest, act, answers_digest
from portal.extensions import db
from portal.journey import services
from portal.journey.models import ProcedureRequest
from tests.factories import CaseFactory, RequestFactory, RoleFactory
from tests.support.journey import SAVED_MOVE as MOVING_AS_PROXY


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """A request in English, so that refusals can be matched by their words."""
    with app.test_request_context(), force_locale("en"):
        yield


def test_each_request_freezes_only_the_answers_its_form_reads(ctx, municipalities) -> None:
    answers = {**MOVING_AS_PROXY, "move.circumstances": ["kokuho"], "unrelated.fact": "x"}
    case = CaseFactory(answers=answers)
    services.submit(case)
    by_form = {r.form_id: r for r in case.requests}
    assert {"mic.tenshutsu", "mic.tennyu", "mhlw.kokuho_shutoku_tennyu"} <= set(by_form)
    for request in case.requests:
        form = request.form_definition
        readable = {f.key for f in form.fields()} | {"principal.address", "move.new_address"}
        assert set(request.answers) <= readable, request.form_id
        assert "unrelated.fact" not in request.answers
        assert request.answers_digest == answers_digest(request.answers)
    # The move-out at the old municipality is routed by the old address, which it keeps.
    assert (
        by_form["mic.tenshutsu"].answers["principal.address"]
        == MOVING_AS_PROXY["principal.address"]
    )


def test_the_resident_has_a_different_code_in_every_department(ctx, municipalities) -> None:
    case = CaseFactory(answers={**MOVING_AS_PROXY, "move.circumstances": ["kokuho"]})
    services.submit(case)
    codes = {r.form_id: r.resident_code for r in case.requests if r.department}
    assert len(set(codes.values())) < len(codes)  # one department, one code...
    by_department: dict[int, set[str]] = {}
    for request in case.requests:
        by_department.setdefault(request.department_id, set()).add(request.resident_code)
    assert all(len(found) == 1 for found in by_department.values())
    assert len({code for found in by_department.values() for code in found}) == len(
        by_department
    )  # ...and each department its own
    for code in codes.values():
        assert str(case.account_id) not in code.replace("-", "")
        assert case.account.subject not in code


def test_codes_depend_on_the_key_account_municipality_and_kind(app: Flask) -> None:
    with app.test_request_context():
        base = resident_code(1, "131016", "resident_registration")
        assert base == resident_code(1, "131016", "resident_registration")
        assert (
            len(
                {
                    base,
                    resident_code(2, "131016", "resident_registration"),
                    resident_code(1, "141003", "resident_registration"),
                    resident_code(1, "131016", "child_support"),
                }
            )
            == 4
        )
        app.config["PSEUDONYM_KEY"] = "another-key-" * 4
        try:
            assert resident_code(1, "131016", "resident_registration") != base
        finally:
            app.config["PSEUDONYM_KEY"] = ""


def test_every_action_has_its_sources_and_no_final_status_leads_anywhere_but_a_note() -> None:
    for status in lifecycle.FINAL:
        assert [a for a in lifecycle.actions_from(status) if a is not Action.NOTE] == []
    assert lifecycle.actions_from(RequestStatus.AT_COUNTER) == []
    assert lifecycle.actions_from(RequestStatus.WAITING_FOR_RESIDENT, Actor.RESIDENT) == [
        Action.RESUBMIT,
        Action.WITHDRAW,
    ]
    reachable = {step.target for step in lifecycle.TRANSITIONS.values()} | {
        RequestStatus.AWAITING_SECOND_APPROVAL  # set by four eyes, on approve
    }
    assert set(RequestStatus) - reachable - {None} == {
        RequestStatus.AWAITING_HAND_OFF,  # where a move-in starts
        RequestStatus.AT_COUNTER,  # where a request not served here starts
    }
    assert all(str(status.label) and str(status.staff_label) for status in RequestStatus)


@pytest.mark.postgresql
def test_two_clerks_acting_at_once_take_turns_and_the_second_is_refused(app: Flask) -> None:
    """Both see version 1 and claim at the same moment: the row lock makes one wait, which
    then finds the request changed, and says so."""
    with app.app_context():
        request = RequestFactory(case=CaseFactory(filed=True, forms=[]))
        clerks = [RoleFactory(department=request.department).account for _ in range(2)]
        db.session.commit()
        request_id, clerk_ids = request.id, [c.id for c in clerks]

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def claim(clerk_id: int) -> None:
        with app.test_request_context():
            from portal.accounts.models import Account

            filed = db.session.get(ProcedureRequest, request_id)
            clerk = db.session.get(Account, clerk_id)
            barrier.wait()
            try:
                act(filed, Action.CLAIM, clerk, expected_version=1)
                db.session.commit()
                outcomes.append("claimed")
            except (StaleRequest, NotAllowed) as refused:
                db.session.rollback()
                outcomes.append(type(refused).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=claim, args=(i,)) for i in clerk_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["StaleRequest", "claimed"]
    with app.app_context():
        filed = db.session.get(ProcedureRequest, request_id)
        assert filed.version == 2
        assert len(filed.events) == 1
