"""The phone keyboard's "Go" (Enter in a field) saves the page, as its main button does: never
the first other button the form holds (removing an entry, adding one, looking up an address)."""

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


def test_enter_in_an_address_field_saves_the_page(
    phone: Page, axe, live_portal: str, demo, definitions
) -> None:
    to_the_new_address(phone, axe, live_portal)
    look_up_address(phone, "新しい住所", "231-0021", "1-1")
    question(phone, "新しい住所").get_by_label("番地").press("Enter")
    arrive(phone, axe, "q-move.date", "引っ越しの日（予定日）")


def test_enter_in_an_entry_saves_the_page_and_removes_nothing(
    phone: Page, axe, live_portal: str, demo, definitions
) -> None:
    to_the_new_address(phone, axe, live_portal)
    look_up_address(phone, "新しい住所", "231-0021", "1-1")
    save_and_continue(phone)
    fill_date(phone, "引っ越しの日", date.fromisoformat(days_ago(2)))
    save_and_continue(phone)
    arrive(phone, axe, "q-move.members", "一緒に引っ越す人")
    for name in ("山田 花子", "山田 次郎"):
        phone.get_by_role("button", name="引っ越す人を追加").click()
        entry = phone.locator(".add-another__item").last
        entry.get_by_label("氏名", exact=True).fill(name)
    entries = phone.locator(".add-another__item")
    expect(entries).to_have_count(2)
    entries.first.get_by_label("氏名", exact=True).press("Enter")
    # Saved as "保存して次へ進む" would: the entries' other answers are missing, so the page
    # is shown again with its errors, and both entries, as typed, are still there.
    expect(phone.locator(".error-summary")).to_be_visible()
    expect(entries).to_have_count(2)
    expect(entries.first.get_by_label("氏名", exact=True)).to_have_value("山田 花子")
    expect(entries.last.get_by_label("氏名", exact=True)).to_have_value("山田 次郎")
