"""The resident's side of a request's life: its status, a correction asked by a clerk and
sent back, and withdrawing it before a decision. Through the test client, in Japanese."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.accounts.models import Account
from portal.casework.lifecycle import Action, Actor, RequestStatus
from portal.casework.models import RequestEvent
from portal.casework.services import act
from portal.extensions import db
from portal.japan.clock import utcnow
from portal.journey.models import Attachment, Case, ProcedureRequest
from tests.factories import AttachmentFactory, CaseFactory, RoleFactory
from tests.support.documents import PDF
from tests.support.html import post_form
from tests.support.journey import BUTTONS, errors
from tests.support.people import login_as

CHIYODA = {
    "postal_code": "100-0013",
    "prefecture": "東京都",
    "city": "千代田区",
    "town": "霞が関",
    "street": "1-3-1",
    "building": "",
    "municipality_code": "131016",
}
FILED_ANSWERS = {
    "filing.proxy": True,
    "move.new_address": CHIYODA,
    "applicant.phone": "0312345678",
    "applicant.family_name": "山田",
}
REASON = "日中にこの番号へおかけしましたが、つながりませんでした。\n番号をご確認ください。"
PHONE = "applicant__phone"
LETTER = "filing__delegation_letter"


@dataclass
class Filed:
    case_id: int
    request_id: int
    filer_id: int
    clerk_id: int
    letter_id: int

    @property
    def correction_url(self) -> str:
        return f"/cases/{self.case_id}/requests/{self.request_id}/correction"

    @property
    def withdraw_url(self) -> str:
        return f"/cases/{self.case_id}/requests/{self.request_id}/withdraw"

    @property
    def receipt_url(self) -> str:
        return f"/cases/{self.case_id}/receipt"

    def request(self) -> ProcedureRequest:
        found = db.session.get(ProcedureRequest, self.request_id)
        assert found is not None
        return found


def file_a_move_out(
    app: Flask,
    *,
    fields=("applicant.phone",),
    documents=(),
    ask=True,
    account_id: int | None = None,
) -> Filed:
    """A move-out filed as a proxy (by ``account_id``, or a new resident), with its letter of
    delegation; a clerk of its department claims it and, with ``ask``, asks the resident to
    correct ``fields`` and ``documents``."""
    with app.test_request_context():
        filer = {} if account_id is None else {"account": db.session.get(Account, account_id)}
        case = CaseFactory(filed=True, forms=["mic.tenshutsu"], answers=FILED_ANSWERS, **filer)
        letter = AttachmentFactory(case=case, field_key="filing.delegation_letter")
        request = case.requests[0]
        clerk = RoleFactory(department=request.department).account
        # The case's own answers move on after filing: the correction starts from the request's.
        case.answers = {**case.answers, "applicant.phone": "09000000000"}
        act(request, Action.CLAIM, clerk)
        if ask:
            act(
                request,
                Action.ASK_CORRECTION,
                clerk,
                reason=REASON,
                fields=fields,
                documents=documents,
            )
        db.session.commit()
        return Filed(case.id, request.id, case.account_id, clerk.id, letter.id)


@pytest.fixture
def filer(app: Flask, client: FlaskClient, definitions) -> Callable[..., Filed]:
    def make(**kwargs: object) -> Filed:
        filed = file_a_move_out(app, **kwargs)
        login_as(client, filed.filer_id)
        return filed

    return make


def token_of(html: str) -> str:
    return post_form(html).fields["csrf_token"]


def names_asked(html: str) -> set[str]:
    form = post_form(html)
    return {name.split("-")[0] for name in [*form.fields, *form.choices]} - BUTTONS


def send(client: FlaskClient, filed: Filed, **data: object) -> str:
    """Post the correction page as a browser would; returns where it redirected."""
    page = client.get(filed.correction_url)
    assert page.status_code == 200, page.status_code
    response = client.post(
        filed.correction_url,
        data={"csrf_token": token_of(page.text), **data},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.status_code
    return response.headers["Location"]


# Status on the dashboard and the receipt -------------------------------------------------


def test_the_dashboard_and_the_receipt_say_a_correction_is_needed_and_link_to_it(
    app: Flask, client: FlaskClient, filer
) -> None:
    filed = filer()
    home = client.get("/")
    for page in (home.text, client.get(filed.receipt_url).text):
        assert "補正が必要です" in page  # the request's status
        assert "補正をお願いします" in page  # the case's progress
        assert page.count(f'href="{filed.correction_url}"') >= 1
        assert "notification--action" in page
    assert "補正する" in home.text


def test_in_english_too(app: Flask, client: FlaskClient, filer) -> None:
    filed = filer()
    client.set_cookie("madoguchi_lang", "en")
    home = client.get("/").text
    assert "Correction needed from you" in home and "Your correction is needed" in home
    assert "needs a correction to" in home and "Make the correction" in home
    page = client.get(filed.correction_url).text
    assert "<h1>Correct your application</h1>" in page
    assert "Send the correction" in page and "asked you on" in page


def test_a_request_in_review_shows_its_status_and_the_case_in_progress(
    app: Flask, client: FlaskClient, filer
) -> None:
    filed = filer(ask=False)
    receipt = client.get(filed.receipt_url).text
    assert "審査中" in receipt and "手続中" in receipt
    assert filed.correction_url not in receipt
    assert filed.withdraw_url in receipt  # not decided yet


def test_the_due_date_moves_by_the_days_a_correction_was_out(
    app: Flask, client: FlaskClient, filer
) -> None:
    with time_machine.travel(utcnow() - timedelta(days=3)):
        filed = file_a_move_out(app)  # asked three days ago
    login_as(client, filed.filer_id)
    with app.app_context():
        deadline = filed.request().deadline
    receipt = client.get(filed.receipt_url).text
    moved = deadline + timedelta(days=3)
    assert f"{moved.year}年{moved.month}月{moved.day}日" in receipt
    assert f"{deadline.year}年{deadline.month}月{deadline.day}日" in receipt  # "moved from"


# The correction page -----------------------------------------------------------------------


def test_the_page_shows_the_reason_and_asks_only_what_was_named_from_the_requests_answers(
    app: Flask, client: FlaskClient, filer
) -> None:
    filed = filer(documents=("filing.delegation_letter",))
    page = client.get(filed.correction_url)
    assert page.status_code == 200
    assert "日中にこの番号へおかけしましたが" in page.text and "番号をご確認ください。" in page.text
    with app.app_context():
        assert filed.request().counter in page.text
    assert names_asked(page.text) == {PHONE, LETTER}
    # As filed, not as the case's answers have it since.
    assert post_form(page.text).fields[PHONE].replace("-", "") == "0312345678"
    assert f'href="{filed.receipt_url}"' in page.text  # Back


def test_errors_show_beside_the_field_and_in_the_summary_and_keep_what_was_typed(
    app: Flask, client: FlaskClient, filer
) -> None:
    filed = filer(documents=("filing.delegation_letter",))
    location = send(client, filed, **{PHONE: "12-ab"})
    assert location == filed.correction_url  # Post/Redirect/Get: Back never resubmits
    again = client.get(location)
    assert again.status_code == 422
    assert len(errors(again.text)) == 2  # the phone and the missing letter
    summary = re.search(r'class="error-summary".*?</ul>', again.text, flags=re.S).group(0)
    assert summary.count("<li>") == 2
    assert post_form(again.text).fields[PHONE] == "12-ab"
    with app.app_context():
        assert filed.request().status is RequestStatus.WAITING_FOR_RESIDENT
    # Reloading shows the same; nothing is sent.
    assert client.get(location).status_code == 422


def test_a_file_that_is_not_a_document_is_refused_beside_its_field(
    app: Flask, client: FlaskClient, filer
) -> None:
    filed = filer(documents=("filing.delegation_letter",))
    location = send(
        client, filed, **{PHONE: "03-9999-0000", LETTER: (io.BytesIO(b"MZ\x90\x00"), "a.pdf")}
    )
    again = client.get(location)
    assert again.status_code == 422
    assert any("PDF" in message for message in errors(again.text))
    assert post_form(again.text).fields[PHONE] == "03-9999-0000"


def test_sending_the_correction_changes_only_this_requests_answers_and_resumes_review(
    app: Flask, client: FlaskClient, filer
) -> None:
    filed = filer(documents=("filing.delegation_letter",))
    location = send(
        client,
        filed,
        **{PHONE: "03-5555-1234", LETTER: (io.BytesIO(PDF), "委任状（署名あり）.pdf")},
    )
    assert location == filed.receipt_url
    receipt = client.get(location).text
    assert "の補正を送りました" in receipt
    assert "審査中" in receipt
    with app.app_context():
        request = filed.request()
        assert request.status is RequestStatus.IN_REVIEW
        assert request.answers["applicant.phone"] == "0355551234"
        letter = db.session.scalars(
            select(Attachment).where(Attachment.case_id == filed.case_id).order_by(Attachment.id)
        ).all()
        assert [a.id for a in letter][0] == filed.letter_id  # the document filed stays
        new = letter[-1]
        assert new.filename == "委任状（署名あり）.pdf"
        assert request.answers["filing.delegation_letter"] == {
            "attachment_id": new.id,
            "filename": new.filename,
        }
        event = request.events[-1]
        assert (event.action, event.actor_kind, event.actor_id) == (
            Action.RESUBMIT,
            Actor.RESIDENT,
            filed.filer_id,
        )
        assert event.changes["applicant.phone"] == ["0312345678", "0355551234"]
        correction = request.corrections[-1]
        assert correction.answered_at is not None and not correction.is_open
        # The case's answers, which other departments' requests were frozen from, stay.
        assert db.session.get(Case, filed.case_id).answers["applicant.phone"] == "09000000000"
        assert db.session.get(Case, filed.case_id).unsaved is None
        new_id = new.id
    # The department reads the new document.
    clerk = app.test_client()
    login_as(clerk, filed.clerk_id)
    download = clerk.get(f"/cases/{filed.case_id}/attachments/{new_id}")
    assert download.status_code == 200 and download.data == PDF
    download.close()


def test_sending_twice_is_harmless_and_says_it_was_sent(
    app: Flask, client: FlaskClient, filer
) -> None:
    filed = filer()
    page = client.get(filed.correction_url)
    data = {"csrf_token": token_of(page.text), PHONE: "03-5555-1234"}
    first = client.post(filed.correction_url, data=data)
    second = client.post(filed.correction_url, data=data)
    assert (first.status_code, second.status_code) == (302, 302)
    assert second.headers["Location"] == filed.receipt_url
    shown = client.get(second.headers["Location"]).text
    assert "補正はすでに送られています" in shown
    with app.app_context():
        resubmits = db.session.scalar(
            select(func.count())
            .select_from(RequestEvent)
            .where(
                RequestEvent.request_id == filed.request_id,
                RequestEvent.action == Action.RESUBMIT,
            )
        )
        assert resubmits == 1
    # And the page itself, opened again (Back), sends the resident to the receipt.
    assert client.get(filed.correction_url).headers["Location"] == filed.receipt_url


def test_a_request_that_waits_for_no_correction_sends_the_page_to_the_receipt(
    app: Flask, client: FlaskClient, filer
) -> None:
    filed = filer(ask=False)
    response = client.get(filed.correction_url)
    assert response.status_code == 302 and response.headers["Location"] == filed.receipt_url
    assert "補正は必要ありません" in client.get(filed.receipt_url).text


def test_a_request_of_another_case_or_of_someone_else_is_not_found(
    app: Flask, client: FlaskClient, filer
) -> None:
    filed = filer()
    other = file_a_move_out(app)  # another resident's
    with app.app_context():
        filer = db.session.get(Account, filed.filer_id)
        mine = CaseFactory(account=filer, filed=True, forms=["mic.tenshutsu"])
        db.session.commit()
        my_other_case = mine.id
    assert client.get(f"/cases/{my_other_case}/receipt").status_code == 200  # the filer's own
    for url in (
        f"/cases/{my_other_case}/requests/{filed.request_id}/correction",
        f"/cases/{filed.case_id}/requests/{other.request_id}/correction",
        f"/cases/{other.case_id}/requests/{other.request_id}/correction",
        f"/cases/{other.case_id}/requests/{other.request_id}/withdraw",
    ):
        assert client.get(url).status_code == 404, url


def test_find_address_on_a_correction_fills_the_address_and_keeps_the_rest(
    app: Flask, client: FlaskClient, filer, known_municipalities
) -> None:
    known_municipalities("141046")
    filed = filer(fields=("move.new_address", "applicant.phone"))
    page = client.get(filed.correction_url)
    assert names_asked(page.text) == {"move__new_address", PHONE}
    form = post_form(page.text)
    data = {**form.fields, "move__new_address-postal_code": "231-0021", PHONE: "03-1111-2222"}
    data["lookup"] = form.choices["lookup"][0]
    response = client.post(filed.correction_url, data=data)
    assert response.headers["Location"] == filed.correction_url
    shown = client.get(filed.correction_url)
    assert shown.status_code == 200
    fields = post_form(shown.text).fields
    assert fields["move__new_address-prefecture"] == "神奈川県"
    assert fields[PHONE] == "03-1111-2222"
    with app.app_context():
        assert filed.request().status is RequestStatus.WAITING_FOR_RESIDENT


# Withdrawing -------------------------------------------------------------------------------


def test_withdrawing_asks_first_then_withdraws_with_the_residents_reason(
    app: Flask, client: FlaskClient, filer
) -> None:
    filed = filer()
    receipt = client.get(filed.receipt_url).text
    assert f'href="{filed.withdraw_url}"' in receipt
    confirm = client.get(filed.withdraw_url)
    assert confirm.status_code == 200
    assert "取り下げますか" in confirm.text
    with app.app_context():
        assert filed.request().status is RequestStatus.WAITING_FOR_RESIDENT  # a GET changes nothing
    response = client.post(
        filed.withdraw_url,
        data={"csrf_token": token_of(confirm.text), "reason": "引っ越しを取りやめました"},
    )
    assert response.headers["Location"] == filed.receipt_url
    shown = client.get(filed.receipt_url).text
    assert "取り下げました" in shown and "取下げ" in shown
    assert f'href="{filed.withdraw_url}"' not in shown
    with app.app_context():
        request = filed.request()
        assert request.status is RequestStatus.WITHDRAWN and request.decided_at is not None
        event = request.events[-1]
        assert (event.action, event.actor_kind, event.reason) == (
            Action.WITHDRAW,
            Actor.RESIDENT,
            "引っ越しを取りやめました",
        )
        assert request.paused_since is None  # the clock stopped with the correction
    # The case is completed: nothing left for the department.
    assert "完了" in client.get("/").text


def test_a_reason_too_long_is_refused_beside_the_field_and_kept(
    app: Flask, client: FlaskClient, filer
) -> None:
    filed = filer()
    confirm = client.get(filed.withdraw_url)
    long_reason = "理由" * 600
    response = client.post(
        filed.withdraw_url, data={"csrf_token": token_of(confirm.text), "reason": long_reason}
    )
    assert response.status_code == 422
    assert len(errors(response.text)) == 1 and "error-summary" in response.text
    assert long_reason in response.text
    with app.app_context():
        assert filed.request().status is RequestStatus.WAITING_FOR_RESIDENT


def test_a_decided_request_cannot_be_withdrawn(app: Flask, client: FlaskClient, filer) -> None:
    filed = filer(ask=False)
    token = token_of(client.get(filed.withdraw_url).text)
    with app.test_request_context():
        request = filed.request()
        act(request, Action.APPROVE, db.session.get(Account, filed.clerk_id))
        db.session.commit()
    receipt = client.get(filed.receipt_url).text
    assert "承認" in receipt and f'href="{filed.withdraw_url}"' not in receipt
    assert client.get(filed.withdraw_url).headers["Location"] == filed.receipt_url
    response = client.post(filed.withdraw_url, data={"csrf_token": token})
    assert response.headers["Location"] == filed.receipt_url
    assert "取り下げられません" in client.get(filed.receipt_url).text
    with app.app_context():
        assert filed.request().status is RequestStatus.APPROVED


# Two tabs at once, on PostgreSQL -----------------------------------------------------------


@pytest.mark.postgresql
def test_two_tabs_sending_the_correction_at_once_send_it_once(
    app: Flask, client: FlaskClient, filer
) -> None:
    filed = filer(documents=("filing.delegation_letter",))
    token = token_of(client.get(filed.correction_url).text)
    cookie = client.get_cookie("madoguchi_session").value
    tabs = []
    for _ in range(3):
        tab = app.test_client()
        tab.set_cookie("madoguchi_session", cookie)
        tabs.append(tab)
    barrier = threading.Barrier(len(tabs))
    statuses: list[int] = []

    def post(tab: FlaskClient) -> None:
        data = {"csrf_token": token, PHONE: "03-5555-1234", LETTER: (io.BytesIO(PDF), "a.pdf")}
        barrier.wait(timeout=10)
        statuses.append(
            tab.post(
                filed.correction_url, data=data, content_type="multipart/form-data"
            ).status_code
        )

    threads = [threading.Thread(target=post, args=(tab,)) for tab in tabs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [302, 302, 302]
    with app.app_context():
        request = filed.request()
        assert request.status is RequestStatus.IN_REVIEW
        assert [e.action for e in request.events].count(Action.RESUBMIT) == 1
        kept = db.session.scalars(
            select(Attachment.id).where(Attachment.case_id == filed.case_id)
        ).all()
        # The document filed, and the one the correction sent: the losers' uploads rolled back
        # or were never stored.
        assert len(kept) == 2
        assert request.answers["filing.delegation_letter"]["attachment_id"] in kept
