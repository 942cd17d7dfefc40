"""A correction on a phone: the dashboard's notice, the page that asks only what the clerk
named, an error, then the correction sent with a document: real Chromium, axe-core on each
page shown, nothing wider than the phone."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.accounts.models import Account
from portal.casework.lifecycle import RequestStatus
from portal.extensions import db
from tests.browser.conftest import PHONE
from tests.browser.test_moving_journey import sign_in
from tests.journey.test_corrections import file_a_move_out
from tests.support.documents import PDF

pytestmark = pytest.mark.browser

PHONE_NUMBER = "日中に連絡がとれる電話番号"


def fits_the_phone(phone: Page) -> None:
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_correction_made_on_a_phone(
    phone: Page, axe, live_portal: str, app: Flask, demo, definitions
) -> None:
    sign_in(phone, axe, live_portal, "yamada-taro", "山田 太郎", "1234")
    with app.app_context():
        account_id = db.session.scalar(
            select(Account.id).order_by(Account.last_signed_in_at.desc()).limit(1)
        )
        assert db.session.get(Account, account_id).identity["name"] == "山田 太郎"
    filed = file_a_move_out(app, documents=("filing.delegation_letter",), account_id=account_id)

    phone.goto(live_portal + "/")
    notice = phone.locator(".notification--action")
    expect(notice).to_contain_text("補正のお願いがあります")
    axe.check(phone)
    fits_the_phone(phone)
    notice.get_by_role("link", name=re.compile("^補正する")).click()

    expect(phone).to_have_url(live_portal + filed.correction_url)
    expect(phone.get_by_role("heading", level=1)).to_have_text("申請を補正する")
    expect(phone.locator(".correction-reason")).to_contain_text("つながりませんでした")
    axe.check(phone)
    fits_the_phone(phone)

    # Only the phone number and the letter are asked; a wrong number is refused beside it.
    expect(phone.locator("form[method=post] input:not([type=hidden])")).to_have_count(2)
    phone.get_by_label(PHONE_NUMBER).fill("12-ab")
    phone.get_by_role("button", name="補正を送る").click()
    expect(phone.locator(".error-summary")).to_be_visible()
    expect(phone).to_have_title(re.compile(r"^エラー： 申請を補正する"))
    expect(phone.get_by_label(PHONE_NUMBER)).to_have_value("12-ab")
    axe.check(phone)
    fits_the_phone(phone)

    # Reload shows the same page: the refused POST redirected (no "resubmit?" prompt).
    phone.reload(wait_until="load")
    expect(phone.get_by_label(PHONE_NUMBER)).to_have_value("12-ab")

    phone.get_by_label(PHONE_NUMBER).fill("03-5555-1234")
    phone.get_by_label("委任状").set_input_files(
        {"name": "委任状.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    phone.get_by_role("button", name="補正を送る").click()
    expect(phone).to_have_url(live_portal + filed.receipt_url)
    expect(phone.get_by_role("status").first).to_contain_text("の補正を送りました")
    expect(phone.locator(".notification--action")).to_have_count(0)
    axe.check(phone)
    fits_the_phone(phone)

    # Back to the correction page: it says the correction was sent, and asks nothing.
    phone.go_back(wait_until="load")
    expect(phone).to_have_url(live_portal + filed.receipt_url)
    expect(phone.get_by_role("status").first).to_contain_text("補正はすでに送られています")
    with app.app_context():
        assert filed.request().status is RequestStatus.IN_REVIEW
