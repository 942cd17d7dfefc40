"""A resident books, moves and cancels the counter visit of their move-in on a phone, with
axe-core run on every page (the pages use no script of their own)."""

from __future__ import annotations

import re
from datetime import time

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from portal.bookings import services
from portal.extensions import db
from tests.browser.conftest import PHONE
from tests.factories import CaseFactory, MunicipalityFactory
from tests.support.people import login_as

pytestmark = pytest.mark.browser

TIME = re.compile(r"^\d\d:\d\d–\d\d:\d\d$")


@pytest.fixture
def signed_in_phone(app: Flask, browser: Browser, live_portal: str):  # noqa: ANN201
    """A phone signed in as a resident with a filed move-in to a counter that
    is open every day (so a day with free times is always near)."""
    with app.app_context():
        municipality = MunicipalityFactory(departments=["resident_registration"])
        department = municipality.department_of_kind("resident_registration")
        every_day = {day: [(time(8, 30), time(17, 15))] for day in range(7)}
        services.set_counter(department, hours=every_day)
        case = CaseFactory(filed=True, forms=["mic.tennyu"], municipality=municipality)
        case_id, account_id = case.id, case.account_id
        db.session.commit()
    client = app.test_client()
    login_as(client, account_id)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_portal}])
    page = context.new_page()
    page.goto(f"{live_portal}/cases/{case_id}/receipt")
    yield page
    context.close()


def test_booking_moving_and_cancelling_a_visit_on_a_phone(signed_in_phone: Page, axe) -> None:
    phone = signed_in_phone
    axe.check(phone)
    phone.get_by_role("button", name="来庁を予約する").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("来庁を予約する")
    axe.check(phone)

    # Sending without a time says so beside the times and in the summary.
    phone.get_by_role("button", name="この時間で予約する").click()
    expect(phone.get_by_role("alert")).to_contain_text("来庁の時間を選んでください。")
    axe.check(phone)

    # The next day, the first free time.
    next_day = phone.get_by_role("link", name=re.compile("^次の日："))
    next_day_url = next_day.get_attribute("href")
    next_day.click()
    expect(phone).to_have_url(re.compile(re.escape(next_day_url) + "$"))
    day = phone.get_by_role("heading", level=2).first.inner_text()
    axe.check(phone)
    first = phone.get_by_role("group", name=re.compile("来庁の時間")).get_by_role("radio").first
    label = phone.locator(f"label[for='{first.get_attribute('id')}']").inner_text()
    assert TIME.match(label), label
    first.check()
    phone.get_by_role("button", name="この時間で予約する").click()
    expect(phone).to_have_url(re.compile(r"/receipt$"))
    expect(phone.get_by_role("status")).to_contain_text("来庁の予約をしました。")
    expect(phone.locator("main")).to_contain_text(f"{day} {label}")
    axe.check(phone)

    # Moved to the last time of that day.
    phone.get_by_role("link", name="予約を変更する").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("来庁の予約の変更")
    axe.check(phone)
    phone.get_by_role("radio").last.check()
    phone.get_by_role("button", name="この時間に変更する").click()
    expect(phone.locator("main")).to_contain_text("16:30–17:00")

    # Cancelled, after being asked.
    phone.get_by_role("link", name="予約を取り消す").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("この予約を取り消しますか")
    axe.check(phone)
    phone.get_by_role("button", name="取り消す", exact=True).click()
    expect(phone.get_by_role("status")).to_contain_text("来庁の予約を取り消しました。")
    expect(phone.get_by_role("button", name="来庁を予約する")).to_be_visible()
    axe.check(phone)
