"""A resident moves from 千代田区 to 横浜市 on a phone: from sign-in to receipt, reloading and
resuming midway, with axe-core run on every page the journey shows."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.extensions import db
from portal.japan.clock import today_in_japan
from portal.journey.models import Case, CaseStatus, ProcedureRequest

pytestmark = pytest.mark.browser

RECEIPT_NUMBER = re.compile(r"\d{6}-[0-9A-Z]{4}-[0-9A-Z]{4}")
SAVE = "保存して次へ進む"
PHONE_NUMBER = re.compile(r"03-?1234-?5678")


# Moving like a person: by what the page says ----------------------------------------------


def sign_in(phone: Page, axe, live_portal: str, persona: str, name: str, pin: str) -> None:
    """From the portal's start page through the development provider to the dashboard."""
    phone.goto(live_portal + "/")
    axe.check(phone)
    phone.get_by_role("button", name="マイナンバーカードでログイン").click()
    expect(phone).to_have_url(re.compile(r"/authorize"))
    axe.check(phone)
    card = phone.get_by_role("radio", name=re.compile(f"^{re.escape(name)}"))
    expect(card).to_have_attribute("value", persona)
    card.check()
    phone.get_by_label("暗証番号（数字4桁）").fill(pin)
    phone.get_by_role("button", name="ログイン", exact=True).click()
    expect(phone).to_have_url(live_portal + "/")


def arrive(phone: Page, axe, slug: str, heading: str | re.Pattern[str]) -> None:
    """The journey is on the page ``slug`` (and shows ``heading``); axe checks it."""
    # (a fragment followed from an error summary's link stays through the redirect)
    expect(phone).to_have_url(re.compile(rf"/cases/\d+/{re.escape(slug)}(#.*)?$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text(heading)
    if isinstance(heading, str):  # the tab says which page it is: the heading, then the site
        expect(phone).to_have_title(re.compile(rf"^(エラー： )?{re.escape(heading)} \| "))
    axe.check(phone)


def save_and_continue(phone: Page) -> None:
    phone.get_by_role("button", name=SAVE).click()


def question(phone: Page, legend: str):  # noqa: ANN201 - Locator
    """A question's fieldset, found by its legend as a screen reader announces it."""
    return phone.get_by_role("group", name=re.compile(re.escape(legend)))


def look_up_address(phone: Page, legend: str, postal_code: str, street: str) -> None:
    """Find the address by its postal code, as a resident does, then give the street number."""
    found = question(phone, legend)
    found.get_by_label("郵便番号").fill(postal_code)
    found.get_by_role("button", name="住所を検索").click()
    expect(phone.get_by_role("status")).to_contain_text("住所が見つかりました")
    question(phone, legend).get_by_label("番地").fill(street)


def fill_date(phone: Page, legend: str, day: date) -> None:
    date_group = question(phone, legend)
    date_group.get_by_label("年").fill(str(day.year))
    date_group.get_by_label("月").fill(str(day.month))
    date_group.get_by_label("日", exact=True).fill(str(day.day))


def start_moving(phone: Page) -> None:
    """On the dashboard, "始める" on the 引越し card (its name says which event)."""
    phone.get_by_role("button", name="始める：引越し").click()


# The journey ------------------------------------------------------------------------------


def test_moving_between_municipalities_on_a_phone(
    phone: Page, axe, live_portal: str, app: Flask, demo, definitions
) -> None:
    today = today_in_japan()
    moved_on = today - timedelta(days=2)

    sign_in(phone, axe, live_portal, "yamada-taro", "山田 太郎", "1234")
    expect(phone.get_by_role("heading", level=1)).to_contain_text("山田 太郎")
    axe.check(phone)
    start_moving(phone)

    # The guidance questions, one per page, each titled by its question.
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
    new_address = question(phone, "新しい住所")
    expect(new_address.get_by_label("都道府県")).to_have_value("神奈川県")
    expect(new_address.get_by_label("市区町村")).to_have_value(re.compile("^横浜市"))
    expect(new_address.get_by_label("町名")).not_to_have_value("")
    axe.check(phone)
    new_address.get_by_label("番地").fill("1-1")
    new_address.get_by_label("建物名・部屋番号（任意）").fill("港ハイツ101")
    save_and_continue(phone)

    arrive(phone, axe, "q-move.date", "引っ越しの日（予定日）")
    fill_date(phone, "引っ越しの日", moved_on)
    save_and_continue(phone)

    arrive(phone, axe, "q-move.members", "一緒に引っ越す人")
    save_and_continue(phone)  # nobody else moves

    arrive(phone, axe, "q-move.circumstances", re.compile("^引っ越す人について、あてはまるもの"))
    phone.get_by_label("国民健康保険に加入している人がいる").check()
    save_and_continue(phone)

    # The procedures that apply; the optional seal registration stays in.
    arrive(phone, axe, "procedures", "あなたに必要な手続き")
    procedures = phone.locator(".procedure-list")
    for title in [
        "転出届",
        "国民健康保険 資格喪失届（転出）",
        "転入届",
        "国民健康保険 資格取得届（転入）",
    ]:
        expect(procedures.get_by_role("heading", level=2, name=title, exact=True)).to_be_visible()
    expect(phone.get_by_role("checkbox", name=re.compile("印鑑登録申請"))).to_be_checked()
    phone.get_by_role("button", name="次へ進む").click()

    # 転出届
    arrive(phone, axe, "f-mic.tenshutsu-move", "異動の内容")
    phone.get_by_label("世帯主の氏名", exact=True).fill("山田 太郎")
    phone.get_by_label("新しい住所での世帯主の氏名").fill("山田 太郎")
    phone.get_by_label("新しい世帯主とあなた（本人）との続柄").fill("本人")
    save_and_continue(phone)

    arrive(phone, axe, "f-mic.tenshutsu-filer", "届出人")
    expect(phone.get_by_label("氏（フリガナ）")).to_have_value("ヤマダ")  # from the card
    expect(phone.get_by_label("名（フリガナ）")).to_have_value("タロウ")
    phone.get_by_label("日中に連絡がとれる電話番号").fill("03-1234-5678")
    save_and_continue(phone)

    # 国民健康保険 資格喪失届（転出）
    arrive(phone, axe, "f-mhlw.kokuho_soshitsu_tenshutsu-insured", "資格を喪失する人")

    # Midway: the page reloaded, then back to the dashboard and into the draft again.
    phone.reload()
    arrive(phone, axe, "f-mhlw.kokuho_soshitsu_tenshutsu-insured", "資格を喪失する人")
    phone.get_by_role("link", name="戻る").click()
    arrive(phone, axe, "f-mic.tenshutsu-filer", "届出人")
    # Kept as its digits (portal.japan.values.normalize_phone), with or without the hyphens typed.
    expect(phone.get_by_label("日中に連絡がとれる電話番号")).to_have_value(PHONE_NUMBER)
    phone.get_by_role("link", name="中断して後で再開する").click()
    expect(phone).to_have_url(live_portal + "/")
    axe.check(phone)
    drafts = phone.get_by_role("region", name="途中の手続きを再開する")
    expect(drafts.get_by_role("listitem")).to_have_count(1)
    drafts.get_by_role("link", name="引越し", exact=True).click()
    arrive(phone, axe, "f-mhlw.kokuho_soshitsu_tenshutsu-insured", "資格を喪失する人")
    phone.get_by_label("引っ越す国民健康保険の加入者全員").check()
    save_and_continue(phone)

    arrive(phone, axe, "f-mhlw.kokuho_soshitsu_tenshutsu-details", "対象者と資格確認書")
    phone.get_by_label("被保険者証・資格確認書の記号・番号").fill("千代田 12-345678")
    phone.get_by_label("郵送で返す").check()
    save_and_continue(phone)

    # 転入届
    arrive(phone, axe, "f-mic.tennyu-move", "異動の内容")
    expect(phone.get_by_role("radio", name="男")).to_be_checked()  # from the card
    fill_date(phone, "窓口に来る予定日", today)
    save_and_continue(phone)

    # 国民健康保険 資格取得届（転入）
    arrive(phone, axe, "f-mhlw.kokuho_shutoku_tennyu-insured", "加入する人")
    phone.get_by_label("引っ越す人全員").check()
    save_and_continue(phone)

    arrive(phone, axe, "f-mhlw.kokuho_shutoku_tennyu-details", "対象者と資格確認書")
    phone.get_by_label("郵送", exact=True).check()
    save_and_continue(phone)

    # 印鑑登録申請
    arrive(phone, axe, "f-municipal.inkan_touroku-registrant", "登録する人")
    phone.get_by_label("顔写真付きの本人確認書類（マイナンバーカードなど）").check()
    save_and_continue(phone)

    # Check your answers: what was typed before the reload is there.
    arrive(phone, axe, "check", "送信前に回答を確認してください")
    answers = {
        "新しい住所": "〒231-0021 神奈川県横浜市中区日本大通1-1 港ハイツ101",
        "引っ越しの日（予定日）": f"{moved_on.year}年{moved_on.month}月{moved_on.day}日",
        "世帯主の氏名": "山田 太郎",
        "新しい世帯主とあなた（本人）との続柄": "本人",
        "届出人の電話番号": PHONE_NUMBER,
        "被保険者証・資格確認書の記号・番号": "千代田 12-345678",
        "印鑑登録申請": None,
    }
    for label, value in answers.items():
        if value is None:
            expect(phone.get_by_role("heading", level=2, name=label)).to_be_visible()
            continue
        row = phone.locator(".summary-list__row").filter(
            has=phone.get_by_role("term").filter(has_text=re.compile(f"^{re.escape(label)}$"))
        )
        expect(row.get_by_role("definition").first).to_contain_text(value)
    destinations = phone.get_by_role("list").filter(has_text="転出届:")
    expect(destinations).to_contain_text("転出届: 東京都千代田区 区民課")
    expect(destinations).to_contain_text("転入届: 横浜市中区役所 戸籍課 登録担当")

    phone.get_by_label("入力した内容は事実に相違ありません。").check()
    phone.get_by_role("button", name="申請を送信する").click()

    # The receipt.
    expect(phone).to_have_url(re.compile(r"/cases/\d+/receipt$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("申請を送信しました")
    axe.check(phone)
    receipt_number = phone.locator(".receipt-number").inner_text()
    assert RECEIPT_NUMBER.fullmatch(receipt_number), receipt_number
    sent = phone.locator(".card-list > .card")
    expect(sent.locator(".card__title")).to_have_text(
        [
            "転出届",
            "国民健康保険 資格喪失届（転出）",
            "転入届",
            "国民健康保険 資格取得届（転入）",
            "印鑑登録申請",
        ]
    )
    handled_by = {
        "転出届": "東京都千代田区 区民課",
        "国民健康保険 資格喪失届（転出）": "東京都千代田区 保険年金課",
        "転入届": "横浜市中区役所 戸籍課 登録担当",
        "国民健康保険 資格取得届（転入）": "横浜市中区役所 保険年金課",
        "印鑑登録申請": "横浜市中区役所 戸籍課 登録担当",
    }
    for title, department in handled_by.items():
        card = sent.filter(has=phone.get_by_role("heading", level=3, name=title, exact=True))
        handled = card.locator(".facts > div").filter(
            has=phone.get_by_role("term").filter(has_text=re.compile("^担当$"))
        )
        expect(handled.get_by_role("definition")).to_have_text(department)

    # Through the app: one case, submitted, its requests routed as in the test-client walk.
    with app.app_context():
        case = db.session.scalars(select(Case)).one()
        assert case.status is CaseStatus.SUBMITTED
        assert case.receipt_number == receipt_number
        assert case.answers["move.new_address"]["municipality_code"] == "141046"  # 横浜市中区
        assert case.answers["move.new_address"]["street"] == "1-1"
        assert case.answers["move.date"] == moved_on.isoformat()
        assert case.answers["move.circumstances"] == ["kokuho"]
        assert case.answers["household.householder_name"] == "山田 太郎"
        requests = db.session.scalars(select(ProcedureRequest).filter_by(case_id=case.id))
        filed = {r.form_id: (r.municipality.code, r.department.kind) for r in requests}
    assert filed == {
        "mic.tenshutsu": ("131016", "resident_registration"),
        "mhlw.kokuho_soshitsu_tenshutsu": ("131016", "insurance_pension"),
        "mic.tennyu": ("141003", "resident_registration"),
        "mhlw.kokuho_shutoku_tennyu": ("141003", "insurance_pension"),
        "municipal.inkan_touroku": ("141003", "resident_registration"),
    }


def test_an_invalid_postal_code_is_explained_beside_the_field(
    phone: Page, axe, live_portal: str, demo, definitions
) -> None:
    sign_in(phone, axe, live_portal, "yamada-taro", "山田 太郎", "1234")
    start_moving(phone)
    question(phone, "代理人として").get_by_label("いいえ").check()
    save_and_continue(phone)
    phone.get_by_label("ほかの市区町村へ").check()
    save_and_continue(phone)
    arrive(phone, axe, "q-move.new_address", "新しい住所")
    new_address = question(phone, "新しい住所")
    new_address.get_by_label("郵便番号").fill("12")
    new_address.get_by_label("番地").fill("1-1")
    # The POST redirects (Post/Redirect/Get): the page with the errors is a GET.
    with phone.expect_response(lambda r: r.request.method == "POST") as posted:
        save_and_continue(phone)
    assert posted.value.status == 302
    phone.wait_for_load_state("load")
    # GOV.UK moves focus to the summary so that it is read first (here by `autofocus`).
    expect(phone.locator(".error-summary")).to_be_focused()

    message = "郵便番号を7桁の数字で入力してください（例：100-0013）"
    expect(phone).to_have_title(re.compile("^エラー："))
    # The summary comes first in the page's content, right under the heading.
    summary = phone.get_by_role("alert")
    expect(summary.get_by_role("heading", level=2)).to_have_text("入力内容を確認してください")
    expect(phone.locator("main > h1 + .error-summary")).to_be_visible()
    link = summary.get_by_role("link", name=message)
    expect(link).to_have_attribute("href", "#move__new_address-postal_code")
    # Beside the field: the message, announced with it; what was typed is kept.
    postal_code = question(phone, "新しい住所").get_by_label("郵便番号")
    expect(postal_code).to_have_value("12")
    expect(postal_code).to_have_attribute("aria-invalid", "true")
    expect(postal_code).to_have_accessible_description(re.compile(re.escape(message)))
    expect(phone.locator(".address__part--postal_code .field-error")).to_contain_text(message)
    expect(question(phone, "新しい住所").get_by_label("番地")).to_have_value("1-1")
    axe.check(phone)

    link.click()
    expect(postal_code).to_be_focused()

    # Corrected, the address is found and the journey goes on.
    postal_code.fill("231-0021")
    question(phone, "新しい住所").get_by_role("button", name="住所を検索").click()
    expect(phone.get_by_role("status")).to_contain_text("住所が見つかりました")
    expect(phone.get_by_role("alert")).to_have_count(0)
    expect(question(phone, "新しい住所").get_by_label("番地")).to_have_value("1-1")
    axe.check(phone)
    save_and_continue(phone)
    arrive(phone, axe, "q-move.date", "引っ越しの日（予定日）")
