"""Sign-in sessions, kept on the server: the browser holds only a random key to one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Account
from portal.db import db


class SignInSession(db.Model):
    """One signed-in browser: who, since when, last seen when, and what ends it at the provider.

    The cookie carries a random key; only its SHA-256 digest is stored, so a copy of this
    table cannot be replayed as cookies. Every process reads the same rows, and one account's
    rows are its devices. Nothing personal is here beyond the ID token, which the provider
    wants back when the resident signs out, and which goes with the row.
    """

    __tablename__ = "sign_in_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    #: Which provider signed this session in ("resident" or "staff"), to sign out there.
    audience: Mapped[str] = mapped_column(String(20))
    #: The ID token of the sign-in, sent back as ``id_token_hint`` when signing out.
    id_token: Mapped[str | None] = mapped_column(Text)
    #: The browser's own description, for a later list of the account's devices.
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    started_at: Mapped[datetime] = mapped_column(index=True)
    last_seen_at: Mapped[datetime]
    #: The account's unread messages, kept here by the mailbox's services so that the header
    #: of every page reads it with the session (already read per request), not by a count.
    unread_messages: Mapped[int] = mapped_column(default=0, server_default="0")

    account: Mapped[Account] = relationship()

    def __repr__(self) -> str:
        return f"<SignInSession {self.id} of account {self.account_id}>"
