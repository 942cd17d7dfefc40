"""The mailbox's background work: e-mailing a message."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from portal import jobs
from portal.db import db, utcnow
from portal.mailbox import mailer
from portal.mailbox.models import Message
from portal.mailbox.services import SEND_EMAIL_TASK


@jobs.task(name=SEND_EMAIL_TASK)
def send_email(message_id: int) -> None:
    """E-mail the message once: the row is locked while sending, and a message already
    e-mailed is not sent again. SMTP down raises, and the job is tried again later."""
    message = db.session.scalar(select(Message).where(Message.id == message_id).with_for_update())
    if message is None or not message.email_to or message.emailed_at is not None:
        return
    if not current_app.config["SMTP_HOST"]:
        return  # e-mail turned off since: the message stays in the mailbox
    mailer.send(message)
    message.emailed_at = utcnow()
    db.session.flush()


def unsent() -> list[int]:
    """Messages still to be e-mailed, oldest first."""
    query = select(Message.id).where(Message.email_to.is_not(None), Message.emailed_at.is_(None))
    return list(db.session.scalars(query.order_by(Message.id)))
