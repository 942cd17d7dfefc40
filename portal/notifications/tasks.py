"""The notifications' background work: e-mailing a confirmation link."""

from __future__ import annotations

from flask import current_app

from portal import jobs
from portal.accounts.models import Account
from portal.db import db
from portal.i18n import DEFAULT_LANGUAGE
from portal.mailbox import mailer
from portal.notifications import tokens
from portal.notifications.services import SEND_CONFIRMATION_TASK, latest_link


@jobs.task(name=SEND_CONFIRMATION_TASK)
def send_confirmation(account_id: int, language: str = DEFAULT_LANGUAGE) -> None:
    """E-mail the latest link for the account's pending address; nothing when it was
    confirmed or changed since, or when the portal sends no e-mail. The token is made here
    from the account's row, so the job's arguments hold nothing a link could be made from."""
    account = db.session.get(Account, account_id)
    if account is None or account.notification_email_confirmed_at is not None:
        return
    claim = latest_link(account)
    if claim is None or not current_app.config["SMTP_HOST"]:
        return
    link = mailer.public_url("notifications.confirm", token=tokens.make(claim))
    if link is None:
        current_app.logger.error("no PORTAL_BASE_URL: cannot link to the confirmation page")
        return
    sent_at = account.notification_email_requested_at
    assert sent_at is not None  # set with the nonce
    mailer.deliver(mailer.compose_confirmation(claim.email, link, language, sent_at))
