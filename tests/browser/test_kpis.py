"""A municipality admin and the portal admin read the KPI dashboards on a phone and on a
desk: the chart and its table, a refused month beside its field; axe on every page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.extensions import db
from portal.tenancy.models import Municipality
from tests.browser.test_sign_in import sign_in
from tests.factories import CaseFactory

pytestmark = pytest.mark.browser


def test_a_municipality_admin_reads_the_kpis_and_is_told_of_a_bad_month(
    steps, app, phone: Page, axe, live_portal: str, demo, definitions
) -> None:
    with app.app_context():
        chiyoda = db.session.scalar(select(Municipality).filter_by(code="131016"))
        for _ in range(3):
            CaseFactory(filed=True, municipality=chiyoda, forms=["mic.tenshutsu"])
        db.session.commit()
    sign_in(phone, axe, live_portal, "ito-ken", "9999")
    phone.get_by_role("link", name="職員ページへ").click()
    phone.get_by_role("link", name=re.compile("千代田区のKPI")).click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("千代田区のKPI")
    expect(
        phone.get_by_role("img", name="ライフイベント別の開始・送信・放置された手続き")
    ).to_be_visible()
    axe.check(phone)
    steps.shot(phone, "page")

    phone.get_by_label("開始月").fill("2026-13")
    phone.get_by_role("button", name="表示").click()
    expect(phone.locator("#start-error")).to_contain_text("月は年と月で入力してください")
    expect(phone.get_by_label("開始月")).to_have_value("2026-13")
    axe.check(phone)
    steps.shot(phone, "page")

    phone.set_viewport_size({"width": 1280, "height": 900})
    phone.get_by_role("link", name="直近3か月").click()
    expect(phone.locator("#start-error")).to_have_count(0)
    axe.check(phone)
    steps.shot(phone, "page")


def test_the_portal_admin_chooses_a_municipality(
    steps, app, phone: Page, axe, live_portal: str, demo, definitions
) -> None:
    sign_in(phone, axe, live_portal, "watanabe-yui", "0000")
    phone.get_by_role("link", name="職員ページへ").click()
    phone.get_by_role("link", name="ポータル全体のKPI").click()
    axe.check(phone)
    steps.shot(phone, "page")
    phone.get_by_label("市区町村").select_option(label="東京都千代田区 (131016)")
    phone.get_by_role("button", name="表示").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("東京都千代田区のKPI")
    expect(phone.get_by_label("市区町村")).to_have_value(re.compile(r"\d+"))
    axe.check(phone)
    steps.shot(phone, "page")
