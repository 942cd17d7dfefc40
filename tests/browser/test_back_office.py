"""The back office end to end in real Chromium (issue 7): a resident on a phone who moved from
千代田区 to 横浜市, clerks of both municipalities at desktops, two browser contexts side by side,
axe-core on every page shown and a screenshot of each step.

The move is filed with factories (as every filed case in tests is); what follows is done by
pressing what the pages show: the correction asked, made and approved in Chiyoda, the hand-off,
the Yokohama clerk's day of visits and approval, then the resident's mailbox and access record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portal.accounts.models import Account
from portal.bookings import services as bookings
from portal.bookings.views import format_visit
from portal.casework.lifecycle import RequestStatus
from portal.extensions import db
from portal.japan.clock import JAPAN, today_in_japan
from portal.journey import services as journey
from portal.journey.models import ProcedureRequest
from portal.tenancy.models import Municipality
from tests.browser.conftest import PHONE
from tests.browser.test_moving_journey import sign_in
from tests.factories import AccountFactory, CaseFactory, RoleFactory
from tests.support.journey import CHIYODA_SAVED, WITHIN, YOKOHAMA_NAKA_SAVED
from tests.support.people import login_as

pytestmark = pytest.mark.browser

#: WCAG's reflow width (1.4.10): 320 CSS pixels, nothing to scroll sideways.
NARROWEST = {"width": 320, "height": 640}
PHONE_LABEL = "日中に連絡がとれる電話番号"
#: The resident's own move from Chiyoda (where they live) to Naka Ward, Yokohama.
MOVE = {
    **WITHIN,
    "move.scope": "between",
    "principal.address": CHIYODA_SAVED,  # from the card, as the journey fills it in
    "move.new_address": YOKOHAMA_NAKA_SAVED,
    "applicant.family_name": "山田",
    "applicant.given_name": "太郎",
    "applicant.phone": "0312345678",
}


@dataclass
class Moved:
    receipt_number: str
    moving_out: int
    moving_in: int
    visit_day: str
    #: As the pages write it: 2026年12月3日（木） 09:30–10:00.
    visit: str


def staff_sign_in(desk: Page, axe, live_portal: str, persona: str, pin: str) -> None:
    """As the demo clerks do: the footer's staff sign-in, the development provider, staff home."""
    desk.goto(live_portal + "/")
    desk.get_by_role("link", name="市区町村職員の方のログイン").click()
    expect(desk).to_have_url(re.compile(r"/authorize"))
    desk.locator(f"input[name=persona][value={persona}]").check()
    desk.get_by_label("暗証番号（数字4桁）").fill(pin)
    desk.get_by_role("button", name="ログイン", exact=True).click()
    expect(desk).to_have_url(live_portal + "/staff/")
    expect(desk.get_by_role("heading", level=1)).to_have_text("職員")
    axe.check(desk)


def open_request(desk: Page, axe, department: str, receipt_number: str) -> None:
    """From staff home to the department's page, then to the request."""
    desk.get_by_role("link", name=re.compile(department)).first.click()
    expect(desk.get_by_role("heading", level=1)).to_have_text(department)
    axe.check(desk)
    desk.get_by_role("link", name=receipt_number, exact=True).click()
    axe.check(desk)


def act(desk: Page, button: str) -> None:
    desk.get_by_role("button", name=button, exact=True).click()
    expect(desk.get_by_role("status").first).to_contain_text(f"「{button}」")


def file_the_move(app: Flask) -> Moved:
    """The resident's move, filed, with the move-in's counter visit booked for the first free
    time; as ``journey.submit`` routes it: out to Chiyoda, in waiting for Yokohama."""
    with app.test_request_context():
        resident = db.session.scalar(select(Account).filter_by(display_name="山田 太郎"))
        case = CaseFactory(account=resident, answers=MOVE, language="ja")
        journey.submit(case)
        by_form = {r.form_id: r for r in case.requests}
        moving_out, moving_in = by_form["mic.tenshutsu"], by_form["mic.tennyu"]
        assert moving_out.municipality.code == "131016"
        assert moving_in.municipality.code == "141003"
        assert moving_in.status is RequestStatus.AWAITING_HAND_OFF
        day = bookings.available_slots(moving_in.department, today_in_japan(), 14)[0]
        booking = bookings.book(moving_in, day.slots[0].start, resident)
        db.session.commit()
        return Moved(
            case.receipt_number,
            moving_out.id,
            moving_in.id,
            booking.slot_start.astimezone(JAPAN).date().isoformat(),
            format_visit(booking),
        )


def test_a_move_through_both_back_offices(
    app: Flask,
    browser: Browser,
    phone: Page,
    desk: Page,
    axe,
    live_portal: str,
    steps,
    demo,
    definitions,
) -> None:
    # The resident, on a phone, has moved; the move is filed with its visit booked.
    sign_in(phone, axe, live_portal, "yamada-taro", "山田 太郎", "1234")
    moved = file_the_move(app)
    steps.shot(phone, "resident-dashboard")

    # A Chiyoda clerk, at a desk, claims the moving-out and asks for the phone number again.
    staff_sign_in(desk, axe, live_portal, "tanaka-jiro", "1111")
    steps.shot(desk, "chiyoda-staff-home")
    open_request(desk, axe, "区民課", moved.receipt_number)
    expect(desk.get_by_role("heading", level=1)).to_contain_text("転出届")
    expect(desk.locator("main")).to_contain_text(moved.receipt_number)
    steps.shot(desk, "chiyoda-request")
    act(desk, "担当する")
    axe.check(desk)
    desk.locator("summary", has_text="補正を依頼する").click()
    correction = desk.locator("details.action[open]")
    correction.get_by_label("届出人の電話番号").check()
    correction.get_by_label("住民に補正してもらう内容").fill("日中この番号につながりませんでした。")
    axe.check(desk)
    steps.shot(desk, "chiyoda-asks-correction")
    correction.get_by_role("button", name="補正を依頼する").click()
    expect(desk.get_by_role("status").first).to_contain_text("「補正を依頼する」")
    expect(desk.locator(".request-layout__side")).to_contain_text("住民の補正待ち")
    axe.check(desk)

    # The resident reads the notice on the phone and corrects the number.
    phone.goto(live_portal + "/")
    notice = phone.locator(".notification--action")
    expect(notice).to_contain_text("補正のお願いがあります")
    axe.check(phone)
    steps.shot(phone, "resident-correction-notice")
    notice.get_by_role("link", name=re.compile("^補正する")).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("申請を補正する")
    expect(phone.locator(".correction-reason")).to_contain_text("つながりませんでした")
    axe.check(phone)
    phone.get_by_label(PHONE_LABEL).fill("03-5555-1234")
    steps.shot(phone, "resident-corrects")
    phone.get_by_role("button", name="補正を送る").click()
    expect(phone.get_by_role("status").first).to_contain_text("の補正を送りました")
    axe.check(phone)

    # The clerk sees the change marked, and approves: the case goes on to Yokohama.
    desk.reload()
    expect(desk.locator(".changed")).to_contain_text("03-1234-5678 → 03-5555-1234")
    axe.check(desk)
    steps.shot(desk, "chiyoda-sees-correction")
    act(desk, "承認する")
    expect(desk.locator(".request-layout__side")).to_contain_text("承認済み")
    axe.check(desk)
    steps.shot(desk, "chiyoda-approved")
    desk.get_by_role("button", name="ログアウト").click()

    # A Yokohama clerk finds the visit on the day's bookings, then the move-in, and approves.
    staff_sign_in(desk, axe, live_portal, "takahashi-misaki", "2222")
    desk.get_by_role("link", name=re.compile("戸籍課 登録担当")).first.click()
    axe.check(desk)
    desk.get_by_role("link", name="本日の来庁予約").click()
    for _ in range((date.fromisoformat(moved.visit_day) - today_in_japan()).days):
        desk.get_by_role("link", name="次の日").click()  # the first free time may be later
    expect(desk).to_have_url(re.compile(rf"/bookings(\?day={moved.visit_day})?$"))
    visits = desk.get_by_role("table")
    expect(visits).to_contain_text(moved.receipt_number)
    expect(visits).to_contain_text("転入届")
    axe.check(desk)
    steps.shot(desk, "yokohama-visits")
    desk.get_by_role("link", name="受付一覧に戻る").click()
    axe.check(desk)
    # The case's other requests for this department sit in the queue too: the move-in's row.
    desk.get_by_role("row").filter(has_text="転入届").get_by_role(
        "link", name=moved.receipt_number, exact=True
    ).click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text("転入届")
    # The booked visit beside the request; the hand-off said by where it came from.
    facts = desk.locator(".request-layout__side .facts > div").filter(
        has=desk.get_by_role("term").filter(has_text=re.compile("^来庁予約$"))
    )
    expect(facts.get_by_role("definition")).to_have_text(moved.visit)
    expect(desk.locator(".history")).to_contain_text("引継ぎを受領")
    expect(desk.locator(".history")).to_contain_text("東京都千代田区からの転出の情報。")
    expect(desk.locator("main")).not_to_contain_text("hand_off")
    expect(desk.get_by_role("heading", name="この申請とともに届け出られた内容")).to_have_count(0)
    axe.check(desk)
    steps.shot(desk, "yokohama-request")
    act(desk, "担当する")
    act(desk, "承認する")
    expect(desk.locator(".request-layout__side")).to_contain_text("承認済み")
    axe.check(desk)
    steps.shot(desk, "yokohama-approved")

    # The resident's mailbox and access record list each step.
    phone.goto(live_portal + "/")
    phone.get_by_role("link", name=re.compile("^お知らせ")).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("お知らせ")
    subjects = phone.locator(".card-list > .card a")
    expect(subjects).to_have_text(
        [
            re.compile("^受理しました：転入届"),
            re.compile("^証明書を発行しました：転出届$"),  # its 転出証明書, issued by a job
            re.compile("^神奈川県横浜市へ引き継ぎました：転出届$"),
            re.compile("^補正のお願い：転出届$"),  # as the dashboard and the page say
            re.compile("^来庁の予約を受け付けました："),
        ]
    )
    axe.check(phone)
    steps.shot(phone, "resident-mailbox")
    phone.goto(live_portal + "/")
    phone.get_by_role("link", name="あなたの情報を開いた機関を確認する").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("あなたの情報の提供等の記録")
    expect(phone.locator("main .caption")).to_have_text(re.compile(r"^\d+件（新しい順）$"))
    records = phone.locator(".card-list > .card")
    for purpose, office, procedure in [
        ("申請を開きました", "東京都千代田区 区民課", "転出届"),
        ("申請を他の機関に引き継ぎました", "東京都千代田区 区民課", "転出届"),
        ("申請を他の機関から引き継ぎました", "神奈川県横浜市 戸籍課 登録担当", "転入届"),
        ("申請を開きました", "神奈川県横浜市 戸籍課 登録担当", "転入届"),
    ]:
        step = records.filter(has=phone.get_by_role("heading", level=2, name=purpose))
        expect(step.filter(has_text=office).filter(has_text=procedure).first).to_be_visible()
    expect(records.first).to_contain_text("神奈川県横浜市")  # newest first
    axe.check(phone)
    steps.shot(phone, "resident-access-record")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    with app.app_context():
        statuses = {
            r.form_id: r.status
            for r in db.session.scalars(
                select(ProcedureRequest).where(
                    ProcedureRequest.id.in_([moved.moving_out, moved.moving_in])
                )
            )
        }
    assert statuses == {
        "mic.tenshutsu": RequestStatus.APPROVED,
        "mic.tennyu": RequestStatus.APPROVED,
    }


# The clerk's request page: both languages, wrong input, a stale tab ----------------------

#: What the page says, by language: the action buttons, the refusals, the stale notice.
SAYS = {
    "ja": {
        "claim": "担当する",
        "reject": "却下する",
        "correction": "補正を依頼する",
        "note": "内部メモ",
        "correction reason": "住民に補正してもらう内容",
        "summary": "入力内容を確認してください",
        "give a reason": "理由を入力してください。",
        "name one": "補正する項目または書類を1つ以上選んでください。",
        "error": "エラー：",
        "changed": "このページを開いた後に申請が変更されました",
    },
    "en": {
        "claim": "Claim",
        "reject": "Reject",
        "correction": "Ask for a correction",
        "note": "Internal note",
        "correction reason": "What the resident should correct",
        "summary": "There is a problem",
        "give a reason": "Give a reason.",
        "name one": "Name at least one answer or document to correct.",
        "error": "Error:",
        "changed": "This request changed since you opened it",
    },
}


@dataclass
class Filed:
    url: str
    receipt_number: str


@pytest.fixture
def filed(app: Flask, live_portal: str, desk: Page, demo, definitions) -> Filed:
    """A filed moving-out at Chiyoda's 区民課, and the desk signed in as its demo clerk
    (a session as a sign-in makes: the sign-in itself is the journey test's)."""
    with app.test_request_context():
        chiyoda = db.session.scalar(select(Municipality).filter_by(code="131016"))
        case = CaseFactory(filed=True, forms=["mic.tenshutsu"], municipality=chiyoda, answers=MOVE)
        request = case.requests[0]
        clerk_id = RoleFactory(department=request.department).account.id
        db.session.commit()
        found = Filed(f"{live_portal}/staff/requests/{request.id}", case.receipt_number)
    client = app.test_client()
    login_as(client, clerk_id)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    desk.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_portal}])
    return found


def in_language(desk: Page, live_portal: str, language: str) -> dict[str, str]:
    desk.context.add_cookies([{"name": "madoguchi_lang", "value": language, "url": live_portal}])
    return SAYS[language]


def refused(desk: Page, says: dict[str, str], message: str, target: str, field: str) -> None:
    """The summary first and focused, linking to the ``target`` input; the ``field`` (its
    group, for choices) says it too."""
    summary = desk.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading", level=2)).to_have_text(says["summary"])
    link = summary.get_by_role("link", name=message)
    expect(link).to_have_attribute("href", f"#{target}")
    expect(desk.locator(f"#{field}-error")).to_have_text(f"{says['error']} {message}")
    expect(desk).to_have_title(re.compile(f"^{re.escape(says['error'])} "))
    link.click()
    expect(desk.locator(f"#{target}")).to_be_focused()


@pytest.mark.parametrize("language", ["ja", "en"])
def test_wrong_input_on_the_request_page_is_said_in_the_summary_and_beside_the_field(
    desk: Page, axe, live_portal: str, filed: Filed, language: str, steps
) -> None:
    says = in_language(desk, live_portal, language)
    desk.goto(filed.url)
    expect(desk.get_by_role("heading", level=1)).to_contain_text(
        "転出届" if language == "ja" else "Moving-out"
    )
    expect(desk.locator("main")).to_contain_text(filed.receipt_number)
    axe.check(desk)
    desk.get_by_role("button", name=says["claim"], exact=True).click()
    expect(desk.get_by_role("status").first).to_be_visible()
    axe.check(desk)

    # Rejecting without a reason.
    desk.locator("summary", has_text=says["reject"]).click()
    desk.locator("details.action[open]").get_by_role("button", name=says["reject"]).click()
    refused(desk, says, says["give a reason"], "reject-reason", "reject-reason")
    expect(desk.locator("details.action[open] summary")).to_have_text(says["reject"])
    axe.check(desk)
    steps.shot(desk, f"reject-without-reason-{language}")

    # A correction that names nothing: refused, what was typed kept.
    desk.locator("summary", has_text=says["correction"]).click()
    asked = desk.locator("details.action").filter(
        has=desk.locator("summary", has_text=says["correction"])
    )
    asked.get_by_label(says["correction reason"]).fill("電話がつながりません。")
    asked.get_by_role("button", name=says["correction"]).click()
    refused(desk, says, says["name one"], "ask_correction-answers-0", "ask_correction-answers")
    expect(desk.get_by_label(says["correction reason"])).to_have_value("電話がつながりません。")
    axe.check(desk)
    steps.shot(desk, f"correction-naming-nothing-{language}")


def test_a_stale_tab_shows_what_changed_and_keeps_what_was_typed(
    desk: Page, axe, live_portal: str, filed: Filed, steps
) -> None:
    says = SAYS["ja"]
    desk.goto(filed.url)
    stale = desk.context.new_page()
    stale.goto(filed.url)
    axe.check(stale)

    # The first tab claims; the second, drawn before, sends a note.
    desk.get_by_role("button", name=says["claim"], exact=True).click()
    expect(desk.get_by_role("status").first).to_contain_text("「担当する」")
    stale.locator("summary", has_text=says["note"]).click()
    stale.get_by_label("メモ", exact=True).fill("古いタブで書いたメモ")
    with stale.expect_response(lambda r: r.request.method == "POST") as posted:
        stale.locator("details.action[open]").get_by_role("button", name=says["note"]).click()
    assert posted.value.status == 409

    notice = stale.get_by_role("alert").filter(has_text=says["changed"])
    expect(notice).to_be_focused()
    expect(notice.locator(".history")).to_contain_text("担当する")
    expect(stale).to_have_title(re.compile(f"^{re.escape(says['error'])} "))
    expect(stale.get_by_label("メモ", exact=True)).to_have_value("古いタブで書いたメモ")
    axe.check(stale)
    steps.shot(stale, "stale-tab")

    # Sent again from there, it is done, and the history has both.
    stale.locator("details.action[open]").get_by_role("button", name=says["note"]).click()
    expect(stale.get_by_role("status").first).to_contain_text("「内部メモ」")
    history = stale.locator(".request-layout__main .history")
    expect(history).to_contain_text("担当する")
    expect(history).to_contain_text("古いタブで書いたメモ")
    axe.check(stale)


def test_the_clerks_pages_fit_a_phone(
    app: Flask, phone: Page, axe, live_portal: str, demo, definitions, steps
) -> None:
    """A clerk at the counter with a phone, at the narrowest width WCAG asks to reflow:
    staff home, the department, the day's visits, the request; nothing scrolls sideways."""
    with app.test_request_context():
        resident = AccountFactory(display_name="山田 太郎")
        db.session.flush()
        case = CaseFactory(account=resident, answers=MOVE, language="ja")
        journey.submit(case)
        moving_in = next(r for r in case.requests if r.form_id == "mic.tennyu")
        day = bookings.available_slots(moving_in.department, today_in_japan(), 14)[0]
        booking = bookings.book(moving_in, day.slots[0].start, resident)
        visit_day = booking.slot_start.astimezone(JAPAN).date().isoformat()
        clerk_id = RoleFactory(department=moving_in.department).account.id
        request_id, department_id = moving_in.id, moving_in.department_id
        db.session.commit()
    client = app.test_client()
    login_as(client, clerk_id)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    phone.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_portal}])

    phone.set_viewport_size(NARROWEST)
    for path in [
        "/staff/",
        f"/staff/departments/{department_id}",
        f"/staff/departments/{department_id}/bookings?day={visit_day}",
        f"/staff/requests/{request_id}",
    ]:
        phone.goto(live_portal + path)
        expect(phone.get_by_role("heading", level=1)).to_be_visible()
        axe.check(phone)
        steps.shot(phone, path.strip("/").replace("/", "-").replace("?", "-"))
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= NARROWEST["width"], (path, width)
