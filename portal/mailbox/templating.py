"""The header's mailbox link with its unread count, for signed-in residents."""

from __future__ import annotations

from typing import Any

from flask import Flask, session
from flask_login import current_user

from portal.mailbox.queries import unread_count


def init_app(app: Flask) -> None:
    app.context_processor(_mailbox)


def _mailbox() -> dict[str, Any]:
    """A function, not a number: the count is queried only by a page that shows the header,
    and only for a resident (a staff sign-in has no mailbox link)."""

    def unread_messages() -> int | None:
        if not current_user.is_authenticated or session.get("staff"):
            return None
        return unread_count(current_user)

    return {"unread_messages": unread_messages}
