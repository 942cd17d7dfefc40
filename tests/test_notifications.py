"""Notifications by e-mail: the resident gives an address, confirms it from the link a real
SMTP server (aiosmtpd) received, and then a clerk's request for a correction is e-mailed
there; off, or not yet confirmed, nothing is. The provider's verified address is offered.

On SQLite the e-mails leave right after the request commits; on PostgreSQL a job worker
sends them (``inbox()`` runs one first, in the tests' process: tests/test_jobs.py runs the
worker's own processes).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.accounts.models import Account
from portal.casework.lifecycle import Action
from portal.casework.services import act
from portal.extensions import db
from portal.japan.clock import utcnow
from portal.jobs.queue import run_worker
from portal.journey.models import ProcedureRequest
from portal.mailbox.models import Message
from portal.transactions import unit_of_work
from tests.conftest import TEST_DATABASE_URL
from tests.factories import AccountFactory, CaseFactory, RoleFactory
from tests.support.html import forms, text
from tests.support.jobs import empty_queue
from tests.support.mail import SmtpSink
from tests.support.people import csrf_token, login_as

BASE_URL = "https://portal.city.example.jp"
PAGE = "/account/notifications/"

Inbox = Callable[[], list[EmailMessage]]


@pytest.fixture
def inbox(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """E-mail on, to a real SMTP server; ``inbox()``: what it received so far."""
    smtp = SmtpSink().start()
    settings = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp.port,
        "SMTP_STARTTLS": False,
        "MAIL_FROM": "noreply@city.example.jp",
        "BASE_URL": BASE_URL,
    }
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)
    if TEST_DATABASE_URL:
        with app.app_context():
            empty_queue()

    def received() -> list[EmailMessage]:
        if TEST_DATABASE_URL:
            run_worker(app, one_shot=True)
        return smtp.received

    yield received
    smtp.stop()
    if TEST_DATABASE_URL:
        with app.app_context():
            empty_queue()


@pytest.fixture
def signing_in(app: Flask, inbox: Inbox, monkeypatch: pytest.MonkeyPatch) -> Inbox:
    """E-mail on, for a sign-in through the provider: its redirect URI is the test client's
    host, so the portal's public address is left unset."""
    monkeypatch.setitem(app.config, "BASE_URL", "")
    return inbox


def _resident(app: Flask, **account: object) -> tuple[int, list[int]]:
    """A resident with a filed move-out and move-in; (account id, their request ids)."""
    with app.app_context():
        resident = AccountFactory(**account)
        case = CaseFactory(account=resident, filed=True, forms=["mic.tenshutsu", "mic.tennyu"])
        db.session.commit()
        return resident.id, [request.id for request in case.requests]


def _post_form(client: FlaskClient, action: str, **fields: str):  # noqa: ANN202
    """Press the button of the page's form that posts to ``action``, with ``fields`` typed."""
    page = client.get(PAGE).text
    (form,) = [f for f in forms(page) if f.action.endswith(action)]
    return client.post(form.action, data={**form.fields, **fields})


def _give(client: FlaskClient, email: str):  # noqa: ANN202
    return _post_form(client, "/account/notifications/address", email=email)


def _link(mail: EmailMessage) -> str:
    """The confirmation link in the mail, as a path for the test client."""
    (url,) = re.findall(r"https://\S+", mail.get_content())
    assert url.startswith(f"{BASE_URL}/account/notifications/confirm/")
    return urlsplit(url).path


def _confirm(client: FlaskClient, path: str):  # noqa: ANN202
    page = client.get(path)
    if page.status_code != 200:
        return page
    return client.post(path, data={"csrf_token": csrf_token(page.text)})


def _ask_correction(app: Flask, request_id: int) -> int:
    """A clerk of the request's department asks for a correction, as the back office does;
    the id of the message the resident gets."""
    with app.app_context(), unit_of_work():
        request = db.session.get(ProcedureRequest, request_id)
        clerk = RoleFactory(department=request.department).account
        act(request, Action.CLAIM, clerk)
        act(
            request,
            Action.ASK_CORRECTION,
            clerk,
            reason="新しい住所の番地を確認してください",
            fields=["move.new_address"],
        )
        db.session.flush()
        return db.session.scalars(
            select(Message.id).where(Message.request_id == request_id).order_by(Message.id.desc())
        ).first()


def _account(app: Flask, account_id: int) -> Account:
    with app.app_context():
        account = db.session.get(Account, account_id)
        db.session.expunge(account)
        return account


def test_given_confirmed_then_a_correction_is_emailed_there(app, client, inbox) -> None:
    account_id, (move_out, move_in) = _resident(app)
    login_as(client, account_id)
    assert PAGE in client.get("/").text  # the dashboard links to the page
    assert PAGE in client.get("/mailbox/").text  # and the mailbox does

    response = _give(client, "Hanako＠Example.JP")  # typed in Japanese input mode
    assert response.status_code == 302
    page = text(client.get(PAGE).text)
    assert "Hanako@example.jp に確認用のリンクを送りました" in page
    assert "未確認" in page

    unconfirmed = _ask_correction(app, move_out)  # not confirmed yet: not e-mailed there
    (confirmation,) = inbox()
    assert confirmation["To"] == "Hanako@example.jp"
    assert confirmation["Subject"] == "メールアドレスの確認"
    with app.app_context():
        assert db.session.get(Message, unconfirmed).email_to is None

    response = _confirm(client, _link(confirmation))
    assert response.status_code == 302
    assert "メールアドレスを確認しました" in text(client.get(PAGE).text)

    message_id = _ask_correction(app, move_in)
    confirmation_again, notice = inbox()
    assert confirmation_again is confirmation
    assert notice["To"] == "Hanako@example.jp"
    assert notice["Subject"] == "新しいお知らせがあります"
    body = notice.get_content()
    assert f"{BASE_URL}/mailbox/{message_id}" in body
    assert "番地" not in body and "転入" not in body  # what the clerk wrote stays in the portal


def test_turned_off_nothing_is_emailed(app, client, inbox) -> None:
    account_id, (move_out, move_in) = _resident(app, notified_at="taro@example.jp")
    login_as(client, account_id)
    assert "オン" in text(client.get(PAGE).text)
    response = _post_form(client, "/account/notifications/switch")
    assert response.status_code == 302
    assert "メール通知をオフにしました" in text(client.get(PAGE).text)
    _ask_correction(app, move_out)
    assert inbox() == []

    _post_form(client, "/account/notifications/switch")  # on again
    _ask_correction(app, move_in)
    assert [mail["To"] for mail in inbox()] == ["taro@example.jp"]


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("", "メールアドレスを入力してください"),
        ("taro@", "メールアドレスを正しい形式で入力してください"),
    ],
)
def test_a_wrong_address_is_shown_beside_the_field_and_kept(
    app, client, inbox, typed, error
) -> None:
    account_id, _requests = _resident(app)
    login_as(client, account_id)
    response = _give(client, typed)
    assert response.status_code == 422
    page = response.text
    assert 'class="error-summary"' in page and 'href="#email"' in page
    assert re.search(
        r'id="email-error">\s*<span class="visually-hidden">[^<]*</span> ' + error, page
    )
    assert f'value="{typed}"' in page if typed else 'aria-invalid="true"' in page
    assert inbox() == []
    assert _account(app, account_id).notification_email is None


def test_a_reused_link_is_refused_with_a_message(app, client, inbox) -> None:
    account_id, _requests = _resident(app)
    login_as(client, account_id)
    _give(client, "hanako@example.jp")
    (confirmation,) = inbox()
    assert _confirm(client, _link(confirmation)).status_code == 302
    again = client.get(_link(confirmation))
    assert again.status_code == 410
    assert "このリンクはすでに使われています" in text(again.text)


def test_an_expired_link_is_refused_and_a_new_one_works(app, client, inbox) -> None:
    account_id, _requests = _resident(app)
    login_as(client, account_id)
    _give(client, "hanako@example.jp")
    (first,) = inbox()
    with time_machine.travel(utcnow() + timedelta(hours=25)):
        login_as(client, account_id)  # a day later: a new sign-in
        expired = _confirm(client, _link(first))
        assert expired.status_code == 410
        assert "有効期限が切れています" in text(expired.text)
        assert _account(app, account_id).notification_email_confirmed_at is None

        assert _post_form(client, "/account/notifications/resend").status_code == 302
        first_again, second = inbox()
        assert _link(second) != _link(first)
        assert _confirm(client, _link(first)).status_code == 410  # replaced by the new one
        assert _confirm(client, _link(second)).status_code == 302
    assert _account(app, account_id).notification_email_confirmed_at is not None


def test_another_account_cannot_confirm_with_someone_elses_link(app, client, inbox) -> None:
    owner_id, _requests = _resident(app)
    other_id, _requests = _resident(app)
    login_as(client, owner_id)
    _give(client, "hanako@example.jp")
    (confirmation,) = inbox()
    link = _link(confirmation)

    login_as(client, other_id)
    assert client.get(link).status_code == 404
    page = client.get(PAGE).text  # any CSRF token of the other account's session
    assert client.post(link, data={"csrf_token": csrf_token(page)}).status_code == 404
    assert client.get(link[:-3] + "xyz").status_code == 404  # a forged token, too
    assert _account(app, owner_id).notification_email_confirmed_at is None
    assert _account(app, other_id).notification_email is None


def test_the_link_needs_a_sign_in_first(app, client, inbox) -> None:
    account_id, _requests = _resident(app)
    login_as(client, account_id)
    _give(client, "hanako@example.jp")
    (confirmation,) = inbox()
    anonymous = app.test_client()
    response = anonymous.get(_link(confirmation))
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_sign_in_with_the_providers_verified_email_offers_it(
    app, client, person, demo, signing_in
) -> None:
    """yamada-taro's provider vouches for his address: one click, no link needed."""
    assert person("yamada-taro").sign_in().response.status_code == 302
    page = text(client.get(PAGE).text)
    assert "サインインサービスが yamada.taro@example.jp を確認済みです" in page
    assert _post_form(client, "/account/notifications/provider-address").status_code == 302
    assert "通知は yamada.taro@example.jp にメールで送ります" in text(client.get(PAGE).text)
    assert signing_in() == []  # no confirmation link: the provider verified it


def test_an_unverified_provider_email_is_not_offered(app, client, person, demo, signing_in) -> None:
    """sato-hanako's provider sends an ``email`` without ``email_verified``: not offered."""
    assert person("sato-hanako").sign_in().response.status_code == 302
    page = client.get(PAGE).text
    assert "sato.hanako@example.jp" not in page
    assert "provider-address" not in page


def test_without_smtp_the_page_says_so(app, client) -> None:
    account_id, _requests = _resident(app)
    login_as(client, account_id)
    page = text(client.get(PAGE).text)
    assert "このポータルはメールを送信しません" in page
    # An address posted anyway is refused with the reason, not "sent", and not stored.
    token = csrf_token(client.get(PAGE).text)  # the header's sign-out form has one
    posted = client.post(
        "/account/notifications/address", data={"csrf_token": token, "email": "hanako@example.jp"}
    )
    assert posted.status_code == 422
    assert 'class="error-summary"' in posted.text
    assert "このポータルはメールを送信しません" in text(posted.text)
    assert _account(app, account_id).notification_email is None


def test_the_providers_address_typed_in_needs_no_link_and_is_then_not_offered(
    app, client, inbox
) -> None:
    account_id, _requests = _resident(app, identity={"email": "taro@example.jp"})
    login_as(client, account_id)
    page = client.get(PAGE).text
    assert 'value="taro@example.jp"' in page  # offered as the default, too
    assert _give(client, "taro@example.jp").status_code == 302
    assert inbox() == []
    page = client.get(PAGE).text
    assert "/account/notifications/provider-address" not in page
    assert _account(app, account_id).notification_email_confirmed_at is not None


def test_links_go_out_at_most_once_a_minute_and_the_page_says_so(app, client, inbox) -> None:
    """Neither "send again" nor another address can be used to flood an inbox."""
    account_id, _requests = _resident(app)
    login_as(client, account_id)
    _give(client, "hanako@example.jp")
    assert len(inbox()) == 1

    resent = _post_form(client, "/account/notifications/resend")
    assert resent.status_code == 302
    assert "秒後にもう一度お試しください" in text(client.get(resent.location).text)
    other = _give(client, "someone.else@example.jp")
    assert other.status_code == 429
    assert 'class="error-summary"' in other.text and 'id="email-error"' in other.text
    assert 'value="someone.else@example.jp"' in other.text  # what was typed is kept
    assert len(inbox()) == 1
    assert _account(app, account_id).notification_email == "hanako@example.jp"

    with time_machine.travel(utcnow() + timedelta(seconds=61)):
        login_as(client, account_id)
        assert _give(client, "someone.else@example.jp").status_code == 302
        assert len(inbox()) == 2
        assert _account(app, account_id).notification_email == "someone.else@example.jp"
