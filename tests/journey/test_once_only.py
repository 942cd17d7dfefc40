"""Once-only: a fact the resident already gave under one key is never asked again under
another (the child's name, the mother, the place of death, the child's insurance)."""

from __future__ import annotations

from tests.journey.test_journeys import YOKOHAMA_ADDRESS, complete, filed
from tests.support.journey import days_ago


def test_the_school_transfer_reads_the_children_from_the_people_moving(app, resident) -> None:
    person = resident("yamada-taro")
    walk = person.walk(
        person.start("moving"),
        {
            "filing.proxy": False,
            "move.scope": "between",
            "move.new_address": YOKOHAMA_ADDRESS,
            "move.date": days_ago(2),
            "move.members": [
                {
                    "name": "山田 一郎",
                    "birthdate": "2015-06-01",
                    "school_grade": "elementary_4",
                    "current_school": "千代田区立千代田小学校",
                },
                {"name": "山田 花子", "birthdate": "1985-01-01", "school_grade": ""},
            ],
            "move.circumstances": [],
        },
    )
    assert walk.asked_twice() == []
    pages = dict(walk.pages)
    transfer = next(url for url in pages if "f-mext.tengaku-pupils" in url)
    assert pages[transfer] == ["mext.tengaku.first_day"]  # no child's name asked again
    assert person.submit(walk.last).status_code == 302
    assert "mext.tengaku" in filed(app, person.case_id)
    members = person.case().answers["move.members"]
    assert [m["school_grade"] for m in members] == ["elementary_4", None]


def test_childcare_applications_name_no_child_again(app, resident) -> None:
    person = resident("yamada-taro")
    asked, _receipt = complete(
        person,
        "childcare",
        {
            "filing.proxy": False,
            "childcare.needs": ["daycare", "free_preschool"],
            "children": [
                {
                    "name": "山田 花",
                    "birthdate": "2021-06-01",
                    "care_application": "free_preschool",
                },
                {"name": "山田 陽", "birthdate": "2024-06-01", "care_application": "daycare"},
            ],
            "child_allowance.receiving": True,
            "household.single_parent": False,
        },
    )
    assert {"cfa.hoiku_nintei_moushikomi", "cfa.shisetsu_riyou_kyufu"} <= set(
        filed(app, person.case_id)
    )
    assert not [key for key in asked if key.endswith("child_name")]
    assert asked.count("children") == 1


def test_a_father_filing_a_birth_names_the_mother_once(app, resident) -> None:
    person = resident("yamada-taro")
    asked, _receipt = complete(
        person,
        "birth",
        {
            "filing.relationship": "father",
            "birth.date": days_ago(3),
            "birth.weight": 3000,
            "birth.parents_married": True,
            "insurance.kokuho": True,
            "child_allowance.receiving": False,
        },
    )
    assert "mhlw.shussan_ikuji_ichijikin" in filed(app, person.case_id)
    assert "spouse.name" in asked  # on the birth notification, the mother
    assert "mhlw.shussan_ikuji_ichijikin.mother_name" not in asked
    # National Health Insurance was answered: the child's insurance is not asked again.
    assert "municipal.kodomo_iryo.insurance_type" not in asked
    assert "municipal.kodomo_iryo.insured_person" not in asked


def test_a_birth_outside_national_health_insurance_asks_the_childs_insurance(app, resident) -> None:
    person = resident("yamada-taro")
    asked, _receipt = complete(
        person,
        "birth",
        {
            "filing.relationship": "other_relative",
            "birth.date": days_ago(3),
            "birth.weight": 3000,
            "insurance.kokuho": False,
            "child_allowance.receiving": False,
        },
    )
    assert "municipal.kodomo_iryo.insurance_type" in asked
    assert "mhlw.shussan_ikuji_ichijikin" not in filed(app, person.case_id)


def test_a_death_at_home_is_not_asked_where_it_happened(app, resident) -> None:
    person = resident("yamada-taro")
    asked, _receipt = complete(
        person,
        "death",
        {
            "filing.relationship": "child",
            "deceased.address": {"postal_code": "100-0013", "street": "1-3-1", "building": ""},
            "death.date": days_ago(2),
            "death.learned_date": days_ago(2),
            "deceased.birthdate": "1940-05-01",
            "deceased.was_householder": False,
            "death.place_type": "home",
        },
    )
    assert "mhlw.maikasou_kyoka" in filed(app, person.case_id)
    assert "death.place_address" not in asked and "death.facility_name" not in asked
    assert asked.count("deceased.card_return") == 1
