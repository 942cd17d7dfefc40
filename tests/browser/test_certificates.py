"""Certificates end to end in real Chromium (issue 8): the resident downloads the moving-out
certificate on a phone; a stranger, signed out on another phone, opens its QR code's URL,
gives the file, then mistypes a code; the Chiyoda clerk revokes it at a desk (first without a
reason); the stranger is told. axe-core checks every page and each step is a screenshot.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PHONE
from tests.browser.test_back_office import act, file_the_move, open_request, staff_sign_in
from tests.browser.test_moving_journey import sign_in
from tests.certificates.support import qr_codes

pytestmark = pytest.mark.browser

REASON = "住所の記載に誤りがありました。"


@pytest.fixture
def stranger(browser: Browser) -> Iterator[Page]:
    """Someone who was given the certificate: signed out, on a phone of their own."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    yield page
    context.close()


def test_a_certificate_checked_by_a_stranger_then_revoked(
    app: Flask,
    phone: Page,
    desk: Page,
    stranger: Page,
    axe,
    live_portal: str,
    steps,
    tmp_path: Path,
    demo,
    definitions,
) -> None:
    # The Chiyoda clerk approves the resident's moving-out: its certificate is issued.
    sign_in(phone, axe, live_portal, "yamada-taro", "山田 太郎", "1234")
    moved = file_the_move(app)
    staff_sign_in(desk, axe, live_portal, "tanaka-jiro", "1111")
    open_request(desk, axe, "区民課", moved.receipt_number)
    act(desk, "担当する")
    act(desk, "承認する")
    desk.reload()  # the job has run after the approval's commit
    certificates = desk.locator(".summary-list__row").filter(has_text="転出証明書")
    expect(certificates).to_contain_text("発行日")
    axe.check(desk)
    steps.shot(desk, "clerk-certificate-issued")

    # The resident finds it in the mailbox and downloads the PDF.
    phone.goto(live_portal + "/")
    phone.get_by_role("link", name=re.compile("^お知らせ")).click()
    phone.get_by_role("link", name="証明書を発行しました：転出届").click()
    axe.check(phone)
    steps.shot(phone, "resident-certificate-message")
    with phone.expect_download() as download:
        phone.get_by_role("link", name="証明書をダウンロード（PDF）").click()
    pdf = tmp_path / "download.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert download.value.suggested_filename.endswith(".pdf")

    # A stranger scans its QR code: the certificate is valid, the holder's name masked.
    [qr] = qr_codes(pdf, tmp_path)
    link = urlsplit(qr)
    stranger.goto(f"{live_portal}{link.path}?{link.query}")
    expect(stranger.get_by_role("heading", level=1)).to_have_text("証明書の確認")
    result = stranger.locator("main")
    expect(result).to_contain_text("この証明書は有効です")
    expect(result).to_contain_text("山＊ 太＊")
    expect(result).not_to_contain_text("山田")
    expect(stranger.get_by_label("証明書番号")).to_have_value("")  # for another one
    axe.check(stranger)
    steps.shot(stranger, "stranger-valid")

    # ... gives the file they were sent: byte for byte the one issued, its signature valid.
    stranger.get_by_label(re.compile("^証明書のPDFファイル")).set_input_files(pdf)
    stranger.get_by_role("button", name="ファイルを確認する").click()
    expect(result).to_contain_text("発行されたとおりのこの証明書です")
    expect(result).to_contain_text("ファイルの電子署名は有効です")
    axe.check(stranger)
    steps.shot(stranger, "stranger-file-checked")

    # ... in English too.
    stranger.get_by_role("button", name="English").click()
    stranger.goto(f"{live_portal}{link.path}?{link.query}")
    expect(stranger.get_by_role("heading", level=1)).to_have_text("Check a certificate")
    expect(result).to_contain_text("This certificate is valid")
    axe.check(stranger)
    steps.shot(stranger, "stranger-valid-en")
    stranger.get_by_role("button", name="日本語").click()

    # ... then mistypes the code on the form below: told beside the field, and at the top.
    stranger.goto(live_portal + "/verify")
    serial = re.search(r"/verify/([^/?]+)", qr)
    assert serial is not None
    stranger.get_by_label("証明書番号").fill(serial.group(1))
    stranger.get_by_label("確認コード").fill("12")
    stranger.get_by_role("button", name="確認する", exact=True).click()
    expect(stranger.locator(".error-summary")).to_be_visible()
    expect(stranger.get_by_label("確認コード")).to_have_value("12")
    axe.check(stranger)
    steps.shot(stranger, "stranger-wrong-code")

    # The clerk revokes it: asked first; without a reason, refused beside the field.
    certificates.get_by_role("link", name="この証明書を取り消す").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("この証明書を取り消しますか？")
    axe.check(desk)
    desk.get_by_role("button", name="はい、取り消します").click()
    expect(desk.locator(".error-summary")).to_be_visible()
    axe.check(desk)
    steps.shot(desk, "clerk-revoke-without-reason")
    desk.get_by_label(re.compile("^取り消す理由")).fill(REASON)
    desk.get_by_role("button", name="はい、取り消します").click()
    expect(desk.get_by_role("status").first).to_contain_text("取り消しました")
    expect(certificates).to_contain_text(REASON)
    axe.check(desk)
    steps.shot(desk, "clerk-revoked")

    # The stranger opens the QR code's URL again: revoked, with the date and the reason.
    stranger.goto(f"{live_portal}{link.path}?{link.query}")
    expect(result).to_contain_text("取り消されています")
    expect(result).to_contain_text(REASON)
    axe.check(stranger)
    steps.shot(stranger, "stranger-revoked")

    # Signed out, the download is a 404 that offers to sign in, not a sign-in page.
    download_url = live_portal + urlsplit(pdf_link(phone)).path
    answer = stranger.goto(download_url)
    assert answer is not None and answer.status == 404
    expect(stranger.get_by_role("link", name="ログイン")).to_be_visible()
    axe.check(stranger)


def pdf_link(page: Page) -> str:
    href = page.get_by_role("link", name="証明書をダウンロード（PDF）").get_attribute("href")
    assert href is not None
    return href
