"""Reading the mailbox: a resident's messages, and the unread count the header shows."""

from __future__ import annotations

from sqlalchemy import func, select

from portal import access
from portal.accounts.models import Account
from portal.db import db
from portal.mailbox.models import Message

#: The list shows the newest messages; older ones stay (and count) but are not listed.
LISTED = 200


def messages_of(account: Account) -> list[Message]:
    query = access.own_messages(account).order_by(Message.created_at.desc(), Message.id.desc())
    return list(db.session.scalars(query.limit(LISTED)))


def unread_count(account: Account) -> int:
    """One indexed count (account_id, read_at)."""
    query = select(func.count()).select_from(
        access.own_messages(account).where(Message.read_at.is_(None)).subquery()
    )
    return int(db.session.scalar(query) or 0)
