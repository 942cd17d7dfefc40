"""Back and reload on a phone never ask to resubmit a form, and deleting a draft is asked
first: real Chromium, with axe-core on each page shown."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_moving_journey import (
    arrive,
    question,
    save_and_continue,
    sign_in,
    start_moving,
)

pytestmark = pytest.mark.browser


def to_the_new_address(phone: Page, axe, live_portal: str) -> None:
    sign_in(phone, axe, live_portal, "yamada-taro", "山田 太郎", "1234")
    start_moving(phone)
    question(phone, "代理人として").get_by_label("いいえ").check()
    save_and_continue(phone)
    phone.get_by_label("ほかの市区町村へ").check()
    save_and_continue(phone)
    arrive(phone, axe, "q-move.new_address", "新しい住所")


def go_back(phone: Page) -> None:
    """Back, as the browser's button: a page that was a POST response would fail here with
    net::ERR_CACHE_MISS ("Confirm Form Resubmission") instead of showing."""
    phone.go_back(wait_until="load")


def test_back_after_an_error_and_after_a_postal_lookup(
    phone: Page, axe, live_portal: str, demo, definitions
) -> None:
    to_the_new_address(phone, axe, live_portal)
    new_address = question(phone, "新しい住所")
    new_address.get_by_label("郵便番号").fill("12")
    new_address.get_by_label("番地").fill("1-1")
    save_and_continue(phone)
    expect(phone.locator(".error-summary")).to_be_visible()
    arrive(phone, axe, "q-move.new_address", "新しい住所")

    postal_code = question(phone, "新しい住所").get_by_label("郵便番号")
    postal_code.fill("231-0021")
    question(phone, "新しい住所").get_by_role("button", name="住所を検索").click()
    expect(phone.get_by_role("status")).to_contain_text("住所が見つかりました")
    axe.check(phone)

    # Reload the page the lookup showed: no prompt, the same address.
    phone.reload(wait_until="load")
    expect(question(phone, "新しい住所").get_by_label("都道府県")).to_have_value("神奈川県")

    save_and_continue(phone)
    arrive(phone, axe, "q-move.date", "引っ越しの日（予定日）")

    # Back to the page after the lookup, then to the page that showed the errors.
    for _step in range(2):
        go_back(phone)
        arrive(phone, axe, "q-move.new_address", "新しい住所")
        expect(question(phone, "新しい住所").get_by_label("番地")).to_have_value("1-1")
    expect(question(phone, "新しい住所").get_by_label("都道府県")).to_have_value("神奈川県")
    # And forward again, to where the resident was.
    phone.go_forward(wait_until="load")
    phone.go_forward(wait_until="load")
    arrive(phone, axe, "q-move.date", "引っ越しの日（予定日）")


def test_deleting_a_draft_asks_first(phone: Page, axe, live_portal: str, demo, definitions) -> None:
    to_the_new_address(phone, axe, live_portal)
    phone.get_by_role("link", name="中断して後で再開する").click()
    expect(phone).to_have_url(live_portal + "/")
    drafts = phone.locator(
        "section", has=phone.get_by_role("heading", name="途中の手続きを再開する")
    )
    drafts.get_by_role("link", name=re.compile("^この下書きを削除")).click()

    expect(phone).to_have_url(re.compile(r"/cases/\d+/discard$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("この下書きを削除しますか")
    expect(phone).to_have_title(re.compile("^この下書きを削除しますか"))
    axe.check(phone)
    # Changed their mind: back to the draft, where it was left.
    phone.get_by_role("link", name="削除せずに続きを入力する").click()
    arrive(phone, axe, "q-move.new_address", "新しい住所")

    phone.goto(live_portal + "/")
    phone.get_by_role("link", name=re.compile("^この下書きを削除")).click()
    phone.get_by_role("button", name="はい、この下書きを削除します").click()
    expect(phone).to_have_url(live_portal + "/")
    expect(phone.get_by_role("status")).to_contain_text("下書き「引越し」を削除しました。")
    expect(phone.get_by_role("link", name=re.compile("^この下書きを削除"))).to_have_count(0)
    axe.check(phone)


def test_the_dashboard_offers_the_funeral_allowance_after_the_funeral(
    phone: Page, axe, live_portal: str, resident
) -> None:
    from tests.journey.test_follow_ups import file_death

    file_death(resident("yamada-taro"))  # the day after the death, through the test client
    sign_in(phone, axe, live_portal, "yamada-taro", "山田 太郎", "1234")
    # The card of the procedure, inside the card of the case it follows.
    later = (
        phone.get_by_role("listitem")
        .filter(has=phone.get_by_role("heading", name="葬祭費支給申請", exact=True))
        .last
    )
    expect(later).to_contain_text("葬儀の後に")
    expect(later).to_contain_text("葬儀を行った日の翌日から2年以内")
    axe.check(phone)
    later.get_by_role("button", name=re.compile("^申請する")).click()
    expect(phone).to_have_url(re.compile(r"/cases/\d+/f-mhlw\.sousaihi-funeral$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("葬儀と申請者")
    expect(phone.locator(".caption")).to_have_text("死亡 — 葬祭費支給申請")
    expect(question(phone, "葬儀を行った日")).to_be_visible()
    axe.check(phone)
    # Back on the dashboard, it is a draft to continue, under the case it follows.
    phone.goto(live_portal + "/")
    expect(later.get_by_role("link", name=re.compile("^続きを入力する"))).to_be_visible()
    expect(phone.get_by_role("link", name="死亡 — 葬祭費支給申請", exact=True)).to_be_visible()
    axe.check(phone)
