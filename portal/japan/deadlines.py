"""Legal deadlines for notifications, moved off the days the counters are closed.

行政機関の休日に関する法律 第1条 names the closed days (Saturdays, Sundays, national holidays
and 29 December to 3 January) and 第2条 moves a deadline that falls on one of them to the next
day that is not. For a municipality's own counter, 地方自治法 第4条の2 does the same with the
days in its holiday ordinance (休日条例), which in practice are these same days.

Counting follows the law that sets the period: 民法 第140条 leaves out the first day (the
default, used by 住民基本台帳法), while 戸籍法 第43条 counts it.
"""

from __future__ import annotations

from datetime import date, timedelta

import jpholiday

_ONE_DAY = timedelta(days=1)


def is_administrative_holiday(day: date) -> bool:
    """Whether government counters are closed that day, by 行政機関の休日に関する法律 第1条.

    National holidays come from jpholiday, which includes substitute holidays (振替休日) and
    the 国民の休日 between two holidays.
    """
    if day.weekday() >= 5:
        return True
    if (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3):
        return True
    return jpholiday.is_holiday(day)


def next_business_day(day: date) -> date:
    """``day`` itself when counters are open, else the first following day that they are."""
    while is_administrative_holiday(day):
        day += _ONE_DAY
    return day


def last_day(base: date, days: int, *, count_first_day: bool) -> date:
    """The last day of a period of ``days`` from ``base``, before moving it off a holiday.

    Without ``count_first_day`` (民法 第140条) the period starts the next day: "within 14 days"
    of moving on 1 April ends on 15 April. With it (戸籍法 第43条) ``base`` is day 1: a birth on
    1 April must be notified by 14 April. A period of 0 days ends on ``base`` either way.
    """
    if days < 0:
        raise ValueError(f"a period cannot be negative: {days} days")
    if count_first_day:
        return base + timedelta(days=max(days - 1, 0))
    return base + timedelta(days=days)


def deadline(base: date, days: int, *, count_first_day: bool) -> date:
    """The day by which the notification must reach the counter: the last day, moved forward
    off a closed day (行政機関の休日に関する法律 第2条)."""
    return next_business_day(last_day(base, days, count_first_day=count_first_day))


def business_days_left(until: date, today: date) -> int:
    """Days the counter is open from ``today`` to ``until``, both included: 0 once it passed.

    On the deadline itself, if the counter is open, 1 is left: today is the last chance.
    """
    count = 0
    day = today
    while day <= until:
        if not is_administrative_holiday(day):
            count += 1
        day += _ONE_DAY
    return count
