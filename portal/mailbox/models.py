"""Messages: what a department told a resident, kept as a kind and its values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Account
from portal.db import db, text_enum, utcnow
from portal.i18n import current_language
from portal.japan.dates import format_resident_datetime
from portal.journey.models import Case, ProcedureRequest
from portal.mailbox.kinds import MessageKind


class _Values(dict[str, str]):
    """A message's values for its template: a value it lacks reads as empty, never fails."""

    def __missing__(self, key: str) -> str:
        return ""


class Message(db.Model):
    """One message in a resident's mailbox; also the e-mail outbox: ``email_to`` is where it
    is to be e-mailed, ``emailed_at`` when the SMTP server accepted it."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_account_unread", "account_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[MessageKind] = mapped_column(text_enum(MessageKind, 40))
    #: The template's values: text, or ``{"ja": ..., "en": ...}`` for names in both languages.
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The resident's language (their case's), for the e-mail.
    language: Mapped[str] = mapped_column(String(5), default="ja")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    email_to: Mapped[str | None] = mapped_column(String(254))
    emailed_at: Mapped[datetime | None]

    account: Mapped[Account] = relationship()
    case: Mapped[Case | None] = relationship()
    request: Mapped[ProcedureRequest | None] = relationship()

    @property
    def subject(self) -> str:
        return str(self.kind.subject) % self._values()

    @property
    def body(self) -> str:
        return str(self.kind.body) % self._values()

    def _values(self) -> _Values:
        """The values in the current language; ``when`` (ISO 8601) as the resident reads it."""
        values = _Values()
        for key, value in (self.params or {}).items():
            if isinstance(value, dict):
                value = value.get(current_language()) or value.get("ja") or ""
            elif key == "when" and isinstance(value, str):
                value = _moment(value)
            values[key] = str(value)
        return values

    def __repr__(self) -> str:
        return f"<Message {self.id} {self.kind}>"


def _moment(value: str) -> str:
    """An aware ISO 8601 time as the resident reads it; anything else as it was given."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return format_resident_datetime(moment) if moment.tzinfo else value
