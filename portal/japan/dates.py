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


WEEKDAYS_JA = "月火水木金土日"


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


def format_weekday_date(day: date) -> str:
    """A day with its weekday, for a counter's days: 2026年12月3日（木）, Thursday, December 3,
    2026."""
    if current_language() == "ja":
        return f"{day.year}年{day.month}月{day.day}日（{WEEKDAYS_JA[day.weekday()]}）"
    return format_date(day, format="full", locale=current_language())


def format_resident_time(moment: datetime) -> str:
    """The time of day in Japan, 09:30."""
    return f"{in_japan(moment):%H:%M}"


def format_resident_datetime(moment: datetime) -> str:
    """A timestamp in Japan's time, as the resident reads it."""
    day = in_japan(moment).date()
    if current_language() == "ja":
        return f"{format_resident_date(day)} {format_resident_time(moment)}"
    long_date = format_date(day, format="long", locale=current_language())
    return f"{long_date} {format_resident_time(moment)}"
