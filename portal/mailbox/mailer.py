"""Sending a message by e-mail over SMTP, as the settings say (PORTAL_SMTP_*)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import current_app

from portal.i18n import force_locale
from portal.mailbox.models import Message

SMTP_TIMEOUT_SECONDS = 30


def compose(message: Message) -> EmailMessage:
    """The e-mail, in the resident's language, with a link to the message when the portal
    knows its public address."""
    config = current_app.config
    with force_locale(message.language):
        subject, body = message.subject, message.body
    if config["BASE_URL"]:
        body += f"\n\n{config['BASE_URL'].rstrip('/')}/mailbox/{message.id}"
    email = EmailMessage()
    email["From"] = config["MAIL_FROM"]
    email["To"] = message.email_to
    email["Subject"] = subject
    email["Date"] = format_datetime(message.created_at)
    domain = config["MAIL_FROM"].rpartition("@")[2] or "madoguchi.invalid"
    email["Message-ID"] = make_msgid(f"message-{message.id}", domain=domain)
    email.set_content(body)
    return email


def send(message: Message) -> None:
    """Hand the e-mail to the SMTP server; returns once it accepted it, raises otherwise."""
    config = current_app.config
    with smtplib.SMTP(
        config["SMTP_HOST"], config["SMTP_PORT"], timeout=SMTP_TIMEOUT_SECONDS
    ) as smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if config["SMTP_USERNAME"]:
            smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
        smtp.send_message(compose(message))
