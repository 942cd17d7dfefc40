"""Deadlines end where the law says, and move off the days the counters are closed."""

from __future__ import annotations

from datetime import date, timedelta

import jpholiday
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.japan.deadlines import (
    business_days_left,
    deadline,
    is_administrative_holiday,
    last_day,
    next_business_day,
)

DAYS = st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31))


@pytest.mark.parametrize(
    ("day", "holiday"),
    [
        (date(2026, 4, 14), False),  # an ordinary Tuesday
        (date(2026, 4, 18), True),  # Saturday
        (date(2026, 4, 19), True),  # Sunday
        (date(2026, 1, 12), True),  # 成人の日
        (date(2026, 5, 6), True),  # 振替休日 for 憲法記念日 on a Sunday
        (date(2025, 11, 24), True),  # 振替休日 for 勤労感謝の日
        (date(2026, 9, 22), True),  # 国民の休日, between 敬老の日 and 秋分の日
        (date(2025, 12, 26), False),  # Friday: the year's last working day
        (date(2026, 12, 28), False),  # Monday: still open
        (date(2026, 12, 29), True),  # 年末年始, on a weekday
        (date(2026, 12, 31), True),
        (date(2027, 1, 2), True),
        (date(2025, 1, 3), True),  # a Friday, closed all the same
        (date(2027, 1, 4), False),  # Monday: open again
    ],
)
def test_is_administrative_holiday(day: date, holiday: bool) -> None:
    assert is_administrative_holiday(day) is holiday


def test_jpholiday_knows_golden_week_2026() -> None:
    """Sunday 3 May moves 憲法記念日's day off to Wednesday 6 May."""
    assert [jpholiday.is_holiday(date(2026, 5, d)) for d in range(1, 8)] == [
        False,
        False,
        True,
        True,
        True,
        True,
        False,
    ]


@pytest.mark.parametrize(
    ("day", "moved_to"),
    [
        (date(2026, 4, 14), date(2026, 4, 14)),  # an ordinary Tuesday stays
        (date(2026, 1, 3), date(2026, 1, 5)),  # Saturday 3 January: Monday 5 January
        (date(2025, 12, 29), date(2026, 1, 5)),  # the whole 年末年始 and a weekend
        (date(2026, 5, 2), date(2026, 5, 7)),  # Golden Week 2026: Saturday to Thursday
        (date(2026, 5, 6), date(2026, 5, 7)),  # the substitute holiday
        (date(2025, 11, 24), date(2025, 11, 25)),  # 振替休日 on a Monday
        (date(2026, 9, 19), date(2026, 9, 24)),  # Silver Week: weekend and three holidays
        (date(2026, 12, 26), date(2026, 12, 28)),  # Monday 28 December is still open
        (date(2026, 12, 29), date(2027, 1, 4)),
    ],
)
def test_next_business_day(day: date, moved_to: date) -> None:
    assert next_business_day(day) == moved_to


@pytest.mark.parametrize(
    ("base", "days", "count_first_day", "last"),
    [
        # 住民基本台帳法: "within 14 days" of moving in, the first day not counted (民法 140条)
        (date(2026, 4, 1), 14, False, date(2026, 4, 15)),
        # 戸籍法: a birth within 14 days counting the day of birth (戸籍法 43条)
        (date(2026, 4, 1), 14, True, date(2026, 4, 14)),
        # 戸籍法: a death within 7 days of learning of it, that day counted
        (date(2026, 4, 1), 7, True, date(2026, 4, 7)),
        (date(2026, 4, 1), 1, True, date(2026, 4, 1)),
        (date(2026, 4, 1), 1, False, date(2026, 4, 2)),
        (date(2026, 4, 1), 0, True, date(2026, 4, 1)),
        (date(2026, 4, 1), 0, False, date(2026, 4, 1)),
        (date(2026, 12, 25), 14, False, date(2027, 1, 8)),
    ],
)
def test_last_day(base: date, days: int, count_first_day: bool, last: date) -> None:
    assert last_day(base, days, count_first_day=count_first_day) == last


def test_a_period_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        last_day(date(2026, 4, 1), -1, count_first_day=False)


@pytest.mark.parametrize(
    ("base", "days", "count_first_day", "expected"),
    [
        (date(2026, 4, 1), 14, False, date(2026, 4, 15)),  # a Wednesday: stays
        (date(2026, 4, 1), 14, True, date(2026, 4, 14)),  # a Tuesday: stays
        # born Monday 20 April 2026: the 14th day is Sunday 3 May, Golden Week moves it to 7 May
        (date(2026, 4, 20), 14, True, date(2026, 5, 7)),
        # moved in on 15 December 2025: 29 December, the counters close until 5 January
        (date(2025, 12, 15), 14, False, date(2026, 1, 5)),
        (date(2026, 3, 20), 0, True, date(2026, 3, 23)),  # 春分の日, a Friday
    ],
)
def test_deadline(base: date, days: int, count_first_day: bool, expected: date) -> None:
    assert deadline(base, days, count_first_day=count_first_day) == expected


@pytest.mark.parametrize(
    ("until", "today", "left"),
    [
        (date(2026, 4, 15), date(2026, 4, 15), 1),  # the last day, and the counter is open
        (date(2026, 4, 15), date(2026, 4, 16), 0),
        (date(2026, 4, 17), date(2026, 4, 13), 5),  # Monday to Friday
        (date(2026, 4, 20), date(2026, 4, 17), 2),  # Friday, the weekend, Monday
        (date(2026, 5, 7), date(2026, 4, 30), 3),  # 30 April, 1 May, 7 May
    ],
)
def test_business_days_left(until: date, today: date, left: int) -> None:
    assert business_days_left(until, today) == left


@settings(database=None)
@given(DAYS)
def test_next_business_day_is_open_and_soon(day: date) -> None:
    moved = next_business_day(day)
    assert not is_administrative_holiday(moved)
    assert day <= moved <= day + timedelta(days=10)
    assert all(
        is_administrative_holiday(day + timedelta(days=n)) for n in range((moved - day).days)
    )


@settings(database=None)
@given(DAYS, st.integers(0, 400), st.booleans())
def test_deadline_is_never_before_the_last_day(base: date, days: int, count_first: bool) -> None:
    last = last_day(base, days, count_first_day=count_first)
    assert base <= last
    assert last <= deadline(base, days, count_first_day=count_first) == next_business_day(last)
