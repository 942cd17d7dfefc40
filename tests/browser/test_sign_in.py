"""A resident signs in on a phone through the development provider and sees the dashboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def sign_in(phone: Page, axe, live_portal: str, persona: str, pin: str) -> None:
    phone.goto(live_portal + "/")
    axe.check(phone)
    phone.get_by_role("button", name="マイナンバーカードでログイン").click()
    expect(phone).to_have_url(re.compile(r"/authorize"))
    axe.check(phone)
    phone.locator(f"input[name=persona][value={persona}]").check()
    phone.locator("input[name=pin]").fill(pin)
    phone.get_by_role("button", name="ログイン", exact=True).click()


def test_resident_signs_in_on_a_phone(phone: Page, axe, live_portal: str, demo) -> None:
    sign_in(phone, axe, live_portal, "yamada-taro", "1234")
    expect(phone).to_have_url(live_portal + "/")
    expect(phone.get_by_role("heading", level=1)).to_contain_text("山田 太郎")
    axe.check(phone)
    phone.get_by_role("button", name="ログアウト").click()
    expect(phone.get_by_text("ログアウトしました")).to_be_visible()
    axe.check(phone)


def test_clerk_signs_in_and_opens_the_queue(phone: Page, axe, live_portal: str, demo) -> None:
    sign_in(phone, axe, live_portal, "tanaka-jiro", "1111")
    phone.get_by_role("link", name="職員ページへ").click()
    axe.check(phone)
    phone.get_by_role("link", name=re.compile("区民課")).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("区民課")
    axe.check(phone)


def test_wrong_pin_is_explained_beside_the_field(phone: Page, axe, live_portal: str, demo) -> None:
    sign_in(phone, axe, live_portal, "sato-hanako", "0000")
    expect(phone.locator(".error-summary")).to_be_visible()
    axe.check(phone)


def test_sign_in_without_the_card_is_refused_clearly(
    phone: Page, axe, live_portal: str, demo
) -> None:
    sign_in(phone, axe, live_portal, "suzuki-ichiro", "3456")
    expect(phone.get_by_role("heading", level=1)).to_have_text(
        "マイナンバーカードでログインしてください"
    )
    axe.check(phone)


def test_a_staff_sign_in_without_a_role_gives_the_number_to_ask_for_one(
    phone: Page, axe, live_portal: str, demo
) -> None:
    phone.goto(live_portal + "/auth/staff/login")
    expect(phone).to_have_url(re.compile(r"/authorize"))
    phone.locator("input[name=persona][value=yamada-taro]").check()
    phone.locator("input[name=pin]").fill("1234")
    phone.get_by_role("button", name="ログイン", exact=True).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("スタッフの権限がまだありません")
    expect(phone.get_by_text(re.compile(r"アカウント番号：\d+"))).to_be_visible()
    axe.check(phone)
