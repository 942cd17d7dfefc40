"""On a phone, a resident turns on notifications by e-mail: a mistyped address is shown
beside the field, a good one gets a link by e-mail (a real SMTP server), and opening it
confirms the address. Every page passes axe."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.test_sign_in import sign_in
from tests.support.mail import SmtpSink

pytestmark = pytest.mark.browser


@pytest.fixture
def smtp(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpSink]:
    """E-mail on; no ``BASE_URL``: in development the link is built from the request's host."""
    sink = SmtpSink().start()
    for key, value in {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": sink.port,
        "SMTP_STARTTLS": False,
        "MAIL_FROM": "noreply@city.example.jp",
    }.items():
        monkeypatch.setitem(app.config, key, value)
    yield sink
    sink.stop()


def test_resident_gives_and_confirms_an_address(
    phone: Page, axe, live_portal: str, demo, smtp: SmtpSink
) -> None:
    sign_in(phone, axe, live_portal, "sato-hanako", "2345")
    phone.get_by_role("link", name="メール通知").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("メール通知")
    axe.check(phone)

    phone.get_by_label("メールアドレス").fill("hanako@")
    phone.get_by_role("button", name="確認用のリンクを送る").click()
    expect(phone.locator(".error-summary")).to_contain_text("正しい形式")
    expect(phone.locator("#email-error")).to_contain_text("正しい形式")
    expect(phone.get_by_label("メールアドレス")).to_have_value("hanako@")
    axe.check(phone)

    phone.get_by_label("メールアドレス").fill("hanako@example.jp")
    phone.get_by_role("button", name="確認用のリンクを送る").click()
    expect(phone.get_by_role("status").first).to_contain_text("確認用のリンクを送りました")
    axe.check(phone)
    (mail,) = smtp.received
    (link,) = re.findall(r"http://\S+", mail.get_content())
    assert link.startswith(live_portal + "/account/notifications/confirm/")

    phone.goto(link)
    axe.check(phone)
    phone.get_by_role("button", name="このアドレスを確認する").click()
    expect(phone.get_by_role("status").first).to_contain_text("メールアドレスを確認しました")
    expect(phone.locator(".summary-list")).to_contain_text("オン")
    axe.check(phone)
