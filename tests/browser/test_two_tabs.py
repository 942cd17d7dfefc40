"""One draft open in two tabs of the phone's browser: each tab saves its own page, and what the
other tab saved stays (a page's save keeps that page's answers, not a stale copy of the rest)."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_history import to_the_new_address
from tests.browser.test_moving_journey import (
    arrive,
    fill_date,
    look_up_address,
    question,
    save_and_continue,
)
from tests.support.journey import days_ago

pytestmark = pytest.mark.browser


def test_two_tabs_saving_the_same_draft_lose_nothing(
    phone: Page, axe, live_portal: str, demo, definitions
) -> None:
    to_the_new_address(phone, axe, live_portal)
    look_up_address(phone, "新しい住所", "231-0021", "1-1")
    save_and_continue(phone)
    arrive(phone, axe, "q-move.date", "引っ越しの日（予定日）")

    # A second tab on the same draft's date page, opened before the first one saves it.
    other = phone.context.new_page()
    other.goto(phone.url)
    arrive(other, axe, "q-move.date", "引っ越しの日（予定日）")

    moved_on = date.fromisoformat(days_ago(2))
    fill_date(phone, "引っ越しの日", moved_on)
    save_and_continue(phone)
    arrive(phone, axe, "q-move.members", "一緒に引っ越す人")

    # The second tab, still showing the date page as it was, goes back and changes the address.
    other.get_by_role("link", name="戻る").click()
    arrive(other, axe, "q-move.new_address", "新しい住所")
    question(other, "新しい住所").get_by_label("建物名・部屋番号（任意）").fill("港ハイツ101")
    save_and_continue(other)
    arrive(other, axe, "q-move.date", "引っ越しの日（予定日）")
    # It shows the date the first tab saved.
    expect(question(other, "引っ越しの日").get_by_label("日", exact=True)).to_have_value(
        str(moved_on.day)
    )

    # Back in the first tab, both answers are there.
    phone.get_by_role("link", name="戻る").click()
    arrive(phone, axe, "q-move.date", "引っ越しの日（予定日）")
    expect(question(phone, "引っ越しの日").get_by_label("月")).to_have_value(str(moved_on.month))
    phone.get_by_role("link", name="戻る").click()
    arrive(phone, axe, "q-move.new_address", "新しい住所")
    expect(question(phone, "新しい住所").get_by_label("建物名・部屋番号（任意）")).to_have_value(
        "港ハイツ101"
    )
    expect(question(phone, "新しい住所").get_by_label("番地")).to_have_value("1-1")
