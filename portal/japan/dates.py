"""Dates as residents read them: the Western date, and in Japanese also the era (和暦).

In the current language (:func:`portal.i18n.current_language`), so also outside a request;
times in Japan's time (:mod:`portal.japan.clock`), whatever the server's time zone.
"""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date

from portal.i18n import current_language
from portal.japan.clock import in_japan

#: Eras since the Gregorian calendar was adopted (1873), newest first, with their first day.
ERAS = (
    ("令和", date(2019, 5, 1)),
    ("平成", date(1989, 1, 8)),
    ("昭和", date(1926, 12, 25)),
    ("大正", date(1912, 7, 30)),
    ("明治", date(1868, 1, 25)),
)


def japanese_era(day: date) -> str:
    """令和7年1月2日; the first year of an era is written 元年."""
    for name, first_day in ERAS:
        if day >= first_day:
            year = day.year - first_day.year + 1
            year_text = "元" if year == 1 else str(year)
            return f"{name}{year_text}年{day.month}月{day.day}日"
    raise ValueError(f"{day} is before the Meiji era")


def format_resident_date(day: date) -> str:
    """In Japanese, the Western date followed by the era; in English, the long Western date."""
    if current_language() == "ja":
        return f"{day.year}年{day.month}月{day.day}日（{japanese_era(day)}）"
    return format_date(day, format="long", locale=current_language())


def format_iso_date(value: str) -> str:
    """For ISO dates kept as text, such as the ``birthdate`` claim; shows bad input unchanged."""
    try:
        return format_resident_date(date.fromisoformat(value))
    except ValueError:
        return value


def format_resident_datetime(moment: datetime) -> str:
    """A timestamp in Japan's time, as the resident reads it."""
    local = in_japan(moment)
    if current_language() == "ja":
        return f"{format_resident_date(local.date())} {local:%H:%M}"
    return f"{format_date(local.date(), format='long', locale=current_language())} {local:%H:%M}"
