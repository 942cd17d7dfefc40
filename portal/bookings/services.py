"""Every change to counter bookings, and the slots a department offers.

``book`` is the one function where a visit is booked, ``move`` where it changes time and
``cancel`` where it is cancelled: each tells the resident in their mailbox. They only flush;
the request or ``unit_of_work`` commits.

No slot is ever overbooked: a booking raises its slot's ``SlotCount`` row with one UPDATE
that only matches while ``booked < capacity``. On PostgreSQL concurrent bookings of a slot
queue on that row, and each re-reads the count the one before committed; on SQLite writers
are serialised anyway. The row's CHECK is the backstop. Each change also locks its request's
row first, so a double submit (two tabs, a double tap) books once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import jpholiday
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from portal.accounts.models import Account
from portal.bookings.models import (
    Booking,
    BookingStatus,
    ClosedDate,
    CounterSettings,
    OpeningHours,
    SlotCount,
)
from portal.casework.lifecycle import NOT_GOING_AHEAD
from portal.db import conflict_insert, db
from portal.japan.clock import JAPAN, today_in_japan, utcnow
from portal.journey.models import Case, ProcedureRequest
from portal.mailbox.kinds import MessageKind
from portal.mailbox.services import post
from portal.tenancy.management import audit_department
from portal.tenancy.models import Department


class BookingRefused(Exception):
    """A booking that cannot be made or changed: ``message`` says why, for the resident, and
    ``code`` names the reason in a URL."""

    code = "cancelled"
    message = _l("This visit was cancelled. Book a new one.")

    def __init__(self) -> None:
        super().__init__(str(self.message))


class SlotFull(BookingRefused):
    code = "full"
    message = _l("That time is now fully booked. Choose another time.")


class SlotNotOffered(BookingRefused):
    code = "closed"
    message = _l("That time cannot be booked: the counter is closed then, or it has passed.")


class VisitOver(BookingRefused):
    code = "started"
    message = _l("This visit has already started: it can no longer be changed.")


@dataclass(frozen=True)
class Slot:
    start: datetime
    minutes: int
    free: int

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)

    @property
    def key(self) -> str:
        """The slot as a form posts it back: its start in UTC, ISO 8601."""
        return self.start.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class Day:
    day: date
    slots: tuple[Slot, ...]

    @property
    def free(self) -> int:
        return sum(slot.free for slot in self.slots)


# Reading --------------------------------------------------------------------------------


def slot_end(booking: Booking) -> datetime:
    settings = counter_of(booking.department)
    return booking.slot_start + timedelta(minutes=settings.slot_minutes if settings else 30)


def counter_of(department: Department | None) -> CounterSettings | None:
    if department is None:
        return None
    return db.session.get(CounterSettings, department.id)


def needs_visit(request: ProcedureRequest) -> bool:
    """Whether the request's form asks the resident to come to the counter in person."""
    return request.form_definition.visit_required


def bookable(request: ProcedureRequest) -> bool:
    """A visit can be booked here: it is filed online, still going ahead (approved included),
    needs one, and its counter takes bookings."""
    return (
        request.online
        and request.status not in NOT_GOING_AHEAD
        and needs_visit(request)
        and counter_of(request.department) is not None
    )


def active_booking(request: ProcedureRequest) -> Booking | None:
    return db.session.scalar(
        select(Booking).where(
            Booking.request_id == request.id, Booking.status == BookingStatus.BOOKED
        )
    )


def active_bookings(case: Case) -> dict[int, Booking]:
    """The case's booked visits by request id, in one query."""
    query = (
        select(Booking)
        .join(ProcedureRequest, Booking.request_id == ProcedureRequest.id)
        .where(ProcedureRequest.case_id == case.id, Booking.status == BookingStatus.BOOKED)
    )
    return {booking.request_id: booking for booking in db.session.scalars(query)}


def visits(case: Case) -> dict[int, Booking | None]:
    """For each request of the case whose visit can be booked here, its booked visit or None."""
    booked = active_bookings(case)
    return {r.id: booked.get(r.id) for r in case.requests if bookable(r)}


def is_open_day(settings: CounterSettings, day: date) -> bool:
    """Open by its hours, not a closed date, and (unless it opens then) not a holiday."""
    if not any(hours.weekday == day.weekday() for hours in settings.hours):
        return False
    if any(closed.day == day for closed in settings.closed_dates):
        return False
    return settings.open_on_holidays or not _public_holiday(day)


def _public_holiday(day: date) -> bool:
    """National holidays (substitute ones included) and 29 December to 3 January."""
    if (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3):
        return True
    return jpholiday.is_holiday(day)


def slot_starts(settings: CounterSettings, day: date) -> Iterator[datetime]:
    """The day's slots by the counter's hours, as UTC instants; none on a closed day."""
    if not is_open_day(settings, day):
        return
    length = timedelta(minutes=settings.slot_minutes)
    for hours in settings.hours:
        if hours.weekday != day.weekday():
            continue
        start = datetime.combine(day, hours.opens, JAPAN)
        closes = datetime.combine(day, hours.closes, JAPAN)
        while start + length <= closes:
            yield start.astimezone(UTC)
            start += length


def bookable_range(settings: CounterSettings) -> tuple[date, date]:
    """The first and last day a visit can be booked for: today to the counter's horizon."""
    today = today_in_japan()
    return today, today + timedelta(days=settings.bookable_days - 1)


def available_slots(department: Department, from_date: date, days: int) -> list[Day]:
    """The open days from ``from_date`` for ``days`` days with their slots yet to start, each
    with its free places (0 when full); days outside the bookable range are left out."""
    settings = counter_of(department)
    if settings is None or days <= 0:
        return []
    first, last = bookable_range(settings)
    start_day = max(from_date, first)
    end_day = min(from_date + timedelta(days=days - 1), last)
    if start_day > end_day:
        return []
    booked = _booked_counts(
        department,
        datetime.combine(start_day, time(), JAPAN),
        datetime.combine(end_day + timedelta(days=1), time(), JAPAN),
    )
    now = utcnow()
    found = []
    day = start_day
    while day <= end_day:
        slots = tuple(
            Slot(start, settings.slot_minutes, max(settings.capacity - booked.get(start, 0), 0))
            for start in slot_starts(settings, day)
            if start > now
        )
        if slots:
            found.append(Day(day, slots))
        day += timedelta(days=1)
    return found


def _booked_counts(department: Department, since: datetime, until: datetime) -> dict[datetime, int]:
    query = select(SlotCount.slot_start, SlotCount.booked).where(
        SlotCount.department_id == department.id,
        SlotCount.slot_start >= since,
        SlotCount.slot_start < until,
    )
    return {start: booked for start, booked in db.session.execute(query)}


def bookings_of_day(department: Department, day: date) -> list[Booking]:
    """The department's booked visits of a day in Japan, by time, with their requests' cases."""
    since = datetime.combine(day, time(), JAPAN)
    query = (
        select(Booking)
        .where(
            Booking.department_id == department.id,
            Booking.status == BookingStatus.BOOKED,
            Booking.slot_start >= since,
            Booking.slot_start < since + timedelta(days=1),
        )
        .options(joinedload(Booking.request).joinedload(ProcedureRequest.case))
        .order_by(Booking.slot_start, Booking.id)
    )
    return list(db.session.scalars(query))


# Changing -------------------------------------------------------------------------------


def book(request: ProcedureRequest, slot_start: datetime, by: Account | None) -> Booking:
    """Book a visit for the request, or, when it has one, move it there. Booking the slot it
    already has (a second submit) changes nothing."""
    _lock(request)
    existing = active_booking(request)
    if existing is not None:
        return move(existing, slot_start, by)
    settings = _offering(request.department, slot_start)
    _take(settings, slot_start)
    booking = Booking(request=request, department=request.department, slot_start=slot_start)
    db.session.add(booking)
    db.session.flush()
    _tell(booking, MessageKind.BOOKING_CONFIRMED)
    return booking


def move(booking: Booking, new_slot: datetime, by: Account | None) -> Booking:
    """Move a booked visit to another slot; the old place is freed only once the new one is
    taken, so a full slot leaves the visit where it was."""
    _lock(booking.request)
    db.session.refresh(booking)
    if not booking.active:
        raise BookingRefused()
    if booking.slot_start == new_slot:
        return booking
    if booking.slot_start <= utcnow():
        raise VisitOver()
    settings = _offering(booking.department, new_slot)
    _take(settings, new_slot)
    _release(booking)
    booking.slot_start = new_slot
    db.session.flush()
    _tell(booking, MessageKind.BOOKING_CONFIRMED)
    return booking


def cancel(booking: Booking, by: Account | None) -> Booking:
    """Cancel a booked visit and free its place; cancelling twice changes nothing."""
    _lock(booking.request)
    db.session.refresh(booking)
    if not booking.active:
        return booking
    if booking.slot_start <= utcnow():
        raise VisitOver()
    _release(booking)
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = utcnow()
    db.session.flush()
    _tell(booking, MessageKind.BOOKING_CANCELLED)
    return booking


def _tell(booking: Booking, kind: MessageKind) -> None:
    """The resident's mailbox message (and e-mail) for a booked, moved or cancelled visit."""
    when = booking.slot_start.isoformat()  # shown in the reader's language and format
    post(booking.request.case.account, kind, request=booking.request, params={"when": when})


def _lock(request: ProcedureRequest) -> None:
    """One change at a time per request (FOR NO KEY UPDATE on PostgreSQL)."""
    db.session.execute(
        select(ProcedureRequest.id)
        .where(ProcedureRequest.id == request.id)
        .with_for_update(key_share=True)
    )


def _offering(department: Department | None, slot_start: datetime) -> CounterSettings:
    """The counter's settings, when it offers this slot: a start on its grid, on an open day
    within the bookable range, not yet begun."""
    settings = counter_of(department)
    if settings is None or slot_start.tzinfo is None or slot_start <= utcnow():
        raise SlotNotOffered()
    try:
        day = slot_start.astimezone(JAPAN).date()
    except OverflowError:
        raise SlotNotOffered() from None
    first, last = bookable_range(settings)
    if not first <= day <= last or slot_start not in set(slot_starts(settings, day)):
        raise SlotNotOffered()
    return settings


def _take(settings: CounterSettings, slot_start: datetime) -> None:
    """One place in the slot, or ``SlotFull``: the slot's row is raised only below capacity."""
    department_id, capacity = settings.department_id, settings.capacity
    db.session.execute(
        conflict_insert(SlotCount)
        .values(department_id=department_id, slot_start=slot_start, booked=0, capacity=capacity)
        .on_conflict_do_nothing()
    )
    taken = db.session.execute(
        update(SlotCount)
        .where(
            SlotCount.department_id == department_id,
            SlotCount.slot_start == slot_start,
            SlotCount.booked < capacity,
        )
        .values(booked=SlotCount.booked + 1, capacity=capacity)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise SlotFull()


def _release(booking: Booking) -> None:
    db.session.execute(
        update(SlotCount)
        .where(
            SlotCount.department_id == booking.department_id,
            SlotCount.slot_start == booking.slot_start,
            SlotCount.booked > 0,
        )
        .values(booked=SlotCount.booked - 1)
        .execution_options(synchronize_session=False)
    )


# Setting up a counter -------------------------------------------------------------------


def set_counter(
    department: Department,
    *,
    hours: dict[int, list[tuple[time, time]]],
    slot_minutes: int = 30,
    capacity: int = 3,
    bookable_days: int = 30,
    closed: dict[date, str] | None = None,
) -> CounterSettings:
    """Give a department's counter its hours by weekday (0 is Monday), slot length, capacity
    and closed dates, replacing what it had."""
    settings = counter_of(department)
    if settings is None:
        settings = CounterSettings(department_id=department.id)
        db.session.add(settings)
    settings.slot_minutes = slot_minutes
    settings.capacity = capacity
    settings.bookable_days = bookable_days
    settings.hours.clear()  # the old rows go before the new ones come (unique per weekday)
    settings.closed_dates.clear()
    db.session.flush()
    settings.hours = [
        OpeningHours(weekday=weekday, opens=opens, closes=closes)
        for weekday, periods in sorted(hours.items())
        for opens, closes in periods
    ]
    settings.closed_dates = [
        ClosedDate(day=day, reason=reason) for day, reason in sorted((closed or {}).items())
    ]
    db.session.flush()
    return settings


# An admin's changes to a counter --------------------------------------------------------


class NoCounter(Exception):
    """The department takes no bookings yet: its hours come first."""


def configure_counter(
    department: Department,
    *,
    hours: dict[int, list[tuple[time, time]]],
    slot_minutes: int,
    capacity: int,
    bookable_days: int,
    open_on_holidays: bool,
    by: Account,
) -> CounterSettings:
    """An admin sets the counter's hours, slot length, capacity and reach; its closed days
    stay. Visits booked already stay booked (a resident is never moved by a new grid)."""
    current = _locked_counter(department)
    closed = {c.day: c.reason for c in current.closed_dates} if current else {}
    settings = set_counter(
        department,
        hours=hours,
        slot_minutes=slot_minutes,
        capacity=capacity,
        bookable_days=bookable_days,
        closed=closed,
    )
    settings.open_on_holidays = open_on_holidays
    db.session.flush()
    audit_department(
        department,
        by,
        "counter.configured",
        {
            "hours": {
                str(day): [f"{o:%H:%M}-{c:%H:%M}" for o, c in periods]
                for day, periods in sorted(hours.items())
                if periods
            },
            "slot_minutes": slot_minutes,
            "capacity": capacity,
            "bookable_days": bookable_days,
            "open_on_holidays": open_on_holidays,
        },
    )
    return settings


def close_day(department: Department, day: date, reason: str, by: Account) -> ClosedDate:
    """Close the counter on a day (its reason replaced if it was closed already)."""
    settings = _locked_counter(department)
    if settings is None:
        raise NoCounter
    closed = next((c for c in settings.closed_dates if c.day == day), None)
    if closed is None:
        closed = ClosedDate(day=day, reason=reason.strip())
        settings.closed_dates.append(closed)
    closed.reason = reason.strip()
    db.session.flush()
    audit_department(
        department, by, "counter.closed_day", {"day": day.isoformat(), "reason": reason}
    )
    return closed


def reopen_day(department: Department, day: date, by: Account) -> bool:
    """Take a day off the closed days; False when it was not one (another tab did it)."""
    settings = _locked_counter(department)
    closed = next((c for c in settings.closed_dates if c.day == day), None) if settings else None
    if settings is None or closed is None:
        return False
    settings.closed_dates.remove(closed)
    db.session.flush()
    audit_department(department, by, "counter.reopened_day", {"day": day.isoformat()})
    return True


def _locked_counter(department: Department) -> CounterSettings | None:
    """The counter's row, locked, with its closed days as committed: two admins changing one
    counter take turns (a day closed twice at once is closed once)."""
    settings = db.session.scalar(
        select(CounterSettings)
        .where(CounterSettings.department_id == department.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if settings is not None:
        db.session.expire(settings, ["closed_dates", "hours"])
    return settings
