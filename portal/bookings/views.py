"""Booking a counter visit (the resident) and the day's bookings (the department's clerks).

Thin: load through ``portal.access``, call ``portal.bookings.services``, redirect. A refused
booking redirects to the page's GET, which says why beside the times, so reload and Back never
resend a form.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import access
from portal.bookings import services
from portal.bookings.forms import VisitForm
from portal.bookings.models import Booking
from portal.japan.clock import in_japan, today_in_japan
from portal.japan.dates import format_resident_date, format_resident_time, format_weekday_date
from portal.journey.models import ProcedureRequest
from portal.journey.presenter import Journey
from portal.web.forms import ConfirmForm

bp = Blueprint("bookings", __name__)

Page = Response | str | tuple[str, int]

#: Why a choice was refused, as the page's GET is told it (``?refused=full``).
REFUSALS = {
    "choose": _l("Choose a time for your visit."),
    **{
        refusal.code: refusal.message
        for refusal in (
            services.BookingRefused,
            services.SlotFull,
            services.SlotNotOffered,
            services.VisitOver,
        )
    },
}


@bp.app_template_filter()
def format_visit(booking: Booking) -> str:
    """2026年12月3日（木） 09:30–10:00."""
    start, end = booking.slot_start, services.slot_end(booking)
    day = format_weekday_date(in_japan(start).date())
    return f"{day} {format_resident_time(start)}–{format_resident_time(end)}"


def _bookable_request(case_id: int, request_id: int) -> ProcedureRequest:
    filed = access.filed_request_or_404(case_id, request_id)
    if not services.bookable(filed):
        abort(404)
    return filed


@bp.route("/cases/<int:case_id>/requests/<int:request_id>/visit", methods=["GET", "POST"])
@access.requires(access.REQUEST_FILER)
def visit(case_id: int, request_id: int) -> Page:
    """One day's times at a time, with the previous and next open days; no script needed."""
    filed = _bookable_request(case_id, request_id)
    booking = services.active_booking(filed)
    form = VisitForm()
    shown_day = _day_argument()
    if request.method == "POST":
        chosen = form.slot_start() if form.validate() else None
        refused = "choose"
        if chosen is not None:
            try:
                services.book(filed, chosen, current_user)
            except services.BookingRefused as refusal:
                refused = refusal.code
            else:
                flash(_("Your visit is booked."), "success")
                return redirect(url_for("journey.receipt", case_id=case_id))
            shown_day = in_japan(chosen).date()
        return redirect(
            url_for(
                "bookings.visit",
                case_id=case_id,
                request_id=request_id,
                day=shown_day.isoformat() if shown_day else None,
                slot=form.slot.data if chosen is not None else None,
                refused=refused,
            )
        )
    settings = services.counter_of(filed.department)
    assert settings is not None  # bookable
    days = services.available_slots(filed.department, today_in_japan(), settings.bookable_days)
    index = _shown_index(days, shown_day, booking)
    message = REFUSALS.get(request.args.get("refused", ""))
    if message is not None:
        form.slot.errors = [str(message)]
    form.slot.data = request.args.get("slot") or (booking and booking.slot_start.isoformat())
    page = render_template(
        "bookings/visit.html",
        case=filed.case,
        filed=filed,
        journey=Journey(filed.case),
        booking=booking,
        form=form,
        days=days,
        index=index,
        settings=settings,
    )
    return (page, 422) if message is not None else page


def _day_argument() -> date | None:
    """``?day=2026-12-03``; None for anything else, or a day too far to page from."""
    value = request.args.get("day", "")
    try:
        day = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None
    return day if day is not None and 2000 <= day.year <= 2100 else None


def _shown_index(days: list[services.Day], wanted: date | None, booking: Booking | None) -> int:
    """The day asked for (or the next open one), else the booked one, else the first with a
    free place."""
    if not days:
        return 0
    if wanted is None and booking is not None:
        wanted = in_japan(booking.slot_start).date()
    if wanted is not None:
        return next((i for i, d in enumerate(days) if d.day >= wanted), len(days) - 1)
    return next((i for i, d in enumerate(days) if d.free), 0)


@bp.route("/cases/<int:case_id>/requests/<int:request_id>/visit/cancel", methods=["GET", "POST"])
@access.requires(access.REQUEST_FILER)
def cancel_visit(case_id: int, request_id: int) -> Page:
    """Cancelling is asked first: the GET says which visit goes, its POST cancels it."""
    filed = _bookable_request(case_id, request_id)
    booking = services.active_booking(filed)
    if booking is None:
        return redirect(url_for("journey.receipt", case_id=case_id))
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            services.cancel(booking, current_user)
        except services.BookingRefused as refusal:
            flash(str(refusal.message), "error")
        else:
            flash(_("Your visit was cancelled."), "success")
        return redirect(url_for("journey.receipt", case_id=case_id))
    return render_template(
        "bookings/cancel.html",
        case=filed.case,
        filed=filed,
        journey=Journey(filed.case),
        booking=booking,
        form=form,
    )


@bp.get("/staff/departments/<int:department_id>/bookings")
@access.requires(access.DEPARTMENT_STAFF)
def day_bookings(department_id: int) -> str:
    """The department's visits of a day, by time, with receipt numbers (no account ids)."""
    department = access.department_or_404(department_id)
    day = _day_argument() or today_in_japan()
    bookings = services.bookings_of_day(department, day)
    return render_template(
        "bookings/day.html",
        department=department,
        day=day,
        day_label=format_resident_date(day),
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
        bookings=bookings,
        procedure_titles={b.request_id: b.request.form_definition.title for b in bookings},
        settings=services.counter_of(department),
    )
