"""Where each procedure goes: online to the department that handles it, or, for a municipality
not served on this portal, to its counter; designated cities' ward offices; the addresses
deciding whether a move is between municipalities."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.casework.lifecycle import RequestStatus
from portal.extensions import db
from portal.journey.models import ProcedureRequest
from tests.journey.test_journeys import CHIYODA_ADDRESS, complete
from tests.support.journey import days_ago

UMEDA_OSAKA = {"postal_code": "530-0001", "street": "1-1", "building": ""}  # 大阪市北区
ONNA_OKINAWA = {"postal_code": "904-0411", "street": "100", "building": ""}  # 恩納村
NIHON_ODORI = {"postal_code": "231-0021", "street": "1", "building": ""}  # 横浜市中区


def requests_of(app, case_id: int) -> dict[str, dict[str, str | None]]:
    """Each request: status, municipality, office (the counter) and department, by form."""
    with app.app_context():
        found = db.session.scalars(select(ProcedureRequest).filter_by(case_id=case_id))
        return {
            r.form_id: {
                "status": r.status.value,
                "municipality": r.municipality.code,
                "office": r.office.code,
                "department": r.department.name_ja if r.department else None,
            }
            for r in found
        }


def moving(new_address: dict, scope: str = "between", **answers) -> dict:
    return {
        "filing.proxy": False,
        "move.scope": scope,
        "move.new_address": new_address,
        "move.date": days_ago(2),
        "move.members": [],
        "move.circumstances": [],
        **answers,
    }


def test_moving_out_of_chiyoda_to_a_municipality_not_served(
    app, resident, known_municipalities
) -> None:
    known_municipalities("271276")  # 大阪市北区, with 大阪市 and its wards; no departments
    person = resident("yamada-taro")
    walk = person.walk(person.start("moving"), moving(UMEDA_OSAKA))
    procedures_page = person.client.get(f"/cases/{person.case_id}/procedures").text
    moving_in = procedures_page.split('procedure__title">転入届', 1)[1].split("</dl>", 1)[0]
    assert "大阪市北区役所の窓口" in moving_in and "持ち物" in moving_in
    assert "大阪市北区役所の窓口" in walk.last.text  # the check page says so too

    sent = person.submit(walk.last)
    receipt = person.client.get(sent.headers["Location"]).text

    # The move-out goes online to Chiyoda; the move-in stays, as a procedure for 北区's counter.
    assert requests_of(app, person.case_id) == {
        "mic.tenshutsu": {
            "status": "submitted",
            "municipality": "131016",
            "office": "131016",
            "department": "区民課",
        },
        "mic.tennyu": {
            "status": "at_counter",
            "municipality": "271004",
            "office": "271276",
            "department": None,
        },
        "municipal.inkan_touroku": {
            "status": "at_counter",
            "municipality": "271004",
            "office": "271276",
            "department": None,
        },
    }
    counter_part = receipt.split('card__title">転入届', 1)[1].split("</dl>", 1)[0]
    assert "大阪市北区役所の窓口で" in counter_part
    assert "マイナンバーカード" in counter_part and "受付番号" in counter_part
    with app.app_context():
        moving_in = db.session.scalar(select(ProcedureRequest).filter_by(form_id="mic.tennyu"))
        deadline = moving_in.deadline
    assert deadline is not None and f"{deadline.year}年{deadline.month}月{deadline.day}日" in (
        counter_part
    )
    home = person.client.get("/").text
    assert "窓口で手続" in home


def test_a_procedure_is_kept_even_when_its_municipality_was_never_loaded(app, resident) -> None:
    """A deployment that skipped ``municipalities load`` still loses no procedure."""
    person = resident("yamada-taro")
    complete(person, "moving", moving(ONNA_OKINAWA))
    filed = requests_of(app, person.case_id)
    assert filed["mic.tennyu"]["status"] == RequestStatus.AT_COUNTER.value
    assert filed["mic.tennyu"]["municipality"] == filed["mic.tennyu"]["office"] == "473111"


def test_moving_into_chiyoda_from_a_municipality_not_served(
    app, resident, known_municipalities
) -> None:
    known_municipalities("473111")  # 恩納村, not served here
    person = resident("yamada-taro")
    complete(
        person,
        "moving",
        moving(
            CHIYODA_ADDRESS,
            **{"filing.proxy": True, "principal.address": ONNA_OKINAWA},
        ),
    )
    filed = requests_of(app, person.case_id)
    assert filed["mic.tenshutsu"] == {
        "status": "at_counter",
        "municipality": "473111",
        "office": "473111",
        "department": None,
    }
    assert filed["mic.tennyu"]["status"] == "submitted"
    assert filed["mic.tennyu"]["municipality"] == "131016"
    assert filed["mic.tennyu"]["department"] == "区民課"


def test_a_move_within_that_leaves_the_municipality_is_a_move_between(app, resident) -> None:
    """佐藤 花子 of 横浜市 ticks "within" but gives an address in Chiyoda: the address decides."""
    person = resident("sato-hanako")
    walk = person.walk(person.start("moving"), moving(CHIYODA_ADDRESS, scope="within"))
    assert any("市区町村をまたぐ引越し" in notice for notice in walk.notices), walk.notices
    assert person.case().answers["move.scope"] == "between"
    sent = person.submit(walk.last)
    assert sent.status_code == 302
    filed = requests_of(app, person.case_id)
    assert set(filed) == {"mic.tenshutsu", "mic.tennyu", "municipal.inkan_touroku"}
    assert filed["mic.tenshutsu"]["municipality"] == "141003"
    assert filed["mic.tennyu"]["municipality"] == "131016"


def test_a_move_between_two_wards_of_one_city_is_a_move_within(app, resident) -> None:
    """Two wards of a designated city are one municipality: a 転居届, not 転出 and 転入."""
    person = resident("sato-hanako")
    west_ward = {"postal_code": "220-0011", "street": "1", "building": ""}  # 横浜市西区
    walk = person.walk(person.start("moving"), moving(west_ward, scope="between"))
    assert any("同じ市区町村内の引越し" in notice for notice in walk.notices), walk.notices
    person.submit(walk.last)
    filed = requests_of(app, person.case_id)
    assert set(filed) == {"mic.tenkyo"}
    # With the city's department, at the counter of the new ward: 横浜市西区役所.
    assert filed["mic.tenkyo"]["municipality"] == "141003"
    assert filed["mic.tenkyo"]["office"] == "141038"


def test_in_yokohama_the_counter_is_the_ward_office(app, resident) -> None:
    person = resident("yamada-taro")
    _asked, receipt = complete(person, "moving", moving(NIHON_ODORI))
    filed = requests_of(app, person.case_id)
    # Filed with the city's departments, at the counter of the ward the address is in; it
    # waits there for Chiyoda's approval of the moving-out.
    assert filed["mic.tennyu"] == {
        "status": "awaiting_hand_off",
        "municipality": "141003",
        "office": "141046",
        "department": "戸籍課 登録担当",
    }
    assert "横浜市中区役所 戸籍課 登録担当" in receipt


def test_english_separates_the_department_from_the_office(app, resident) -> None:
    person = resident("yamada-taro")
    person.client.set_cookie("madoguchi_lang", "en")
    _asked, receipt = complete(person, "moving", moving(NIHON_ODORI))
    assert "Family Register and Residents Division, Naka Ward Office, Yokohama City, Kanagawa" in (
        receipt
    )
    assert "Residents Division, Chiyoda City, Tokyo" in receipt
    assert "Kanagawa Family" not in receipt and "Tokyo Residents" not in receipt


def test_a_municipality_missing_from_the_official_list_still_gets_its_procedures(
    app, resident
) -> None:
    """A code newer than the installed postal data: kept for the counter the address names."""
    from portal.journey.models import Case

    person = resident("yamada-taro")
    walk = person.walk(person.start("moving"), moving(ONNA_OKINAWA))
    with app.app_context():
        case = db.session.get(Case, person.case_id)
        unlisted = {**case.answers["move.new_address"], "municipality_code": "016951"}
        unlisted.update(prefecture="北海道", city="色丹郡色丹村")
        case.answers = {**case.answers, "move.new_address": unlisted}
        db.session.commit()
    assert person.submit(walk.last).status_code == 302
    filed = requests_of(app, person.case_id)
    assert filed["mic.tennyu"]["status"] == "at_counter"
    assert filed["mic.tennyu"]["office"] == "016951"
    assert filed["mic.tenshutsu"]["status"] == "submitted"
    receipt = person.client.get(f"/cases/{person.case_id}/receipt").text
    assert "北海道色丹郡色丹村の窓口で" in receipt


def receipt_heading(receipt: str) -> str:
    return re.search(r"<h1[^>]*>(.*?)</h1>", receipt, flags=re.S).group(1).strip()


def test_the_receipt_says_what_was_sent_and_what_is_left_for_the_counter(
    app, resident, known_municipalities
) -> None:
    known_municipalities("271276")  # 大阪市北区, not served here
    person = resident("yamada-taro")
    _asked, receipt = complete(person, "moving", moving(UMEDA_OSAKA))
    assert receipt_heading(receipt) == "申請の一部を送信しました。残りは窓口での手続きです"
    assert "<title>申請の一部を送信しました。" in receipt
    assert "それぞれの申請は担当の部署に送りました" not in receipt  # not all of them
    assert "「送信した申請」" in receipt and "「窓口で行う手続き」" in receipt


def test_a_receipt_with_nothing_sent_online_says_so(app, resident, known_municipalities) -> None:
    known_municipalities("473111")  # 恩納村, not served here
    person = resident("yamada-taro")
    onna = {**ONNA_OKINAWA, "street": "200"}
    answers = {"filing.proxy": True, "principal.address": ONNA_OKINAWA}
    _asked, receipt = complete(person, "moving", moving(onna, scope="within", **answers))
    assert set(r["status"] for r in requests_of(app, person.case_id).values()) == {"at_counter"}
    nothing_sent = "オンラインで送信した申請はありません。窓口で手続きしてください"
    assert receipt_heading(receipt) == nothing_sent
    assert "送信した申請" not in receipt.split("</h1>", 1)[1]


def test_a_receipt_with_everything_sent_says_sent(app, resident) -> None:
    person = resident("yamada-taro")
    _asked, receipt = complete(person, "moving", moving(NIHON_ODORI))
    assert receipt_heading(receipt) == "申請を送信しました"
    assert "それぞれの申請は担当の部署に送りました" in receipt
    assert "窓口で行う手続き" not in receipt
