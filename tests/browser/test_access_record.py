"""A resident opens their access record from the dashboard, on a phone, and pages through it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.accounts.models import Account
from portal.audit import services
from portal.audit.models import AccessPurpose
from portal.extensions import db
from tests.browser.test_sign_in import sign_in
from tests.factories import CaseFactory

pytestmark = pytest.mark.browser


def test_resident_reads_who_had_their_information(
    app, phone: Page, axe, live_portal: str, demo
) -> None:
    sign_in(phone, axe, live_portal, "yamada-taro", "1234")
    expect(phone).to_have_url(live_portal + "/")
    with app.app_context():
        account = db.session.scalar(select(Account).filter_by(display_name="山田 太郎"))
        case = CaseFactory(account=account, filed=True, forms=["mic.tenshutsu"])
        filed = case.requests[0]
        for _ in range(21):
            services.record_access(
                account,
                staff=None,
                municipality=filed.municipality,
                department=filed.department,
                form_id=filed.form_id,
                purpose=AccessPurpose.VIEWED_DOCUMENT,
                case=case,
                request=filed,
            )
        db.session.commit()
    phone.get_by_role("link", name="あなたの情報を開いた機関を確認する").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("あなたの情報の提供等の記録")
    expect(phone.locator(".card")).to_have_count(20)
    axe.check(phone)
    phone.get_by_role("link", name="古い記録").click()
    expect(phone.locator(".card")).to_have_count(1)
    expect(phone.get_by_text("2ページ中2ページ目")).to_be_visible()
    axe.check(phone)
