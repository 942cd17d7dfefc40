"""A municipality admin sets a counter's hours and grants a role on a phone, a portal admin
adds a department kind: axe on every admin page, its refusals included."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_sign_in import sign_in

pytestmark = pytest.mark.browser


def test_a_municipality_admin_sets_a_counter_and_grants_a_role_on_a_phone(
    steps, phone: Page, axe, live_portal: str, demo
) -> None:
    sign_in(phone, axe, live_portal, "ito-ken", "9999")
    phone.get_by_role("link", name="職員ページへ").click()
    axe.check(phone)
    steps.shot(phone, "page")
    phone.get_by_role("link", name=re.compile("^課と窓口")).first.click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("の課")
    axe.check(phone)
    steps.shot(phone, "page")
    phone.get_by_role("link", name="区民課").click()
    phone.get_by_label("月曜日").fill("17:00-09:00")
    phone.get_by_role("button", name="窓口の設定を保存する").click()
    expect(phone.locator("#hours_0-error")).to_contain_text("終了時刻は開始時刻より後に")
    axe.check(phone)
    steps.shot(phone, "page")
    phone.get_by_label("月曜日").fill("08:30-12:00, 13:00-17:15")
    phone.get_by_role("button", name="窓口の設定を保存する").click()
    expect(phone.get_by_text("窓口の設定を保存しました。")).to_be_visible()
    axe.check(phone)
    steps.shot(phone, "page")
    phone.get_by_role("link", name="この課を削除").click()
    axe.check(phone)
    steps.shot(phone, "page")
    phone.go_back()
    phone.get_by_role("link", name=re.compile("の課$")).click()
    phone.get_by_role("link", name="職員と権限").click()
    phone.get_by_role("button", name="権限を付与する").click()
    expect(phone.locator("#subject-error")).to_be_visible()
    axe.check(phone)
    steps.shot(phone, "page")
    phone.get_by_label("職員認証の職員ID（subject）").fill("browser-colleague")
    phone.get_by_label("権限", exact=True).select_option("clerk")
    phone.get_by_label("区民課", exact=True).check()
    phone.get_by_role("button", name="権限を付与する").click()
    expect(phone.get_by_text(re.compile("を付与しました。"))).to_be_visible()
    axe.check(phone)
    steps.shot(phone, "page")
    colleague = phone.locator(".card").filter(has_text="browser-colleague")
    colleague.get_by_role("link", name=re.compile("^取り消す")).click()
    axe.check(phone)
    steps.shot(phone, "page")
    phone.get_by_role("button", name="はい、権限を取り消します").click()
    expect(phone.get_by_text(re.compile("を取り消しました。"))).to_be_visible()


def test_a_portal_admin_adds_a_department_kind(
    steps, phone: Page, axe, live_portal: str, demo
) -> None:
    sign_in(phone, axe, live_portal, "watanabe-yui", "0000")
    phone.goto(live_portal + "/staff/")
    phone.get_by_role("link", name="課の種類").click()
    axe.check(phone)
    steps.shot(phone, "page")
    phone.get_by_label("キー").fill("Tax")
    phone.get_by_role("button", name="種類を追加する").click()
    expect(phone.locator("#key-error")).to_be_visible()
    axe.check(phone)
    steps.shot(phone, "page")
    phone.get_by_label("キー").fill("tax")
    phone.get_by_label("名称（日本語）").fill("税務")
    phone.get_by_role("button", name="種類を追加する").click()
    expect(phone.get_by_text("種類「税務」を追加しました。")).to_be_visible()
    phone.get_by_role("link", name=re.compile("名称を変更 tax")).click()
    axe.check(phone)
    steps.shot(phone, "page")
