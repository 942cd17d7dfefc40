"""The resident's booking form: choose a time."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField


class VisitForm(FlaskForm):
    """The chosen slot, as its start in UTC; the service decides whether it can be booked."""

    slot = StringField(_l("Time of your visit"))

    def slot_start(self) -> datetime | None:
        """The chosen start as an aware instant, or None for anything that is not one."""
        value = (self.slot.data or "").strip()
        if not value or len(value) > 40:
            return None
        try:
            start = datetime.fromisoformat(value)
            if start.tzinfo is None or not 2000 <= start.year <= 2100:
                return None
            return start.astimezone(UTC)
        except (ValueError, OverflowError):
            return None
