"""``flask --app portal mailbox send``: e-mail what is still unsent."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from portal.mailbox import tasks
from portal.transactions import unit_of_work

mailbox_cli = AppGroup("mailbox", help="The residents' mailbox and its e-mails.")


@mailbox_cli.command("send")
def send_command() -> None:
    """E-mail every message not yet accepted by the SMTP server (after it was down), each as
    a unit of work of its own; nothing is sent twice."""
    if not current_app.config["SMTP_HOST"]:
        raise click.UsageError("set PORTAL_SMTP_HOST to send e-mail")
    with unit_of_work():
        pending = tasks.unsent()
    failed = 0
    for message_id in pending:
        try:
            with unit_of_work():
                tasks.send_email(message_id)
        except Exception as error:  # noqa: BLE001 - reported, and the next one is tried
            failed += 1
            click.echo(f"message {message_id}: not sent ({error})", err=True)
    click.echo(f"{len(pending) - failed} sent, {failed} not sent")
    if failed:
        raise SystemExit(1)
