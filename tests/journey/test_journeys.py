"""Each life event from guidance to receipt, through the test client: which requests were
made, where they went, and that no fact was asked twice."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.extensions import db
from portal.journey.models import Case, CaseStatus, ProcedureRequest
from tests.support.journey import Resident, days_ago

YOKOHAMA_ADDRESS = {"postal_code": "231-0021", "street": "1", "building": ""}
CHIYODA_ADDRESS = {"postal_code": "100-0013", "street": "1-3-1", "building": ""}


def filed(app, case_id: int) -> dict[str, tuple[str, str]]:
    """Each filed form: (municipality code, department kind, or "counter" where not served)."""
    with app.app_context():
        requests = db.session.scalars(select(ProcedureRequest).filter_by(case_id=case_id))
        return {
            r.form_id: (r.municipality.code, r.department.kind if r.department else "counter")
            for r in requests
        }


def complete(person: Resident, workflow: str, answers: dict) -> tuple[list[str], str]:
    """Walk to the check page, submit; returns the keys asked and the receipt page."""
    walk = person.walk(person.start(workflow), answers)
    assert walk.asked_twice() == []
    assert walk.last is not None and walk.last.status_code == 200
    sent = person.submit(walk.last)
    assert sent.status_code == 302 and sent.headers["Location"].endswith("/receipt")
    receipt = person.client.get(sent.headers["Location"])
    assert receipt.status_code == 200
    return walk.asked, receipt.text


def test_moving_between_municipalities(app, resident) -> None:
    person = resident("yamada-taro")
    asked, receipt = complete(
        person,
        "moving",
        {
            "filing.proxy": False,
            "move.scope": "between",
            "move.new_address": YOKOHAMA_ADDRESS,
            "move.date": days_ago(2),
            "move.members": [],
            "move.circumstances": ["kokuho"],
        },
    )
    assert filed(app, person.case_id) == {
        "mic.tenshutsu": ("131016", "resident_registration"),
        "mhlw.kokuho_soshitsu_tenshutsu": ("131016", "insurance_pension"),
        "mic.tennyu": ("141003", "resident_registration"),
        "mhlw.kokuho_shutoku_tennyu": ("141003", "insurance_pension"),
        "municipal.inkan_touroku": ("141003", "resident_registration"),
    }
    # The certified identity filled the resident's details: they were never asked.
    assert "applicant.family_name" not in asked and "principal.address" not in asked
    assert re.search(r"\d{6}-[0-9A-Z]{4}-[0-9A-Z]{4}", receipt)
    assert "転出届" in receipt and "横浜市" in receipt


def test_moving_within_one_municipality(app, resident) -> None:
    person = resident("yamada-taro")
    complete(
        person,
        "moving",
        {
            "filing.proxy": False,
            "move.scope": "within",
            "move.new_address": {"postal_code": "102-0082", "street": "1-1", "building": ""},
            "move.date": days_ago(1),
            "move.members": [],
            "move.circumstances": [],
        },
    )
    assert filed(app, person.case_id) == {"mic.tenkyo": ("131016", "resident_registration")}


def test_birth_filed_by_a_parent(app, resident) -> None:
    person = resident("sato-hanako")
    complete(
        person,
        "birth",
        {
            "filing.relationship": "mother",
            "birth.date": days_ago(3),
            "birth.weight": 2400,
            "insurance.kokuho": True,
            "child_allowance.receiving": False,
        },
    )
    assert filed(app, person.case_id) == {
        "moj.shussei": ("141003", "resident_registration"),
        "cfa.jidou_teate_nintei_shussei": ("141003", "child_support"),
        "municipal.kodomo_iryo": ("141003", "child_support"),
        "mhlw.kokuho_shutoku_shussei": ("141003", "insurance_pension"),
        "mhlw.shussan_ikuji_ichijikin": ("141003", "insurance_pension"),
        "cfa.teitaijuji_todoke": ("141003", "maternal_health"),
    }


def test_death_filed_by_a_relative(app, resident) -> None:
    person = resident("yamada-taro")
    complete(
        person,
        "death",
        {
            "filing.relationship": "child",
            "deceased.address": CHIYODA_ADDRESS,
            "death.date": days_ago(2),
            "death.learned_date": days_ago(2),
            "deceased.birthdate": "1940-05-01",
            "deceased.was_householder": False,
        },
    )
    assert filed(app, person.case_id) == {
        "moj.shibou": ("131016", "resident_registration"),
        "mhlw.maikasou_kyoka": ("131016", "environment"),
        "mhlw.koki_soshitsu": ("131016", "insurance_pension"),
        "mhlw.kaigo_soshitsu": ("131016", "long_term_care"),
    }  # the funeral allowance follows, after the funeral (tests/journey/test_follow_ups.py)


def test_childcare_for_a_toddler(app, resident) -> None:
    person = resident("yamada-taro")
    complete(
        person,
        "childcare",
        {
            "filing.proxy": False,
            "childcare.needs": ["daycare"],
            "children": [
                {
                    "name": "山田 花",
                    "name_kana": "ヤマダ ハナ",
                    "birthdate": "2024-06-01",
                    "sex": "female",
                }
            ],
            "child_allowance.receiving": False,
            "household.single_parent": False,
        },
    )
    assert filed(app, person.case_id) == {
        "cfa.hoiku_nintei_moushikomi": ("131016", "childcare"),
        "cfa.jidou_teate_nintei": ("131016", "child_support"),
        "municipal.kodomo_iryo": ("131016", "child_support"),
    }


def test_submitting_twice_files_once(app, resident) -> None:
    person = resident("yamada-taro")
    walk = person.walk(
        person.start("moving"),
        {
            "filing.proxy": False,
            "move.scope": "within",
            "move.members": [],
            "move.new_address": CHIYODA_ADDRESS,
            "move.circumstances": [],
        },
    )
    first = person.submit(walk.last)
    again = person.submit(walk.last)  # a double click, or the same page in another tab
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    with app.app_context():
        case = db.session.get(Case, person.case_id)
        assert case.status is CaseStatus.SUBMITTED
        assert len(case.requests) == 1
        assert len(db.session.scalars(select(Case)).all()) == 1


def test_starting_the_same_event_again_resumes_the_draft(app, resident) -> None:
    person = resident("yamada-taro")
    first = person.start("moving")
    person.walk(first, {"filing.proxy": False}, until="/q-move.scope")
    case_id = person.case_id
    again = person.start("moving")
    assert person.case_id == case_id
    assert again.endswith("/q-move.scope")  # where the resident left off


def test_an_optional_procedure_can_be_left_out(app, resident) -> None:
    person = resident("yamada-taro")
    complete(
        person,
        "moving",
        {
            "filing.proxy": False,
            "move.scope": "between",
            "move.new_address": YOKOHAMA_ADDRESS,
            "move.date": days_ago(2),
            "move.members": [],
            "move.circumstances": [],
            "included": [],  # untick 印鑑登録 on the procedures page
        },
    )
    assert filed(app, person.case_id) == {
        "mic.tenshutsu": ("131016", "resident_registration"),
        "mic.tennyu": ("141003", "resident_registration"),
    }
