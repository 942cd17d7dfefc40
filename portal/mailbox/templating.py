"""The header's mailbox link with its unread count, for signed-in residents."""

from __future__ import annotations

from typing import Any

from flask import Flask, session
from flask_login import current_user

from portal.auth import sessions


def init_app(app: Flask) -> None:
    app.context_processor(_mailbox)


def _mailbox() -> dict[str, Any]:
    """A function, not a number: only a page that shows the header asks, and only for a
    resident (a staff sign-in has no mailbox link). The count is the one the mailbox's services
    keep on the sign-in session, read with it: no query."""

    def unread_messages() -> int | None:
        if not current_user.is_authenticated or session.get("staff"):
            return None
        row = sessions.current()
        return row.unread_messages if row is not None else None

    return {"unread_messages": unread_messages}
