"""Now and today, in one place: instants are kept in UTC, days are counted in Japan.

The server may well run on UTC, but residents and clerks live on Japan Standard Time: a date
a person reads (a receipt number, a deadline, "today or in the past") is the date in Japan.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Final

#: Japan Standard Time. Japan has no daylight saving time, so a fixed offset needs no time
#: zone database.
JAPAN: Final = timezone(timedelta(hours=9), "JST")
#: Its IANA name, for libraries that want one (Flask-Babel's default time zone).
JAPAN_ZONE_NAME: Final = "Asia/Tokyo"

#: The instant the clock reads inside :func:`as_of`; None: the real time.
_set_instant: ContextVar[datetime | None] = ContextVar("set_instant", default=None)


def utcnow() -> datetime:
    """The current instant, aware, in UTC: what timestamps store."""
    instant = _set_instant.get()
    return datetime.now(UTC) if instant is None else instant


@contextmanager
def as_of(moment: datetime) -> Iterator[None]:
    """Read ``moment`` (aware) as now inside the block: for demo data filed over past weeks,
    so that receipt numbers, deadlines and every timestamp are what filing then gave."""
    if moment.tzinfo is None:
        raise ValueError("as_of needs an aware datetime")
    token = _set_instant.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _set_instant.reset(token)


def now_in_japan() -> datetime:
    return utcnow().astimezone(JAPAN)


def today_in_japan() -> date:
    """Today's date at the counter, whatever the server's own time zone."""
    return now_in_japan().date()


def in_japan(moment: datetime) -> datetime:
    """An aware instant as the wall-clock time in Japan."""
    return moment.astimezone(JAPAN)
