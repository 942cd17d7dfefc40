"""The portal admin reads the background jobs page on a phone (SQLite: the jobs that failed in
the portal's process): axe on the page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from portal import jobs
from portal.transactions import unit_of_work
from tests.browser.test_sign_in import sign_in
from tests.support.jobs import FAIL_UNTIL_ALLOWED

pytestmark = pytest.mark.browser


def test_the_portal_admin_reads_what_failed(
    steps, app, phone: Page, axe, live_portal: str, demo
) -> None:
    with app.app_context(), unit_of_work():
        jobs.defer(FAIL_UNTIL_ALLOWED, subject="browser", case_id=5)
    sign_in(phone, axe, live_portal, "watanabe-yui", "0000")
    phone.goto(live_portal + "/staff/")
    phone.get_by_role("link", name="バックグラウンド処理:失敗と集計").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("バックグラウンド処理")
    table = phone.get_by_role("table", name=re.compile("^失敗した処理"))
    expect(table).to_contain_text("RuntimeError: browser is not allowed yet")
    expect(table).to_contain_text("case_id=5")
    axe.check(phone)
    steps.shot(phone, "page")
