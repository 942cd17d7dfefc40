"""A supervisor works a department's queue in the browser, on a phone and on a desk: the
rows by deadline, a filter, and an assignment with its reason; axe on every page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.casework.lifecycle import Action
from portal.extensions import db
from portal.japan.clock import today_in_japan
from portal.journey.models import ProcedureRequest
from portal.tenancy.models import Municipality
from tests.browser.test_sign_in import sign_in
from tests.factories import CaseFactory, RequestFactory

pytestmark = pytest.mark.browser


def test_a_supervisor_filters_the_queue_and_assigns_on_a_phone_and_a_desk(
    app, phone: Page, axe, live_portal: str, demo
) -> None:
    with app.app_context():
        chiyoda = db.session.scalar(select(Municipality).filter_by(code="131016"))
        for due_in in (-2, 1, 10):
            RequestFactory(
                case=CaseFactory(filed=True, forms=[]),
                municipality=chiyoda,
                deadline=today_in_japan() + timedelta(days=due_in),
            )
        db.session.commit()
    sign_in(phone, axe, live_portal, "ito-ken", "9999")
    phone.get_by_role("link", name="職員ページへ").click()
    expect(phone.get_by_text("処理中 3件")).to_be_visible()
    phone.get_by_role("link", name=re.compile("区民課")).click()
    rows = phone.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("期限超過")
    axe.check(phone)

    phone.get_by_label("期限超過のみ").check()
    phone.get_by_role("button", name="表示").click()
    expect(rows).to_have_count(1)
    axe.check(phone)
    phone.get_by_role("link", name="絞り込みを解除").click()
    expect(rows).to_have_count(3)

    phone.set_viewport_size({"width": 1280, "height": 900})
    axe.check(phone)
    receipt = rows.first.locator("th a").inner_text()
    rows.first.locator("input[type=checkbox]").check()
    # The demo clerk has not signed in yet: the portal knows no name for them.
    phone.get_by_label("割り当てる職員").select_option(label="（まだログインしていません）")
    phone.get_by_label("割り当ての理由").fill("窓口の応援")
    phone.get_by_role("button", name="選んだ申請を割り当てる").click()
    expect(phone.get_by_text("1件を（まだログインしていません）に割り当てました。")).to_be_visible()
    expect(rows.first).to_contain_text("（まだログインしていません）")
    axe.check(phone)
    with app.app_context():
        assigned = db.session.scalar(
            select(ProcedureRequest).where(ProcedureRequest.assignee_id.is_not(None))
        )
        assert assigned.case.receipt_number == receipt
        assert [(e.action, e.reason) for e in assigned.events] == [(Action.ASSIGN, "窓口の応援")]
