"""A clerk's page for one request: what this form needs and nothing more, the actions the
lifecycle and the clerk's rights allow, refusals beside the field, stale pages, four eyes."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select

from portal.accounts.models import Account
from portal.casework.lifecycle import Action, RequestStatus
from portal.casework.services import act
from portal.extensions import db
from portal.japan.clock import today_in_japan
from portal.journey.models import ProcedureRequest
from tests.factories import (
    AccountFactory,
    AttachmentFactory,
    CaseFactory,
    MunicipalityFactory,
    RequestFactory,
    RoleFactory,
)
from tests.support.clerks import Clerk, url
from tests.support.html import forms, text
from tests.support.people import csrf_token
from tests.support.sql import counted_statements

#: The resident's account id and provider subject: never on a clerk's page.
RESIDENT_ID = 987_654_321
SUBJECT = "oidc-subject-zq81x"
ADDRESS = {"postal_code": "100-0013", "street": "1-3-1", "building": "", "city": "千代田区"}
ANSWERS = {
    "filing.proxy": True,
    "move.scope": "between",
    "move.date": "2026-11-20",
    "move.new_address": ADDRESS,
    "move.members": [],
    "applicant.family_name": "山田",
    "applicant.given_name": "太郎",
    "applicant.phone": "0312345678",
    "filing.relationship": "child",
    # Another form's answer: the case holds it, this request does not.
    "payment.bank_name": "みずほ銀行",
}


@dataclass
class Desk:
    """A filed request, its department's clerks, and the ids to reach them."""

    request_id: int
    clerks: list[int]
    outsiders: dict[str, int]


def _desk(app: Flask, form_id: str = "mic.tenshutsu", clerks: int = 2) -> Desk:
    with app.app_context():
        resident = AccountFactory(id=RESIDENT_ID, subject=SUBJECT)
        case = CaseFactory(
            account=resident,
            filed=True,
            forms=[],
            answers=ANSWERS,
        )
        filed = RequestFactory(case=case, form_id=form_id)
        RequestFactory(
            case=case, form_id="mhlw.kokuho_soshitsu_tenshutsu", municipality=filed.municipality
        )
        # The case's answer moved on after filing: the request keeps what was filed.
        case.answers = {**ANSWERS, "applicant.family_name": "別人"}
        childcare = filed.municipality.department_of_kind("childcare")
        if childcare is None or childcare.id == filed.department_id:
            childcare = filed.municipality.department_of_kind("education")
        desk = Desk(
            request_id=filed.id,
            clerks=[RoleFactory(department=filed.department).account.id for _ in range(clerks)],
            outsiders={
                "clerk of another department": RoleFactory(department=childcare).account.id,
                "clerk of another municipality": RoleFactory(
                    department=MunicipalityFactory().department_of_kind(filed.department.kind)
                ).account.id,
                "filer": resident.id,
            },
        )
        db.session.commit()
    return desk


def _clerk(app: Flask, account_id: int) -> Clerk:
    clerk = Clerk(app, account_id)
    clerk.client.set_cookie("madoguchi_lang", "en")
    return clerk


def _request(app: Flask, request_id: int) -> ProcedureRequest:
    return db.session.get(ProcedureRequest, request_id)


def _errors(html: str) -> list[str]:
    return [
        " ".join(re.sub(r"<[^>]+>", " ", e).split())
        for e in re.findall(r'class="field-error"[^>]*>(.*?)</p>', html, flags=re.S)
    ]


def _summary(html: str) -> list[str]:
    block = re.search(r'class="error-summary".*?</div>', html, flags=re.S)
    return re.findall(r"<li><a [^>]*>(.*?)</a></li>", block.group(0)) if block else []


# What the page shows ---------------------------------------------------------------------


def test_the_page_shows_what_this_form_filed_and_never_who_the_resident_is(app) -> None:
    desk = _desk(app)
    with app.app_context():
        filed = _request(app, desk.request_id)
        letter = AttachmentFactory(case=filed.case, field_key="filing.delegation_letter")
        AttachmentFactory(case=filed.case, field_key="child.mother_handbook", filename="other.pdf")
        receipt, code, letter_id = filed.case.receipt_number, filed.resident_code, letter.id
        case_id = filed.case_id
        db.session.commit()
    clerk = _clerk(app, desk.clerks[0])
    page = clerk.open(desk.request_id)
    assert page.status_code == 200
    shown = text(page.text)
    assert receipt in shown and code in shown
    assert "Moving-out notification" in shown
    assert "山田" in shown and "別人" not in shown  # the request's answers, not the case's
    assert "みずほ銀行" not in shown  # another form's answer
    assert "03-1234-5678" in shown  # read as the resident's summary reads it
    assert f"/cases/{case_id}/attachments/{letter_id}" in page.text
    assert "other.pdf" not in shown  # another form's document
    # The case's other request, by status only.
    assert "National Health Insurance" in shown and "New" in shown
    assert str(RESIDENT_ID) not in page.text and SUBJECT not in page.text
    assert "Due" in shown


def test_the_request_comes_with_its_case_and_account_in_one_query(app) -> None:
    desk = _desk(app)
    clerk = _clerk(app, desk.clerks[0])
    with counted_statements(app) as sent:
        assert clerk.open(desk.request_id).status_code == 200
    # A lazy load: one row of a table fetched by its id alone, in a statement of its own.
    lazy = re.compile(r"\bFROM (cases|accounts)\s+WHERE (cases|accounts)\.id = ")
    assert not [s for s in sent if lazy.search(s)]


def test_the_page_is_in_japanese_first(app) -> None:
    desk = _desk(app)
    page = Clerk(app, desk.clerks[0]).open(desk.request_id).text
    assert "受付番号" in page and "住民コード" in page and "担当する" in page


def test_a_clerk_of_another_department_or_municipality_and_the_filer_get_404(app) -> None:
    desk = _desk(app)
    for who, account_id in desk.outsiders.items():
        outsider = _clerk(app, account_id)
        assert outsider.client.get(url(desk.request_id)).status_code == 404, who
        token = csrf_token(outsider.client.get("/").text)
        data = {"csrf_token": token, "claim-version": "1", "claim-submit": "y"}
        assert outsider.client.post(url(desk.request_id), data=data).status_code == 404, who
    with app.app_context():
        assert _request(app, desk.request_id).events == []


# Each action through the page ---------------------------------------------------------


def test_claim_note_release_and_claim_again(app) -> None:
    desk = _desk(app)
    clerk = _clerk(app, desk.clerks[0])
    clerk.open(desk.request_id)
    assert clerk.offers("claim") and not clerk.offers("approve")
    assert clerk.claim(desk.request_id).status_code == 303
    assert "Done: Claim." in clerk.page
    assert not clerk.offers("claim")
    assert clerk.offers("approve") and clerk.offers("release")
    assert clerk.act(desk.request_id, "note", reason="Phoned the resident").status_code == 303
    assert clerk.act(desk.request_id, "release").status_code == 303
    shown = text(clerk.open(desk.request_id).text)
    assert "Phoned the resident" in shown
    assert shown.index("Claim") < shown.index("Phoned the resident") < shown.rindex("Release")
    assert clerk.offers("claim")
    with app.app_context():
        filed = _request(app, desk.request_id)
        assert (filed.status, filed.assignee_id) == (RequestStatus.SUBMITTED, None)
        assert [e.action for e in filed.events] == [Action.CLAIM, Action.NOTE, Action.RELEASE]


def test_approving_a_form_of_one_approval(app) -> None:
    desk = _desk(app)
    clerk = _clerk(app, desk.clerks[0])
    clerk.open(desk.request_id)
    clerk.claim(desk.request_id)
    clerk.open(desk.request_id)
    assert clerk.approve(desk.request_id).status_code == 303
    clerk.open(desk.request_id)
    assert "Approved" in text(clerk.page)
    assert not clerk.offers("approve") and not clerk.offers("reject") and clerk.offers("note")
    with app.app_context():
        assert _request(app, desk.request_id).status is RequestStatus.APPROVED


def test_rejecting_needs_a_reason_said_beside_the_field_and_in_the_summary(app) -> None:
    desk = _desk(app)
    clerk = _clerk(app, desk.clerks[0])
    clerk.open(desk.request_id)
    clerk.claim(desk.request_id)
    clerk.open(desk.request_id)
    refused = clerk.reject(desk.request_id, reason="   ")
    assert refused.status_code == 422
    assert _errors(refused.text) == ["Error: Give a reason."]
    assert _summary(refused.text) == ["Give a reason."]
    assert 'href="#reject-reason"' in refused.text and 'id="reject-reason"' in refused.text
    done = clerk.reject(desk.request_id, reason="The move date is in the future")
    assert done.status_code == 303
    shown = text(clerk.open(desk.request_id).text)
    assert "Rejected" in shown and "The move date is in the future" in shown


def test_withdrawing_at_the_residents_request(app) -> None:
    desk = _desk(app)
    clerk = _clerk(app, desk.clerks[0])
    clerk.open(desk.request_id)
    assert clerk.act(desk.request_id, "withdraw", reason="").status_code == 422
    said = "Resident phoned on 2 December: moving cancelled"
    assert clerk.act(desk.request_id, "withdraw", reason=said).status_code == 303
    shown = text(clerk.open(desk.request_id).text)
    assert "Withdrawn" in shown and said in shown
    assert not clerk.offers("claim") and not clerk.offers("withdraw")


def test_asking_for_a_correction_then_the_answer_comes_back_highlighted(app) -> None:
    desk = _desk(app)
    clerk = _clerk(app, desk.clerks[0])
    clerk.open(desk.request_id)
    clerk.claim(desk.request_id)
    clerk.open(desk.request_id)
    none_ticked = clerk.act(desk.request_id, "ask_correction", reason="The phone is wrong")
    assert none_ticked.status_code == 422
    assert _summary(none_ticked.text) == ["Name at least one answer or document to correct."]
    assert 'href="#ask_correction-answers-0"' in none_ticked.text
    assert "The phone is wrong" in none_ticked.text  # kept
    asked = clerk.act(
        desk.request_id,
        "ask_correction",
        answers=["applicant.phone"],
        documents=["filing.delegation_letter"],
        reason="The phone is wrong",
    )
    assert asked.status_code == 303
    shown = text(clerk.open(desk.request_id).text)
    assert "Waiting for the resident" in shown and "Paused since" in shown
    assert "Daytime phone number" in shown or "Filer's phone number" in shown

    later = today_in_japan() + timedelta(days=2)
    with app.app_context(), app.test_request_context(), time_machine.travel(later, tick=False):
        filed = _request(app, desk.request_id)
        act(filed, Action.RESUBMIT, filed.case.account, changes={"applicant.phone": "0398765432"})
        db.session.commit()
    shown = text(clerk.open(desk.request_id).text)
    assert "Changed: 03-1234-5678 → 03-9876-5432" in shown
    assert "Includes 2 days paused for a correction." in shown
    assert "Held by" in shown and clerk.offers("approve")  # back with the same clerk


def test_a_page_post_without_an_action_is_refused_with_a_message(app) -> None:
    desk = _desk(app)
    clerk = _clerk(app, desk.clerks[0])
    clerk.open(desk.request_id)
    response = clerk.client.post(url(desk.request_id), data={"csrf_token": _token(clerk)})
    assert response.status_code == 422
    assert "Choose one of the actions on this page." in response.text


def test_an_action_the_service_refuses_is_said_beside_its_button(app) -> None:
    """Approving a request nobody claimed: not offered, and refused when posted anyway."""
    desk = _desk(app)
    clerk = _clerk(app, desk.clerks[0])
    clerk.open(desk.request_id)
    data = {"csrf_token": _token(clerk), "approve-version": "1", "approve-submit": "y"}
    refused = clerk.client.post(url(desk.request_id), data=data)
    assert refused.status_code == 422
    message = "“Approve” cannot be done on a request that is “New”."
    assert _errors(refused.text) == [f"Error: {message}"]
    assert [text(s) for s in _summary(refused.text)] == [message]
    with app.app_context():
        assert _request(app, desk.request_id).events == []


def test_a_garbled_version_is_refused_not_a_server_error(app) -> None:
    desk = _desk(app)
    clerk = _clerk(app, desk.clerks[0])
    clerk.open(desk.request_id)
    for version in ("", "x", "9" * 5000, "-1"):
        data = {"csrf_token": _token(clerk), "claim-version": version, "claim-submit": "y"}
        response = clerk.client.post(url(desk.request_id), data=data)
        assert response.status_code in (409, 422), version
    with app.app_context():
        assert _request(app, desk.request_id).events == []


# Two clerks, one request -----------------------------------------------------------------


def test_a_stale_page_answers_409_with_what_changed_and_keeps_what_was_typed(app) -> None:
    desk = _desk(app)
    first, second = _clerk(app, desk.clerks[0]), _clerk(app, desk.clerks[1])
    first.open(desk.request_id)
    second.open(desk.request_id)
    assert first.claim(desk.request_id).status_code == 303
    stale = second.act(desk.request_id, "note", reason="My note, typed on an old page")
    assert stale.status_code == 409
    shown = text(stale.text)
    assert "This request changed since you opened it" in shown
    with app.app_context():
        first_name = db.session.get(Account, desk.clerks[0]).display_name
    assert f"{first_name}: Claim" in shown
    assert "My note, typed on an old page" in stale.text
    note = next(f for f in forms(stale.text) if "note-version" in f.fields)
    assert note.fields["note-version"] == "2"  # the version now shown
    # Sent again from the 409 page, it is recorded.
    assert second.act(desk.request_id, "note").status_code == 303
    with app.app_context():
        events = _request(app, desk.request_id).events
        assert [e.action for e in events] == [Action.CLAIM, Action.NOTE]
        assert events[1].reason == "My note, typed on an old page"


def test_a_second_claim_from_an_old_page_is_stale_and_changes_nothing(app) -> None:
    desk = _desk(app)
    first, second = _clerk(app, desk.clerks[0]), _clerk(app, desk.clerks[1])
    first.open(desk.request_id)
    second.open(desk.request_id)
    assert first.claim(desk.request_id).status_code == 303
    assert second.claim(desk.request_id).status_code == 409
    # From the 409 page the claim is still there (so nothing typed is lost), and refused.
    again = second.claim(desk.request_id)
    assert again.status_code == 422
    assert "Another clerk holds this request." in text(again.text)
    with app.app_context():
        assert _request(app, desk.request_id).assignee_id == desk.clerks[0]


@pytest.mark.postgresql
def test_two_clerks_claiming_at_once_one_wins_the_other_is_told(app) -> None:
    desk = _desk(app)
    clerks = [_clerk(app, account_id) for account_id in desk.clerks]
    for clerk in clerks:
        clerk.open(desk.request_id)
    start = threading.Barrier(len(clerks))
    answers: list[int] = []

    def claim(clerk: Clerk) -> None:
        start.wait()
        answers.append(clerk.claim(desk.request_id).status_code)

    threads = [threading.Thread(target=claim, args=(clerk,)) for clerk in clerks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [303, 409]
    with app.app_context():
        filed = _request(app, desk.request_id)
        assert len(filed.events) == 1 and filed.assignee_id in desk.clerks


# Four eyes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("first_role", ["clerk", "municipality admin"])
def test_four_eyes_a_second_clerk_approves_and_the_first_sees_why_not(app, first_role) -> None:
    desk = _desk(app, "cfa.jidou_teate_nintei_tennyu")
    with app.app_context():
        filed = _request(app, desk.request_id)
        if first_role == "clerk":
            first_id = desk.clerks[0]
        else:
            first_id = RoleFactory(admin=True, municipality=filed.municipality).account.id
        first_name = db.session.get(Account, first_id).display_name
        db.session.commit()
    first, second = _clerk(app, first_id), _clerk(app, desk.clerks[1])
    first.open(desk.request_id)
    first.claim(desk.request_id)
    first.open(desk.request_id)
    assert first.approve(desk.request_id).status_code == 303
    shown = text(first.open(desk.request_id).text)
    assert f"First approval by {first_name}" in shown
    assert "waiting for a second clerk" in shown
    assert "A second clerk must approve this form; you gave the first approval." in shown
    assert not first.offers("approve")
    # Posted anyway (an old tab), the service refuses it beside the button.
    data = {"csrf_token": _token(first), "approve-version": "3", "approve-submit": "y"}
    refused = first.client.post(url(desk.request_id), data=data)
    assert refused.status_code == 422
    assert _errors(refused.text) == [
        "Error: A second clerk must approve this form; you gave the first approval."
    ]

    second.open(desk.request_id)
    assert "waiting for a second clerk" in text(second.page)
    assert second.offers("approve")
    assert second.approve(desk.request_id).status_code == 303
    with app.app_context():
        filed = _request(app, desk.request_id)
        assert filed.status is RequestStatus.APPROVED
        approvals = [e.actor_id for e in filed.events if e.action is Action.APPROVE]
        assert approvals == [first_id, desk.clerks[1]]


def _token(clerk: Clerk) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', clerk.page)
    assert found
    return found.group(1)


def test_opening_the_request_is_in_the_residents_access_record(app) -> None:
    from portal.audit.models import AccessPurpose, AccessRecord

    desk = _desk(app)
    for account_id in desk.outsiders.values():
        _clerk(app, account_id).client.get(url(desk.request_id))
    assert _clerk(app, desk.clerks[0]).open(desk.request_id).status_code == 200
    with app.app_context():
        records = db.session.scalars(db.select(AccessRecord)).all()
        assert [(r.purpose, r.resident_id, r.staff_id, r.form_id) for r in records] == [
            (AccessPurpose.VIEWED_REQUEST, RESIDENT_ID, desk.clerks[0], "mic.tenshutsu")
        ]


# The move-in at the new municipality -----------------------------------------------------


def _moved_in(app: Flask, *, book: bool) -> tuple[int, int, str]:
    """A move from Chiyoda to Yokohama, its moving-out approved and handed over; the move-in's
    request id, a Yokohama clerk of it, and its visit as pages write it (when ``book``)."""
    from portal.bookings import services as bookings
    from portal.bookings.views import format_visit
    from portal.casework.handoff import deliver
    from portal.casework.models import HandOff
    from portal.journey import services as journey
    from tests.support.journey import SAVED_MOVE

    with app.test_request_context():
        case = CaseFactory(answers=SAVED_MOVE, language="en")
        journey.submit(case)
        by_form = {r.form_id: r for r in case.requests}
        moving_out, moving_in = by_form["mic.tenshutsu"], by_form["mic.tennyu"]
        visit = ""
        if book:
            day = bookings.available_slots(moving_in.department, today_in_japan(), 14)[0]
            with force_locale("en"):
                visit = format_visit(bookings.book(moving_in, day.slots[0].start, None))
        chiyoda = RoleFactory(department=moving_out.department).account
        act(moving_out, Action.CLAIM, chiyoda)
        act(moving_out, Action.APPROVE, chiyoda)
        deliver(db.session.scalars(select(HandOff)).one().id)
        clerk = RoleFactory(department=moving_in.department).account
        db.session.commit()
        return moving_in.id, clerk.id, visit


def test_the_move_in_shows_its_booked_visit_and_where_the_hand_off_came_from(
    app, municipalities
) -> None:
    request_id, clerk_id, visit = _moved_in(app, book=True)
    shown = text(_clerk(app, clerk_id).open(request_id).text)
    assert f"Booked counter visit {visit}" in shown
    assert "Hand-off received" in shown
    assert "The moving-out data from Chiyoda City, Tokyo." in shown
    assert "hand_off" not in shown
    assert "Filed with this request" not in shown  # the hand-off's data is no empty section


def test_a_move_in_without_a_visit_says_none_is_booked(app, municipalities) -> None:
    request_id, clerk_id, _ = _moved_in(app, book=False)
    assert "Booked counter visit No visit booked yet" in text(
        _clerk(app, clerk_id).open(request_id).text
    )


def test_a_form_done_without_a_visit_shows_no_visit(app) -> None:
    desk = _desk(app)
    assert "Booked counter visit" not in text(
        _clerk(app, desk.clerks[0]).open(desk.request_id).text
    )


def test_the_statement_count_is_the_same_for_a_short_history_and_a_long_one(app) -> None:
    """Each event of the history names its clerk: read with the events, not one by one."""
    desk = _desk(app, clerks=3)

    def note(count: int) -> None:
        with app.app_context():
            for number in range(count):
                clerk = db.session.get(Account, desk.clerks[number % 3])
                act(_request(app, desk.request_id), Action.NOTE, clerk, reason=f"note {number}")
                db.session.commit()

    clerk = _clerk(app, desk.clerks[0])
    note(1)
    clerk.open(desk.request_id)  # the form's definitions are parsed once per process
    with counted_statements(app) as short:
        assert "note 0" in clerk.open(desk.request_id).text
    note(20)
    with counted_statements(app) as long:
        assert "note 19" in clerk.open(desk.request_id).text
    assert len(short) == len(long), (short, long)
