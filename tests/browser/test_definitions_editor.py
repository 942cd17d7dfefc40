"""The structured editor in the browser: the portal admin moves a field, adds a field of the
form's own, leaves a title empty and is told beside it (what was typed kept), on a desk and on
a phone; a workflow's editor with its conditions. axe checks every page."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from portal.definitions.models import DefinitionVersion
from portal.extensions import db
from tests.browser.conftest import PHONE
from tests.browser.test_back_office import staff_sign_in
from tests.definitions.test_admin import make_draft

pytestmark = pytest.mark.browser


def _fields(app: Flask, draft_id: int, section: int) -> list[str]:
    with app.app_context():
        content = db.session.get(DefinitionVersion, draft_id).content
        return [field["key"] for field in content["sections"][section]["fields"]]


def test_an_admin_edits_a_draft_in_the_structured_editor(
    app: Flask, desk: Page, axe, steps, live_portal: str, demo, definitions
) -> None:
    form_draft = make_draft(app, "form", "mic.tenshutsu")
    before = _fields(app, form_draft, 0)
    staff_sign_in(desk, axe, live_portal, "watanabe-yui", "0000")
    desk.goto(f"{live_portal}/admin/definitions/versions/{form_draft}")
    desk.get_by_role("link", name=re.compile("構造化エディタ")).first.click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("mic.tenshutsu — 構造化エディタ")
    axe.check(desk)
    steps.shot(desk, "editor")

    # A field moved up by its named button.
    desk.get_by_role("button", name="「新しい住所」を上へ移動").click()
    expect(desk.get_by_role("status").first).to_contain_text("下書きを保存しました")
    assert _fields(app, form_draft, 0) == [before[1], before[0], *before[2:]]
    axe.check(desk)

    # A field of the form's own, added to the first section.
    adding = desk.locator("fieldset", has=desk.get_by_role("heading", name="項目を追加"))
    adding.get_by_label("追加するセクション").select_option(index=0)
    adding.get_by_label(re.compile("この様式だけの新しい項目")).fill("mail_forwarding")
    adding.get_by_label("その種類").select_option("yes_no")
    adding.get_by_label("その項目名（ja）").fill("郵便物の転送を希望しますか")
    adding.get_by_label("その項目名（en）").fill("Do you want your mail forwarded?")
    adding.get_by_role("button", name="項目を追加する").click()
    expect(desk.get_by_role("status").first).to_contain_text("下書きを保存しました")
    assert _fields(app, form_draft, 0)[-1] == "mic.tenshutsu.mail_forwarding"
    axe.check(desk)

    # The form's Japanese title emptied: refused beside it and in the summary, the English kept.
    title = desk.get_by_label("名称（ja）")
    title.fill("")
    desk.get_by_label("名称（en）").fill("Notice of moving out (changed)")
    desk.get_by_role("button", name="下書きを保存").first.click()
    expect(desk.locator(".error-summary")).to_be_visible()
    expect(desk.locator(".form-group--error").first).to_contain_text("空欄にはできません")
    expect(desk.get_by_label("名称（en）")).to_have_value("Notice of moving out (changed)")
    axe.check(desk)
    steps.shot(desk, "editor-refused")
    desk.set_viewport_size(PHONE)
    steps.shot(desk, "editor-refused-phone")
    fits_a_phone(desk)
    desk.set_viewport_size({"width": 1280, "height": 800})

    # A workflow's editor: its forms, each with its condition built or shown as it is.
    workflow_draft = make_draft(app, "workflow", "moving")
    desk.goto(f"{live_portal}/admin/definitions/versions/{workflow_draft}/editor")
    expect(desk.get_by_role("heading", level=1)).to_have_text("moving — 構造化エディタ")
    expect(desk.locator("main")).to_contain_text("mic.tenshutsu")
    axe.check(desk)
    steps.shot(desk, "workflow-editor")
    desk.set_viewport_size(PHONE)
    steps.shot(desk, "workflow-editor-phone")
    fits_a_phone(desk)


def fits_a_phone(page: Page) -> None:
    """Nothing wider than the screen: the elements that stick out are named if any do."""
    wide = page.evaluate(
        "[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right"
        " > innerWidth + 1).map(e => e.tagName + '.' + e.className).slice(0, 8)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], wide
