"""Counter bookings: the hours and capacity a department offers, and residents booking,
moving and cancelling their visit, through the pages; no slot is ever overbooked."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.bookings import services
from portal.bookings.models import Booking, BookingStatus, SlotCount
from portal.extensions import db
from portal.japan.clock import JAPAN, today_in_japan
from portal.japan.deadlines import is_administrative_holiday
from portal.journey.models import ProcedureRequest
from portal.tenancy.models import Department
from tests.factories import AccountFactory, CaseFactory, MunicipalityFactory, RoleFactory
from tests.support.html import forms
from tests.support.people import csrf_token, login_as

WEEKDAYS = {weekday: [(time(8, 30), time(17, 15))] for weekday in range(5)}


def open_day(after: int = 1, since: date | None = None) -> date:
    """A weekday counters are open, ``after`` days from today (or ``since``) or later; never
    today, so its slots are all ahead whatever the time now."""
    day = (since or today_in_japan()) + timedelta(days=after)
    while is_administrative_holiday(day):
        day += timedelta(days=1)
    return day


def closed_day() -> date:
    day = today_in_japan() + timedelta(days=1)
    while not is_administrative_holiday(day):
        day += timedelta(days=1)
    return day


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A slot's start, as the service takes it: the Japan wall-clock time as a UTC instant."""
    return datetime.combine(day, time(hour, minute), JAPAN).astimezone(UTC)


@dataclass
class Counter:
    department_id: int
    municipality_id: int

    def department(self) -> Department:
        return db.session.get(Department, self.department_id)


@pytest.fixture
def counter(app: Flask) -> Counter:
    """A residents division open on weekdays 8:30 to 17:15, 30-minute slots, three at a time."""
    with app.app_context():
        municipality = MunicipalityFactory(departments=["resident_registration"])
        department = municipality.department_of_kind("resident_registration")
        services.set_counter(department, hours=WEEKDAYS, slot_minutes=30, capacity=3)
        db.session.commit()
        return Counter(department.id, municipality.id)


def move_in(counter: Counter, account_id: int | None = None) -> ProcedureRequest:
    """A filed move-in to the counter's municipality (inside an app context)."""
    case = CaseFactory(
        filed=True,
        forms=["mic.tennyu"],
        municipality=counter.department().municipality,
        **({"account_id": account_id} if account_id else {}),
    )
    return case.requests[0]


# The counter's days and slots -------------------------------------------------------------


def test_a_weekday_has_the_slots_its_hours_hold(app: Flask, counter: Counter) -> None:
    with app.app_context():
        settings = services.counter_of(counter.department())
        starts = list(services.slot_starts(settings, date(2027, 1, 12)))  # a Tuesday
    # 8:30 to 16:30 by half hours: the 17:00 slot would end after closing at 17:15.
    assert len(starts) == 17
    assert starts[0] == at(date(2027, 1, 12), 8, 30) and starts[-1] == at(date(2027, 1, 12), 16, 30)
    assert starts[0].isoformat() == "2027-01-11T23:30:00+00:00"  # kept in UTC


def test_holidays_weekends_and_closed_dates_have_no_slots(app: Flask, counter: Counter) -> None:
    with app.app_context():
        department = counter.department()
        services.set_counter(department, hours=WEEKDAYS, closed={date(2027, 1, 13): "選挙"})
        settings = services.counter_of(department)
        assert list(services.slot_starts(settings, date(2027, 1, 11))) == []  # 成人の日
        assert list(services.slot_starts(settings, date(2027, 1, 16))) == []  # a Saturday
        assert list(services.slot_starts(settings, date(2027, 1, 13))) == []  # closed that day
        assert list(services.slot_starts(settings, date(2026, 12, 29))) == []  # year end
        settings.open_on_holidays = True
        assert len(list(services.slot_starts(settings, date(2027, 1, 11)))) == 17


def test_a_lunch_break_is_two_periods(app: Flask, counter: Counter) -> None:
    with app.app_context():
        department = counter.department()
        hours = {0: [(time(9), time(12)), (time(13), time(16))]}
        settings = services.set_counter(department, hours=hours, slot_minutes=60)
        starts = list(services.slot_starts(settings, date(2027, 1, 18)))  # a Monday
    assert [s.astimezone(JAPAN).hour for s in starts] == [9, 10, 11, 13, 14, 15]


def test_available_slots_count_the_places_left(app: Flask, counter: Counter) -> None:
    day = open_day()
    with app.app_context():
        services.book(move_in(counter), at(day, 10), None)
        services.book(move_in(counter), at(day, 10), None)
        days = services.available_slots(counter.department(), day, 1)
    assert [d.day for d in days] == [day]
    free = {slot.start: slot.free for slot in days[0].slots}
    assert free[at(day, 10)] == 1 and free[at(day, 10, 30)] == 3


def test_available_slots_end_at_the_counters_horizon(app: Flask, counter: Counter) -> None:
    with app.app_context():
        days = services.available_slots(counter.department(), today_in_japan(), 90)
    assert days and max(d.day for d in days) < today_in_japan() + timedelta(days=30)
    assert all(not is_administrative_holiday(d.day) for d in days)


# Booking, moving, cancelling -------------------------------------------------------------


def test_a_slot_takes_its_capacity_and_no_more(app: Flask, counter: Counter) -> None:
    day = open_day()
    with app.app_context():
        for _ in range(3):
            services.book(move_in(counter), at(day, 9), None)
        fourth = move_in(counter)
        with pytest.raises(services.SlotFull):
            services.book(fourth, at(day, 9), None)
        assert services.active_booking(fourth) is None
        first = db.session.scalars(select(Booking)).first()
        services.cancel(first, None)
        assert services.book(fourth, at(day, 9), None).active  # the freed place
        assert db.session.get(SlotCount, (counter.department_id, at(day, 9))).booked == 3


@pytest.mark.parametrize(
    "when",
    [
        pytest.param(lambda: at(today_in_japan() - timedelta(days=1), 10), id="past"),
        pytest.param(lambda: at(closed_day(), 10), id="closed day"),
        pytest.param(lambda: at(open_day(), 8, 45), id="off the grid"),
        pytest.param(lambda: at(open_day(), 17), id="ends after closing"),
        pytest.param(lambda: at(open_day(40), 10), id="beyond the horizon"),
        pytest.param(lambda: datetime.combine(open_day(), time(10)), id="naive"),
    ],
)
def test_slots_not_offered_are_refused(
    app: Flask, counter: Counter, when: Callable[[], datetime]
) -> None:
    with app.app_context():
        with pytest.raises(services.SlotNotOffered):
            services.book(move_in(counter), when(), None)
        assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_booking_the_same_slot_again_books_once(app: Flask, counter: Counter) -> None:
    day = open_day()
    with app.app_context():
        request = move_in(counter)
        first = services.book(request, at(day, 11), None)
        again = services.book(request, at(day, 11), None)
        assert again.id == first.id
        assert db.session.get(SlotCount, (counter.department_id, at(day, 11))).booked == 1


def test_moving_frees_the_old_place_and_a_full_slot_keeps_the_visit(
    app: Flask, counter: Counter
) -> None:
    day = open_day()
    with app.app_context():
        booking = services.book(move_in(counter), at(day, 9), None)
        for _ in range(3):
            services.book(move_in(counter), at(day, 14), None)
        with pytest.raises(services.SlotFull):
            services.move(booking, at(day, 14), None)
        assert booking.slot_start == at(day, 9)
        services.move(booking, at(day, 15), None)
        counts = {
            row.slot_start: row.booked
            for row in db.session.scalars(
                select(SlotCount).filter_by(department_id=counter.department_id)
            )
        }
    assert counts[at(day, 9)] == 0 and counts[at(day, 15)] == 1 and counts[at(day, 14)] == 3


def test_one_active_booking_per_request_is_a_constraint(app: Flask, counter: Counter) -> None:
    from sqlalchemy.exc import IntegrityError

    day = open_day()
    with app.app_context():
        request = move_in(counter)
        services.book(request, at(day, 9), None)
        db.session.add(
            Booking(request=request, department_id=counter.department_id, slot_start=at(day, 10))
        )
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_cancelling_twice_changes_nothing(app: Flask, counter: Counter) -> None:
    day = open_day()
    with app.app_context():
        booking = services.book(move_in(counter), at(day, 9), None)
        services.cancel(booking, None)
        services.cancel(booking, None)
        assert booking.status is BookingStatus.CANCELLED and booking.cancelled_at is not None
        assert db.session.get(SlotCount, (counter.department_id, at(day, 9))).booked == 0


def test_the_resident_is_told_of_each_booking_in_their_language(
    app: Flask, counter: Counter
) -> None:
    from flask_babel import force_locale

    from portal.mailbox.models import Message

    day = open_day()
    with app.test_request_context():
        booking = services.book(move_in(counter), at(day, 9), None)
        services.move(booking, at(day, 10), None)
        services.cancel(booking, None)
        messages = db.session.scalars(select(Message).order_by(Message.id)).all()
        assert [m.kind.value for m in messages] == [
            "booking_confirmed",
            "booking_confirmed",
            "booking_cancelled",
        ]
        with force_locale("ja"):
            assert f"{day.month}月{day.day}日" in messages[0].subject
            assert "09:00" in messages[0].subject and "10:00" in messages[1].subject
        with force_locale("en"):
            assert str(day.year) in messages[2].subject and "T10:00" not in messages[2].subject


def test_an_approved_move_in_keeps_its_visit_and_a_rejected_one_frees_it(
    app: Flask, counter: Counter
) -> None:
    from portal.casework.lifecycle import Action
    from portal.casework.services import act

    day = open_day()
    with app.test_request_context():
        approved, rejected = move_in(counter), move_in(counter)
        for request in (approved, rejected):
            services.book(request, at(day, 9), None)
            clerk = RoleFactory(department=request.department).account
            act(request, Action.CLAIM, clerk)
        act(approved, Action.APPROVE, approved.assignee)
        act(rejected, Action.REJECT, rejected.assignee, reason="Not moved yet")
        assert services.bookable(approved) and services.active_booking(approved) is not None
        assert not services.bookable(rejected) and services.active_booking(rejected) is None
        assert db.session.get(SlotCount, (counter.department_id, at(day, 9))).booked == 1


# The resident's pages ----------------------------------------------------------------------


@dataclass
class Filed:
    case_id: int
    request_id: int
    account_id: int

    @property
    def receipt(self) -> str:
        return f"/cases/{self.case_id}/receipt"

    @property
    def visit(self) -> str:
        return f"/cases/{self.case_id}/requests/{self.request_id}/visit"


@pytest.fixture
def filed(app: Flask, counter: Counter, client: FlaskClient) -> Filed:
    """A resident signed in on ``client`` with a filed move-in to the counter's municipality."""
    with app.app_context():
        request = move_in(counter)
        made = Filed(request.case_id, request.id, request.case.account_id)
        db.session.commit()
    login_as(client, made.account_id)
    return made


def choose(client: FlaskClient, url: str, slot: datetime) -> object:
    page = client.get(url)
    assert page.status_code == 200
    form = next(f for f in forms(page.text) if "slot" in f.choices)
    assert slot.isoformat() in form.choices["slot"], "the slot is offered on the page"
    return client.post(
        form.action, data={"csrf_token": form.fields["csrf_token"], "slot": slot.isoformat()}
    )


def test_the_receipt_offers_to_book_the_visit_and_shows_it(
    app: Flask, client: FlaskClient, filed: Filed
) -> None:
    receipt = client.get(filed.receipt).text
    assert "来庁を予約する" in receipt and filed.visit in receipt
    day = open_day()
    response = choose(client, f"{filed.visit}?day={day.isoformat()}", at(day, 10))
    assert response.status_code == 302 and response.headers["Location"] == filed.receipt
    receipt = client.get(filed.receipt).text
    assert "来庁の予約をしました。" in receipt
    assert f"{day.year}年{day.month}月{day.day}日" in receipt and "10:00–10:30" in receipt
    assert "予約を変更する" in receipt and "予約を取り消す" in receipt


def test_the_page_shows_one_day_with_the_next_and_previous(
    client: FlaskClient, filed: Filed
) -> None:
    day = open_day(since=open_day())  # an open day before it, ahead of now, whatever the week
    page = client.get(f"{filed.visit}?day={day.isoformat()}").text
    assert f"{day.month}月{day.day}日" in page
    assert "前の日：" in page and "次の日：" in page
    assert page.count('type="radio"') == 17
    assert "<script" not in page


def test_a_double_submit_books_once(app: Flask, client: FlaskClient, filed: Filed) -> None:
    day = open_day()
    page = client.get(f"{filed.visit}?day={day.isoformat()}")
    form = next(f for f in forms(page.text) if "slot" in f.choices)
    data = {"csrf_token": form.fields["csrf_token"], "slot": at(day, 13).isoformat()}
    assert client.post(form.action, data=data).status_code == 302
    assert client.post(form.action, data=data).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(Booking.id))) == 1
        assert (
            db.session.get(
                SlotCount,
                (db.session.get(ProcedureRequest, filed.request_id).department_id, at(day, 13)),
            ).booked
            == 1
        )


def test_a_full_slot_is_refused_beside_the_times_and_the_day_kept(
    app: Flask, client: FlaskClient, counter: Counter, filed: Filed
) -> None:
    day = open_day()
    page = client.get(f"{filed.visit}?day={day.isoformat()}")
    form = next(f for f in forms(page.text) if "slot" in f.choices)
    with app.app_context():  # three others take the last places meanwhile
        for _ in range(3):
            services.book(move_in(counter), at(day, 10), None)
        db.session.commit()
    data = {"csrf_token": form.fields["csrf_token"], "slot": at(day, 10).isoformat()}
    response = client.post(form.action, data=data)
    assert response.status_code == 302
    shown = client.get(response.headers["Location"])
    assert shown.status_code == 422
    message = "その時間は予約がいっぱいになりました。別の時間を選んでください。"
    assert shown.text.count(message) == 2  # in the summary and beside the times
    assert f"{day.month}月{day.day}日" in shown.text
    with app.app_context():
        assert services.active_booking(db.session.get(ProcedureRequest, filed.request_id)) is None


@pytest.mark.parametrize(
    "slot",
    ["", "soon", "2027-01-12T10:00:00", "9999-12-31T23:59:59+00:00", "0001-01-01T00:00+14:00"],
)
def test_no_time_chosen_is_refused_with_a_message(
    client: FlaskClient, filed: Filed, slot: str
) -> None:
    page = client.get(filed.visit)
    response = client.post(filed.visit, data={"csrf_token": csrf_token(page.text), "slot": slot})
    shown = client.get(response.headers["Location"])
    assert shown.status_code == 422 and shown.text.count("来庁の時間を選んでください。") == 2


def test_moving_and_cancelling_from_the_pages(
    app: Flask, client: FlaskClient, filed: Filed
) -> None:
    day = open_day()
    choose(client, f"{filed.visit}?day={day.isoformat()}", at(day, 10))
    page = client.get(filed.visit).text
    assert "来庁の予約の変更" in page and "予約中の時間" in page
    choose(client, f"{filed.visit}?day={day.isoformat()}", at(day, 15, 30))
    assert "15:30–16:00" in client.get(filed.receipt).text
    cancel_url = f"{filed.visit}/cancel"
    confirm = client.get(cancel_url)
    assert "この予約を取り消しますか" in confirm.text
    assert client.post(cancel_url, data={"csrf_token": csrf_token(confirm.text)}).status_code == 302
    receipt = client.get(filed.receipt).text
    assert "来庁の予約を取り消しました。" in receipt and "来庁を予約する" in receipt
    with app.app_context():
        statuses = db.session.scalars(select(Booking.status)).all()
    assert statuses == [BookingStatus.CANCELLED]


def test_a_request_without_a_visit_has_no_booking_page(
    app: Flask, client: FlaskClient, counter: Counter
) -> None:
    with app.app_context():
        case = CaseFactory(
            filed=True, forms=["mic.tenshutsu"], municipality=counter.department().municipality
        )
        url = f"/cases/{case.id}/requests/{case.requests[0].id}/visit"
        receipt, account_id = f"/cases/{case.id}/receipt", case.account_id
        db.session.commit()
    login_as(client, account_id)
    assert client.get(url).status_code == 404
    assert "来庁を予約する" not in client.get(receipt).text


def test_a_counter_without_bookings_offers_none(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        case = CaseFactory(filed=True, forms=["mic.tennyu"])
        url = f"/cases/{case.id}/requests/{case.requests[0].id}/visit"
        receipt_url, account_id = f"/cases/{case.id}/receipt", case.account_id
        db.session.commit()
    login_as(client, account_id)
    assert client.get(url).status_code == 404
    receipt = client.get(receipt_url).text
    assert "来庁を予約する" not in receipt and "窓口の受付時間" in receipt


# The clerks' day ---------------------------------------------------------------------------


def test_clerks_see_the_days_bookings_without_account_ids(
    app: Flask, client: FlaskClient, counter: Counter
) -> None:
    day = open_day()
    with app.app_context():
        request = move_in(counter)
        services.book(request, at(day, 9, 30), None)
        services.book(move_in(counter), at(day, 8, 30), None)
        receipt, account = request.case.receipt_number, request.case.account
        subject, account_id = account.subject, account.id
        clerk = RoleFactory(department=counter.department()).account.id
        db.session.commit()
    login_as(client, clerk)
    page = client.get(f"/staff/departments/{counter.department_id}/bookings?day={day.isoformat()}")
    assert page.status_code == 200
    text = page.text
    assert receipt in text and "09:30" in text and "08:30" in text
    assert text.index("08:30") < text.index("09:30")
    assert "転入届" in text and "予約 2件" in text
    assert subject not in text and f">{account_id}<" not in text
    other_day = client.get(
        f"/staff/departments/{counter.department_id}/bookings?day={open_day(8).isoformat()}"
    )
    assert "この日の来庁予約はありません。" in other_day.text


# Concurrency (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.postgresql
def test_ten_residents_at_once_on_a_slot_of_three_book_three(app: Flask, counter: Counter) -> None:
    day = open_day()
    slot = at(day, 10)
    residents = []
    with app.app_context():
        for _ in range(10):
            request = move_in(counter, AccountFactory().id)
            residents.append(Filed(request.case_id, request.id, request.case.account_id))
        db.session.commit()
    clients = []
    for resident in residents:
        tab = app.test_client()
        login_as(tab, resident.account_id)
        token = csrf_token(tab.get(resident.visit).text)
        clients.append((tab, resident, token))
    barrier = threading.Barrier(len(clients))
    answers: list[str] = [""] * len(clients)

    def book(index: int) -> None:
        tab, resident, token = clients[index]
        barrier.wait(timeout=10)
        response = tab.post(resident.visit, data={"csrf_token": token, "slot": slot.isoformat()})
        answers[index] = response.headers.get("Location", str(response.status_code))

    threads = [threading.Thread(target=book, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    booked = [a for a in answers if a.endswith("/receipt")]
    full = [a for a in answers if "refused=full" in a]
    assert len(booked) == 3 and len(full) == 7, answers
    with app.app_context():
        assert db.session.scalar(select(func.count(Booking.id))) == 3
        assert db.session.get(SlotCount, (counter.department_id, slot)).booked == 3
    tab, resident, _ = next(c for c, a in zip(clients, answers, strict=True) if "refused=full" in a)
    shown = tab.get(next(a for a in full))
    assert "その時間は予約がいっぱいになりました。" in shown.text
