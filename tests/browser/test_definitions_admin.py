"""The portal admin adds a field to the moving-out form in the browser: a draft, a bad edit
refused beside the textarea, a good one, the preview, the diff, publishing; then a resident's
new case on a phone asks the field, while a case begun before keeps the old version. axe
checks every admin page on the way."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import yaml
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.accounts.models import Role, StaffRole
from portal.definitions import versions
from portal.definitions.models import DefinitionVersion, VersionState
from portal.extensions import db
from portal.japan.clock import today_in_japan, utcnow
from portal.journey.models import Case
from tests.browser.test_back_office import staff_sign_in
from tests.browser.test_moving_journey import (
    arrive,
    fill_date,
    question,
    save_and_continue,
    sign_in,
    start_moving,
)
from tests.factories import CaseFactory

pytestmark = pytest.mark.browser

NOTE_LABEL = "郵便物の転送を希望しますか"
NOTE = {
    "key": "mic.tenshutsu.mail_forwarding",
    "required": False,
    "item": {
        "type": "yes_no",
        "label": {"ja": NOTE_LABEL, "en": "Do you want your mail forwarded?"},
        "help": {"ja": "郵便局への転居届は別に必要です", "en": "Tell the post office too"},
    },
}


def _with_note(text: str) -> str:
    data = yaml.safe_load(text)
    data["sections"][0]["fields"].insert(1, NOTE)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def test_an_admin_adds_a_field_and_a_new_case_asks_it(
    app: Flask, desk: Page, phone: Page, axe, steps, live_portal: str, demo, definitions
) -> None:
    with app.app_context():
        earlier_id = CaseFactory().id  # a case begun before: it keeps the old version
        db.session.commit()

    staff_sign_in(desk, axe, live_portal, "watanabe-yui", "0000")
    desk.goto(live_portal + "/admin/definitions/")
    expect(desk.get_by_role("heading", level=1)).to_have_text("様式と手続きの流れ")
    axe.check(desk)
    steps.shot(desk, "definitions")
    desk.get_by_role("row", name=re.compile(r"mic\.tenshutsu")).get_by_role("link").first.click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text("mic.tenshutsu")
    axe.check(desk)
    desk.get_by_role("button", name="この版から下書きを作成").click()
    textarea = desk.get_by_label("YAML")
    expect(textarea).to_be_visible()
    axe.check(desk)
    original = textarea.input_value()

    # A bad edit: the fault beside the textarea and in the summary, the text kept.
    broken = original.replace("key: move.new_address", "key: move.new_adress", 1)
    textarea.fill(broken)
    desk.get_by_role("button", name="下書きを保存").click()
    expect(desk.locator("#text-error")).to_contain_text("move.new_adress")
    expect(desk.locator(".error-summary")).to_contain_text("move.new_adress")
    expect(desk.get_by_label("YAML")).to_have_value(broken)
    font = desk.get_by_label("YAML").evaluate("e => getComputedStyle(e).fontFamily")
    assert "monospace" in font
    axe.check(desk)
    steps.shot(desk, "edit-refused")
    desk.set_viewport_size({"width": 390, "height": 844})
    box = desk.get_by_label("YAML").bounding_box()
    assert box is not None and box["width"] > 300  # full width on a phone
    # Nothing widens the page past the phone's screen (a fault's long path wraps).
    assert desk.evaluate("document.documentElement.scrollWidth") <= 390
    steps.shot(desk, "edit-refused-phone")
    desk.set_viewport_size({"width": 1280, "height": 800})

    # The field added, saved, then previewed as a resident sees it.
    desk.get_by_label("YAML").fill(_with_note(original))
    desk.get_by_role("button", name="下書きを保存").click()
    expect(desk.get_by_role("status").first).to_contain_text("下書きを保存しました")
    axe.check(desk)
    draft_url = desk.url
    desk.get_by_role("link", name="住民に見える画面でプレビュー").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("異動の内容")
    expect(desk.get_by_role("group", name=re.compile(NOTE_LABEL))).to_be_visible()
    expect(desk.get_by_role("region", name="プレビュー")).to_contain_text("下書き")
    axe.check(desk)
    steps.shot(desk, "preview")
    desk.get_by_role("button", name="保存して次へ進む").click()  # required fields left empty
    expect(desk.locator(".error-summary")).to_be_visible()
    axe.check(desk)
    steps.shot(desk, "preview-errors")
    desk.set_viewport_size({"width": 390, "height": 844})
    steps.shot(desk, "preview-phone")
    desk.set_viewport_size({"width": 1280, "height": 800})

    desk.goto(draft_url)
    desk.get_by_role("button", name="変更点を表示").click()
    expect(desk.locator("main")).to_contain_text("mic.tenshutsu.mail_forwarding")
    expect(desk.locator("main")).to_contain_text(NOTE_LABEL)  # as written, not escaped
    axe.check(desk)
    steps.shot(desk, "diff")

    desk.goto(draft_url)
    desk.get_by_role("button", name="この下書きを公開").click()
    expect(desk.get_by_role("status").first).to_contain_text("公開しました")
    axe.check(desk)

    # The same pages in English.
    desk.get_by_role("button", name="English").click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text("Version")
    axe.check(desk)
    steps.shot(desk, "published-en")
    desk.get_by_role("link", name="Preview as a resident sees it").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("The move")
    expect(
        desk.get_by_role("group", name=re.compile("Do you want your mail forwarded"))
    ).to_be_visible()
    expect(desk.get_by_role("region", name="Preview")).to_contain_text("Published")
    axe.check(desk)
    steps.shot(desk, "preview-en")
    desk.goto(live_portal + "/admin/definitions/")
    expect(desk.get_by_role("heading", level=1)).to_have_text("Forms and workflows")
    axe.check(desk)
    steps.shot(desk, "definitions-en")

    # A resident's new case asks the new field on the moving-out's first page.
    sign_in(phone, axe, live_portal, "yamada-taro", "山田 太郎", "1234")
    start_moving(phone)
    arrive(phone, axe, "q-filing.proxy", "ほかの人の代わりに（代理人として）手続しますか")
    question(phone, "代理人として").get_by_label("いいえ").check()
    save_and_continue(phone)
    arrive(phone, axe, "q-move.scope", "どこへ引っ越しますか")
    phone.get_by_label("ほかの市区町村へ").check()
    save_and_continue(phone)
    arrive(phone, axe, "q-move.new_address", "新しい住所")
    new_address = question(phone, "新しい住所")
    new_address.get_by_label("郵便番号").fill("231-0021")
    new_address.get_by_role("button", name="住所を検索").click()
    expect(phone.get_by_role("status")).to_contain_text("住所が見つかりました")
    question(phone, "新しい住所").get_by_label("番地").fill("1-1")
    save_and_continue(phone)
    arrive(phone, axe, "q-move.date", "引っ越しの日（予定日）")
    fill_date(phone, "引っ越しの日", today_in_japan())
    save_and_continue(phone)
    arrive(phone, axe, "q-move.members", "一緒に引っ越す人")
    save_and_continue(phone)
    arrive(phone, axe, "q-move.circumstances", re.compile("^引っ越す人について、あてはまるもの"))
    save_and_continue(phone)
    arrive(phone, axe, "procedures", "あなたに必要な手続き")
    phone.get_by_role("button", name="次へ進む").click()
    arrive(phone, axe, "f-mic.tenshutsu-move", "異動の内容")
    expect(question(phone, NOTE_LABEL)).to_be_visible()
    steps.shot(phone, "new-case-asks-the-field")

    with app.test_request_context():
        earlier = db.session.get(Case, earlier_id)
        newer = db.session.scalars(select(Case).where(Case.id != earlier_id)).one()
        old_fields = {f.key for f in earlier.definitions.form("mic.tenshutsu").fields()}
        new_fields = {f.key for f in newer.definitions.form("mic.tenshutsu").fields()}
        assert NOTE["key"] not in old_fields and NOTE["key"] in new_fields


def test_publishing_asks_an_admin_who_signed_in_long_ago_to_sign_in_again(
    app: Flask, desk: Page, axe, steps, live_portal: str, demo, definitions
) -> None:
    staff_sign_in(desk, axe, live_portal, "watanabe-yui", "0000")
    with app.app_context():
        draft = versions.create_draft("form", "mic.tenshutsu", actor=None)
        admin = db.session.scalars(
            select(StaffRole).where(
                StaffRole.role == Role.ADMIN, StaffRole.municipality_id.is_(None)
            )
        ).first()
        assert admin is not None
        admin.account.last_signed_in_at = utcnow() - timedelta(minutes=16)
        db.session.commit()
        draft_id = draft.id
    desk.goto(f"{live_portal}/admin/definitions/versions/{draft_id}")
    desk.get_by_role("button", name="この下書きを公開").click()
    expect(desk).to_have_url(re.compile(r"/authorize"))
    steps.shot(desk, "sign-in-again")
    desk.locator("input[name=persona][value=watanabe-yui]").check()
    desk.get_by_label("暗証番号（数字4桁）").fill("0000")
    desk.get_by_role("button", name="ログイン", exact=True).click()
    expect(desk).to_have_url(f"{live_portal}/admin/definitions/versions/{draft_id}")
    axe.check(desk)
    desk.get_by_role("button", name="この下書きを公開").click()
    expect(desk.get_by_role("status").first).to_contain_text("公開しました")
    with app.app_context():
        assert db.session.get(DefinitionVersion, draft_id).state == VersionState.PUBLISHED
