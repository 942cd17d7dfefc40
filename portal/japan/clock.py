"""Now and today, in one place: instants are kept in UTC, days are counted in Japan.

The server may well run on UTC, but residents and clerks live on Japan Standard Time: a date
a person reads (a receipt number, a deadline, "today or in the past") is the date in Japan.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Final

#: Japan Standard Time. Japan has no daylight saving time, so a fixed offset needs no time
#: zone database.
JAPAN: Final = timezone(timedelta(hours=9), "JST")
#: Its IANA name, for libraries that want one (Flask-Babel's default time zone).
JAPAN_ZONE_NAME: Final = "Asia/Tokyo"


def utcnow() -> datetime:
    """The current instant, aware, in UTC: what timestamps store."""
    return datetime.now(UTC)


def now_in_japan() -> datetime:
    return utcnow().astimezone(JAPAN)


def today_in_japan() -> date:
    """Today's date at the counter, whatever the server's own time zone."""
    return now_in_japan().date()


def in_japan(moment: datetime) -> datetime:
    """An aware instant as the wall-clock time in Japan."""
    return moment.astimezone(JAPAN)
