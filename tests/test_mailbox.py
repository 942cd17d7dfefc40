"""The resident's mailbox: messages from departments, read in the reader's language, also
e-mailed (in the resident's language) when they confirmed an address and the portal has SMTP.
Giving and confirming the address: tests/test_notifications.py."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from portal.accounts.models import Account
from portal.extensions import db
from portal.mailbox import mailer
from portal.mailbox import services as mailbox
from portal.mailbox.kinds import MessageKind
from portal.mailbox.models import Message
from portal.transactions import unit_of_work
from tests.conftest import TEST_DATABASE_URL
from tests.factories import AccountFactory, CaseFactory, MessageFactory, RoleFactory
from tests.support.html import forms
from tests.support.mail import SmtpSink
from tests.support.people import csrf_token, login_as

EMAIL = "taro@example.jp"


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture
def mail_on(app: Flask, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> SmtpSink:
    for key, value in {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp.port,
        "SMTP_STARTTLS": False,
        "MAIL_FROM": "noreply@city.example.jp",
        "BASE_URL": "https://portal.city.example.jp",
    }.items():
        monkeypatch.setitem(app.config, key, value)
    return smtp


def _resident(app: Flask, *, language: str = "ja", email: str | None = EMAIL) -> tuple[int, int]:
    """A resident with a filed move-out; (account id, request id)."""
    with app.app_context():
        account = AccountFactory(notified_at=email)
        case = CaseFactory(account=account, filed=True, forms=["mic.tenshutsu"], language=language)
        db.session.commit()
        return account.id, case.requests[0].id


def _post(app: Flask, account_id: int, request_id: int, kind: MessageKind, **params: str) -> int:
    from portal.journey.models import ProcedureRequest

    with app.app_context(), unit_of_work():
        account = db.session.get(Account, account_id)
        request = db.session.get(ProcedureRequest, request_id)
        return mailbox.post(account, kind, request=request, params=params).id


def test_the_mailbox_lists_messages_with_the_unread_count(app, client) -> None:
    account_id, request_id = _resident(app)
    _post(app, account_id, request_id, MessageKind.APPROVED)
    rejected = _post(app, account_id, request_id, MessageKind.REJECTED, reason="写しが不鮮明です")
    login_as(client, account_id)
    page = client.get("/mailbox/").text
    assert "未読のお知らせが2件あります" in page
    assert "受理しました：転出届" in page and "受理できませんでした：転出届" in page
    assert "お知らせ（未読 2件）" in client.get("/").text  # the header, on every page

    message = client.get(f"/mailbox/{rejected}").text
    assert "理由：写しが不鮮明です" in message
    assert "受付番号" in message
    assert "未読のお知らせが1件あります" in client.get("/mailbox/").text


def test_a_message_reads_in_the_readers_language(app, client) -> None:
    account_id, request_id = _resident(app, language="ja")
    message_id = _post(app, account_id, request_id, MessageKind.CORRECTION_ASKED, reason="x")
    login_as(client, account_id)
    client.set_cookie("madoguchi_lang", "en")
    page = client.get(f"/mailbox/{message_id}").text
    assert "A correction is needed:" in page
    assert "asks you to correct your" in page


def test_mark_all_read_is_a_post_with_csrf(app, client) -> None:
    account_id, request_id = _resident(app)
    _post(app, account_id, request_id, MessageKind.APPROVED)
    _post(app, account_id, request_id, MessageKind.HANDED_OVER)
    login_as(client, account_id)
    page = client.get("/mailbox/").text
    assert client.post("/mailbox/read").status_code == 400  # no CSRF token: nothing changes
    assert "未読のお知らせが2件あります" in client.get("/mailbox/").text
    (form,) = [f for f in forms(page) if f.action.endswith("/mailbox/read")]
    response = client.post(form.action, data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    page = client.get("/mailbox/").text
    assert "未読のお知らせはありません" in page
    assert "すべてのお知らせを既読にしました。" in page


def test_staff_and_other_residents_never_read_a_residents_message(app, client) -> None:
    with app.app_context():
        message = MessageFactory()
        clerk = RoleFactory().account
        db.session.commit()
        message_id, clerk_id = message.id, clerk.id
    login_as(client, clerk_id)
    assert client.get(f"/mailbox/{message_id}").status_code == 404
    with app.app_context():
        assert db.session.get(Message, message_id).read_at is None


def test_the_header_counts_no_messages(app, client) -> None:
    """However many messages: the header's count comes with the sign-in session, which every
    request reads anyway; no page queries the messages for it."""
    from sqlalchemy import event

    account_id, _request_id = _resident(app)
    with app.app_context():
        account = db.session.get(Account, account_id)
        for _ in range(30):
            MessageFactory(account=account)
        db.session.commit()
    login_as(client, account_id)  # a sign-in counts what is already there
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        if re.search(r"\bmessages\b", statement):  # the table, not the session's column
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert "お知らせ（未読 30件）" in client.get("/").text
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements == []


def _header_count(client) -> int:  # noqa: ANN001
    """The unread count the header of the dashboard shows (0 when it shows none)."""
    page = client.get("/").text
    assert "お知らせ" in page
    found = re.search(r"お知らせ（未読 (\d+)件）", page)
    return int(found.group(1)) if found else 0


def test_the_header_count_follows_every_change_on_every_device(app, client) -> None:
    """Posted outside a request (as a job or a CLI command does), read on one device, marked
    all read on the other: both devices' headers show the count the mailbox has."""
    account_id, request_id = _resident(app)
    other_device = app.test_client()
    login_as(client, account_id)
    login_as(other_device, account_id)
    assert _header_count(client) == _header_count(other_device) == 0

    first = _post(app, account_id, request_id, MessageKind.APPROVED)
    _post(app, account_id, request_id, MessageKind.HANDED_OVER)
    assert _header_count(client) == _header_count(other_device) == 2

    client.get(f"/mailbox/{first}")
    client.get(f"/mailbox/{first}")  # opened again: it was read once
    other_device.get(f"/mailbox/{first}")
    assert _header_count(client) == _header_count(other_device) == 1

    page = other_device.get("/mailbox/").text
    (form,) = [f for f in forms(page) if f.action.endswith("/mailbox/read")]
    assert other_device.post(form.action, data={"csrf_token": csrf_token(page)}).status_code == 302
    assert _header_count(client) == _header_count(other_device) == 0
    assert other_device.post(form.action, data={"csrf_token": csrf_token(page)}).status_code == 302
    assert _header_count(client) == 0  # nothing left to mark: never below zero

    _post(app, account_id, request_id, MessageKind.REJECTED, reason="x")
    assert _header_count(client) == _header_count(other_device) == 1
    login_as(app.test_client(), account_id)  # a third sign-in starts from the mailbox's count
    with app.app_context():
        from portal.auth.models import SignInSession

        counts = db.session.scalars(
            select(SignInSession.unread_messages).where(SignInSession.account_id == account_id)
        ).all()
    assert counts == [1, 1, 1]


def test_another_accounts_message_leaves_the_count_alone(app, client) -> None:
    account_id, _request_id = _resident(app)
    other_id, other_request_id = _resident(app)
    login_as(client, account_id)
    _post(app, other_id, other_request_id, MessageKind.APPROVED)
    assert _header_count(client) == 0


def test_the_email_says_only_that_there_is_a_message_with_a_link(app, mail_on) -> None:
    """In the resident's language; the message's contents (procedure, department, receipt
    number, the clerk's reason) stay in the portal, behind the sign-in."""
    mail_on.start()
    account_id, request_id = _resident(app, language="en")
    message_id = _post(app, account_id, request_id, MessageKind.REJECTED, reason="blurred")
    if TEST_DATABASE_URL:
        pytest.skip("on PostgreSQL a worker sends it: tests/test_jobs.py")
    (mail,) = mail_on.received
    assert mail["To"] == EMAIL and mail["From"] == "noreply@city.example.jp"
    assert mail["Subject"] == "You have a new message"
    body = mail.get_content()
    assert "There is a new message in your mailbox" in body
    assert f"https://portal.city.example.jp/mailbox/{message_id}" in body
    with app.app_context():
        message = db.session.get(Message, message_id)
        receipt = message.case.receipt_number
    for private in ("blurred", receipt, "Moving-out", "転出"):
        assert private not in body and private not in mail["Subject"]


def test_a_job_links_to_the_message_where_production_trusts_only_its_own_host(
    app, mail_on, monkeypatch
) -> None:
    """Production answers only requests for ``BASE_URL``'s host; a job has no request, and the
    e-mail still links to the message."""
    account_id, request_id = _resident(app)
    message_id = _post(app, account_id, request_id, MessageKind.APPROVED)
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", ["portal.city.example.jp"])
    with app.app_context():
        mail = mailer.compose(db.session.get(Message, message_id))
    assert f"https://portal.city.example.jp/mailbox/{message_id}" in mail.get_content()


def test_no_smtp_host_no_email(app, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "SMTP_HOST", "")
    account_id, request_id = _resident(app)
    message_id = _post(app, account_id, request_id, MessageKind.APPROVED)
    with app.app_context():
        assert db.session.get(Message, message_id).email_to is None


@pytest.mark.parametrize(
    "address",
    [
        {},
        {"identity": {"email": EMAIL}},  # the provider's, never taken on the resident's behalf
        {"notification_email": EMAIL, "email_notifications": True},  # not confirmed yet
        {"notified_at": EMAIL, "email_notifications": False},  # turned off
    ],
    ids=["none", "provider-only", "unconfirmed", "off"],
)
def test_no_confirmed_address_turned_on_no_email(app, mail_on, address) -> None:
    mail_on.start()
    with app.app_context():
        account = AccountFactory(**address)
        case = CaseFactory(account=account, filed=True, forms=["mic.tenshutsu"])
        db.session.commit()
        account_id, request_id = account.id, case.requests[0].id
    message_id = _post(app, account_id, request_id, MessageKind.APPROVED)
    with app.app_context():
        assert db.session.get(Message, message_id).email_to is None
    assert mail_on.received == []


@pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="on PostgreSQL: tests/test_jobs.py")
def test_smtp_down_means_delivered_later_and_never_twice(app, runner, mail_on) -> None:
    account_id, request_id = _resident(app)
    message_id = _post(app, account_id, request_id, MessageKind.APPROVED)  # SMTP down
    with app.app_context():
        assert db.session.get(Message, message_id).emailed_at is None
    mail_on.start()
    result = runner.invoke(args=["mailbox", "send"])
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 not sent" in result.output
    assert runner.invoke(args=["mailbox", "send"]).output.startswith("0 sent")
    assert len(mail_on.received) == 1
    with app.app_context():
        assert db.session.scalar(select(Message.emailed_at)) is not None
