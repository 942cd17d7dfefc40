"""Every change to the mailbox: posting a message (and its e-mail), reading it.

Each change also moves the unread count kept on the account's sign-in sessions (the header's),
by how many messages it made unread or read, never by a count read earlier: two changes at
once (a clerk's message while the resident marks all read) then add up right.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import case as sql_case
from sqlalchemy import update

from portal import jobs
from portal.accounts.models import Account
from portal.auth.models import SignInSession
from portal.db import db, utcnow
from portal.i18n import DEFAULT_LANGUAGE
from portal.journey.models import Case, ProcedureRequest
from portal.mailbox.kinds import MessageKind
from portal.mailbox.models import Message
from portal.notifications import services as notifications

SEND_EMAIL_TASK = "mailbox.send_email"


def post(
    account: Account,
    kind: MessageKind,
    *,
    case: Case | None = None,
    request: ProcedureRequest | None = None,
    params: dict[str, Any] | None = None,
) -> Message:
    """Put a message in ``account``'s mailbox and, when they confirmed an e-mail address for
    notifications and the portal has an SMTP server, defer its e-mail in the same
    transaction. Flushes only.

    The procedure, department, municipality and receipt number come from the request and
    case; ``params`` adds the rest (``reason``, ``when``) and wins.
    """
    case = case or (request.case if request is not None else None)
    message = Message(
        account=account,
        case=case,
        request=request,
        kind=kind,
        params={**_context(case, request), **(params or {})},
        language=case.language if case is not None else DEFAULT_LANGUAGE,
        email_to=email_address(account) if current_app.config["SMTP_HOST"] else None,
    )
    db.session.add(message)
    db.session.flush()
    _count_unread(account.id, +1)
    if message.email_to:
        jobs.defer(SEND_EMAIL_TASK, message_id=message.id)
    return message


def _context(case: Case | None, request: ProcedureRequest | None) -> dict[str, Any]:
    """Names in both languages, so that the message reads right in either."""
    values: dict[str, Any] = {}
    if case is not None and case.receipt_number:
        values["receipt"] = case.receipt_number
    if request is not None:
        title = request.form_definition.title
        values["procedure"] = {"ja": title.ja, "en": title.en}
        values["municipality"] = request.municipality.names
        if request.department is not None:
            values["department"] = {
                "ja": request.department.name_ja,
                "en": request.department.name_en,
            }
    return values


def email_address(account: Account) -> str | None:
    """Where the resident is e-mailed: the address they confirmed, while notifications are
    on (see portal/notifications); none otherwise."""
    return notifications.email_address(account)


def mark_read(message: Message) -> None:
    """Read once: the statement reads the row as it is now, so two devices opening the same
    message at once count it read once."""
    if message.read_at is not None:
        return
    result = db.session.execute(
        update(Message)
        .where(Message.id == message.id, Message.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount:  # type: ignore[attr-defined]
        _count_unread(message.account_id, -1)


def mark_all_read(account: Account) -> int:
    """Every unread message of the account, read now; how many."""
    result = db.session.execute(
        update(Message)
        .where(Message.account_id == account.id, Message.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    marked = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if marked:
        _count_unread(account.id, -marked)
    return marked


def _count_unread(account_id: int, change: int) -> None:
    """Move the unread count of every sign-in session of the account (every device) by
    ``change``, in the database and in this request's own session row; never below zero."""
    moved = SignInSession.unread_messages + change
    db.session.execute(
        update(SignInSession)
        .where(SignInSession.account_id == account_id)
        .values(unread_messages=sql_case((moved > 0, moved), else_=0))
        .execution_options(synchronize_session="fetch")
    )
