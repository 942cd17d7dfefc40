"""The mailbox pages: the list, one message, and marking all read."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import access
from portal.mailbox import services
from portal.mailbox.queries import messages_of, unread_count
from portal.web.forms import ConfirmForm

bp = Blueprint("mailbox", __name__, url_prefix="/mailbox")


@bp.get("/")
@access.requires(access.SIGNED_IN)
def index() -> str:
    return render_template(
        "mailbox/index.html",
        messages=messages_of(current_user),
        unread=unread_count(current_user),
    )


@bp.get("/<int:message_id>")
@access.requires(access.MESSAGE_READER)
def show(message_id: int) -> str:
    """Opening a message marks it read, as a letter opened is (GOV.UK's notifications too)."""
    message = access.message_or_404(message_id)
    services.mark_read(message)
    return render_template("mailbox/message.html", message=message)


@bp.post("/read")
@access.requires(access.SIGNED_IN)
def mark_all_read() -> Response:
    if ConfirmForm().validate_on_submit() and services.mark_all_read(current_user):
        flash(_("All messages are marked as read."), "success")
    return redirect(url_for("mailbox.index"))
