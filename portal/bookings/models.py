"""A department's counter (hours, slot length, capacity, closed days) and the visits booked at it.

A slot is a start time on the department's grid (opening time plus whole slot lengths), kept
in UTC and shown in Japan time. ``SlotCount`` holds how many visits a slot has: bookings
raise it with one conditional UPDATE (``booked < capacity``), which PostgreSQL re-checks
against the committed row when two residents book at once, and the row's CHECK refuses a
count above its capacity whatever the code does.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.casework.models import of_its_request
from portal.db import db, text_enum, utcnow
from portal.journey.models import ProcedureRequest
from portal.tenancy.models import Department


class CounterSettings(db.Model):
    """How a department's counter takes bookings; a department without a row takes none."""

    __tablename__ = "counter_settings"
    __table_args__ = (
        CheckConstraint("slot_minutes BETWEEN 5 AND 240", name="slot_minutes_in_range"),
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("bookable_days BETWEEN 1 AND 366", name="bookable_days_in_range"),
    )

    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True
    )
    slot_minutes: Mapped[int] = mapped_column(default=30)
    #: Residents served at once: the counter's staffed windows.
    capacity: Mapped[int] = mapped_column(default=3)
    #: How far ahead a visit may be booked, counting today.
    bookable_days: Mapped[int] = mapped_column(default=30)
    #: National holidays and 29 December to 3 January are closed unless this is set.
    open_on_holidays: Mapped[bool] = mapped_column(default=False)

    department: Mapped[Department] = relationship()
    hours: Mapped[list[OpeningHours]] = relationship(
        order_by="(OpeningHours.weekday, OpeningHours.opens)", cascade="all, delete-orphan"
    )
    closed_dates: Mapped[list[ClosedDate]] = relationship(
        order_by="ClosedDate.day", cascade="all, delete-orphan"
    )


class OpeningHours(db.Model):
    """One opening period of a weekday (0 is Monday), in Japan time; two rows make a lunch break."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        UniqueConstraint("department_id", "weekday", "opens"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_in_range"),
        CheckConstraint("opens < closes", name="opens_before_closing"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey("counter_settings.department_id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int]
    opens: Mapped[time]
    closes: Mapped[time]


class ClosedDate(db.Model):
    """A day the counter is closed though its hours say open (an election, a system change)."""

    __tablename__ = "closed_dates"
    __table_args__ = (UniqueConstraint("department_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey("counter_settings.department_id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date]
    reason: Mapped[str] = mapped_column(String(200), default="")


class SlotCount(db.Model):
    """Visits booked in one slot of one department: the row a booking raises, or is refused."""

    __tablename__ = "slot_counts"
    __table_args__ = (
        CheckConstraint("booked >= 0 AND booked <= capacity", name="within_capacity"),
    )

    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True
    )
    slot_start: Mapped[datetime] = mapped_column(primary_key=True)
    booked: Mapped[int] = mapped_column(default=0)
    #: The capacity the last booking was made under.
    capacity: Mapped[int]


class BookingStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"


class Booking(db.Model):
    """A resident's visit to a department's counter for one request; one active per request."""

    __tablename__ = "bookings"
    __table_args__ = (
        of_its_request(),
        Index(
            "uq_bookings_active_request",
            "request_id",
            "municipality_id",
            unique=True,
            sqlite_where=text("status = 'booked'"),
            postgresql_where=text("status = 'booked'"),
        ),
        Index("ix_bookings_department_slot", "department_id", "slot_start"),
        CheckConstraint(
            "(status = 'cancelled') = (cancelled_at IS NOT NULL)", name="cancelled_when_cancelled"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(index=True)
    #: The request's municipality, set with the request: the tenant key, in its reference.
    municipality_id: Mapped[int]
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    slot_start: Mapped[datetime]
    status: Mapped[BookingStatus] = mapped_column(
        text_enum(BookingStatus, 20),
        default=BookingStatus.BOOKED,
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]

    request: Mapped[ProcedureRequest] = relationship()
    department: Mapped[Department] = relationship()

    @property
    def active(self) -> bool:
        return self.status is BookingStatus.BOOKED
