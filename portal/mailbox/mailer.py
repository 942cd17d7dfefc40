"""Sending e-mail over SMTP, as the settings say (PORTAL_SMTP_*).

What an e-mail says, for privacy: only that there is a new message in the portal's mailbox,
with a link to it. The message itself (the procedure, the department, the receipt number, a
clerk's reason) is read in the portal after signing in; a mailbox or a mail server on the way
never holds more than "there is a message".
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import current_app, has_request_context
from flask_babel import gettext as _

from portal.i18n import force_locale
from portal.mailbox.models import Message
from portal.web.security import external_url

SMTP_TIMEOUT_SECONDS = 30


def public_url(endpoint: str, **values: object) -> str | None:
    """:func:`~portal.web.security.external_url`, also from a job, outside any request:
    None when no address is known (a worker without ``BASE_URL``)."""
    if not has_request_context() and not current_app.config["BASE_URL"]:
        return None
    return external_url(endpoint, **values)


def compose(message: Message) -> EmailMessage:
    """The e-mail for a message, in the resident's language: that there is one, and where."""
    with force_locale(message.language):
        subject = _("You have a new message")
        body = _("There is a new message in your mailbox on the portal. Sign in to read it.")
    if link := public_url("mailbox.show", message_id=message.id):
        body += f"\n\n{link}"
    return _email(
        message.email_to or "", subject, body, message.created_at, f"message-{message.id}"
    )


def compose_confirmation(to: str, link: str, language: str, sent_at: datetime) -> EmailMessage:
    """The e-mail that asks to confirm an address for notifications."""
    with force_locale(language):
        subject = _("Confirm your e-mail address")
        body = _(
            "Open this link to confirm that the portal may tell you at this address when "
            "there is a new message in your mailbox. The link works once, for 24 hours. If "
            "you did not ask for this, ignore this e-mail."
        )
    return _email(to, subject, f"{body}\n\n{link}", sent_at, "confirm-email")


def _email(to: str, subject: str, body: str, sent_at: datetime, id_part: str) -> EmailMessage:
    config = current_app.config
    email = EmailMessage()
    email["From"] = config["MAIL_FROM"]
    email["To"] = to
    email["Subject"] = subject
    email["Date"] = format_datetime(sent_at)
    domain = config["MAIL_FROM"].rpartition("@")[2] or "madoguchi.invalid"
    email["Message-ID"] = make_msgid(id_part, domain=domain)
    email.set_content(body)
    return email


def send(message: Message) -> None:
    """E-mail a mailbox message; returns once the server accepted it, raises otherwise."""
    deliver(compose(message))


def deliver(email: EmailMessage) -> None:
    """Hand the e-mail to the SMTP server; returns once it accepted it, raises otherwise."""
    config = current_app.config
    with smtplib.SMTP(
        config["SMTP_HOST"], config["SMTP_PORT"], timeout=SMTP_TIMEOUT_SECONDS
    ) as smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if config["SMTP_USERNAME"]:
            smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
        smtp.send_message(email)
