"""``definitions check`` reports each kind of fault with its file and place."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from portal.definitions.checker import check
from portal.definitions.sources import read_sources
from portal.i18n import force_locale
from tests.definitions import minimal
from tests.definitions.minimal import text


def problems_of(tmp_path: Path, data: dict[str, Any]) -> list[str]:
    return [str(p) for p in check(read_sources(*minimal.write(tmp_path, data)))]


def test_the_minimal_set_is_sound(tmp_path: Path) -> None:
    assert problems_of(tmp_path, minimal.definitions()) == []


def test_every_shipped_definition_passes() -> None:
    sources = read_sources()
    assert {s.kind for s in sources.files} == {"vocabulary", "form", "workflow"}
    assert [str(p) for p in check(sources)] == []


def _form(data: dict[str, Any]) -> dict[str, Any]:
    return data["forms"]["mic/tenshutsu"]


def _field(data: dict[str, Any], index: int) -> dict[str, Any]:
    return _form(data)["sections"][0]["fields"][index]


def _workflow(data: dict[str, Any]) -> dict[str, Any]:
    return data["workflows"]["moving"]


FAULTS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "unknown vocabulary key",
        lambda d: _field(d, 0).update(key="applicant.nickname"),
        "forms/mic/tenshutsu.yaml:sections/0/fields/0/key: "
        "unknown vocabulary key 'applicant.nickname'",
    ),
    (
        "unknown form",
        lambda d: _workflow(d)["forms"].append({"form": "mic.tenkyo", "municipality": "current"}),
        "workflows/moving.yaml:forms/1/form: unknown form 'mic.tenkyo'",
    ),
    (
        "condition naming a missing item",
        lambda d: _field(d, 2).update(show_if={"==": [{"var": "move.reason"}, "work"]}),
        "forms/mic/tenshutsu.yaml:sections/0/fields/2/show_if: condition names a missing item "
        "'move.reason'",
    ),
    (
        "a var falling back to a missing item",
        lambda d: _field(d, 2).update(
            show_if={"==": [{"var": ["move.scope", {"var": "move.usual"}]}, "within"]}
        ),
        "condition names a missing item 'move.usual'",
    ),
    (
        "condition naming a missing part of an address",
        lambda d: _field(d, 2).update(show_if={"==": [{"var": "move.new_address.ward"}, "x"]}),
        "condition names a missing item 'move.new_address.ward'",
    ),
    (
        "a misspelt field of a group inside some",
        lambda d: _field(d, 2).update(
            show_if={"some": [{"var": "move.members"}, {"<": [{"var": "birthdat"}, "2007-04-01"]}]}
        ),
        "forms/mic/tenshutsu.yaml:sections/0/fields/2/show_if: condition names 'birthdat', "
        "which is not a field of 'move.members' (fields: name, birthdate)",
    ),
    (
        "a misspelt field of a group inside a nested all",
        lambda d: _field(d, 2).update(
            show_if={"and": [True, {"all": [{"var": "move.members"}, {"var": "name.kana"}]}]}
        ),
        "condition names 'name.kana', which is not a field of 'move.members'",
    ),
    (
        "some over an answer that is not a group",
        lambda d: _field(d, 2).update(show_if={"some": [{"var": "move.date"}, {"var": "x"}]}),
        "condition iterates over 'move.date', which is not a group",
    ),
    (
        "some over a missing item",
        lambda d: _field(d, 2).update(show_if={"none": [{"var": "move.member"}, {"var": "x"}]}),
        "condition names a missing item 'move.member'",
    ),
    (
        "an operator not allowed in definitions",
        lambda d: _field(d, 2).update(show_if={"substr": [{"var": "move.date"}, 0, 4]}),
        "condition: operator 'substr' is not allowed in definitions",
    ),
    (
        "a key extending another key",
        lambda d: d["vocabulary"]["items"].update(
            {"move.date.kind": {"type": "text", "label": text("種類", "Kind")}}
        ),
        "forms/vocabulary.yaml:items/move.date.kind: 'move.date.kind' extends the key "
        "'move.date': rename one",
    ),
    (
        "a local key extending another local key",
        lambda d: _form(d)["sections"][0]["fields"].append(
            {
                "key": "mic.tenshutsu.reason.detail",
                "item": {"type": "text", "label": text("詳細", "Detail")},
            }
        ),
        "forms/mic/tenshutsu.yaml:sections/0/fields/3/key: 'mic.tenshutsu.reason.detail' extends "
        "the key 'mic.tenshutsu.reason': rename one",
    ),
    (
        "'!' of an answer that is not yes/no",
        lambda d: _field(d, 2).update(show_if={"!": {"var": "move.new_address"}}),
        "sections/0/fields/2/show_if: condition negates 'move.new_address', which is not a "
        "yes/no answer: '!' of a missing answer is unknown; test with "
        "{'missing': ['move.new_address']}",
    ),
    (
        "one fact under two keys: the same label",
        lambda d: _form(d)["sections"][0]["fields"].append(
            {
                "key": "mic.tenshutsu.moving_day",
                "item": {"type": "date", "label": text("異動日", "Moving day")},
            }
        ),
        "workflows/moving.yaml:forms: 'mic.tenshutsu.moving_day' and 'move.date' look like the "
        "same fact (both date, labelled '異動日' and '異動日')",
    ),
    (
        "one fact under two keys: labels that read alike in both languages",
        lambda d: (
            _field(d, 2)["item"].update(
                label=text("転出の理由を詳しく書いて下さい", "Reasons for moving out")
            ),
            _form(d)["sections"][0]["fields"].append(
                {
                    "key": "mic.tenshutsu.reasons",
                    "item": {
                        "type": "text",
                        "label": text("転出の理由を詳しく書いてください", "Reason for moving out"),
                    },
                }
            ),
        ),
        "'mic.tenshutsu.reason' and 'mic.tenshutsu.reasons' look like the same fact",
    ),
    (
        "two lists of the same people",
        lambda d: (
            _workflow(d)["questions"].append({"key": "move.members"}),
            _form(d)["sections"][0]["fields"].append(
                {
                    "key": "mic.tenshutsu.movers",
                    "item": {
                        "type": "group",
                        "label": text("転出する人", "People moving out"),
                        "item_label": text("人", "Person"),
                        "fields": [
                            {
                                "key": "full_name",
                                "item": {"type": "name", "label": text("氏名", "Name")},
                            }
                        ],
                    },
                }
            ),
        ),
        "'mic.tenshutsu.movers[].full_name' and 'move.members[].name' look like the same fact "
        "(both name, labelled '氏名' and '氏名')",
    ),
    (
        "malformed condition",
        lambda d: _field(d, 2).update(show_if={"between": [1, 2, 3]}),
        "forms/mic/tenshutsu.yaml:sections/0/fields/2/show_if: condition:",
    ),
    (
        "unreachable form",
        lambda d: d["forms"].update({"mic/tenkyo": {**_form(d), "id": "mic.tenkyo"}}),
        "forms/mic/tenkyo.yaml:id: unreachable form",
    ),
    (
        "form that can never apply",
        lambda d: _workflow(d)["forms"][0].update(applies_if=False),
        "workflows/moving.yaml:forms/0/applies_if: 'mic.tenshutsu' can never apply",
    ),
    (
        "duplicate id",
        lambda d: d["forms"].update({"mic/tenshutsu2": _form(d)}),
        "duplicate form id 'mic.tenshutsu'",
    ),
    (
        "id not matching the file",
        lambda d: d["forms"].update({"mic/other": {**_form(d), "id": "mic.elsewhere"}}),
        "form id 'mic.elsewhere' must live in forms/mic/elsewhere.yaml",
    ),
    (
        "schema: a text without Japanese",
        lambda d: _form(d)["title"].pop("ja"),
        "forms/mic/tenshutsu.yaml:title: 'ja' is required here",
    ),
    (
        "schema: a text in something that is not a language code",
        lambda d: _form(d)["title"].update({"English": "Moving out"}),
        "forms/mic/tenshutsu.yaml:title: 'English' does not have the form",
    ),
    (
        "schema: a property the schema does not know",
        lambda d: _form(d).update(colour="red"),
        "forms/mic/tenshutsu.yaml:/: not allowed here: 'colour'",
    ),
    (
        "schema: a value of the wrong type",
        lambda d: _form(d).update(approvals="two"),
        "forms/mic/tenshutsu.yaml:approvals: 'two' must be a whole number",
    ),
    (
        "schema: a number above the maximum",
        lambda d: _form(d).update(approvals=3),
        "forms/mic/tenshutsu.yaml:approvals: must be 2 or less",
    ),
    (
        "schema: a number below the minimum",
        lambda d: _form(d).update(approvals=0),
        "forms/mic/tenshutsu.yaml:approvals: must be 1 or more",
    ),
    (
        "schema: a value not in the list",
        lambda d: _form(d).update(ministry="mof"),
        "forms/mic/tenshutsu.yaml:ministry: 'mof' is not one of: 'mic', 'moj'",
    ),
    (
        "schema: an empty list",
        lambda d: _form(d).update(sections=[]),
        "forms/mic/tenshutsu.yaml:sections: must not be empty",
    ),
    (
        "schema: the same entry twice in a list of unique ones",
        lambda d: _form(d).update(
            certificate={
                "id": "accepted",
                "title": text("受理証明書", "Certificate"),
                "template": "acceptance",
                "issued_on": ["approved", "approved"],
            }
        ),
        "forms/mic/tenshutsu.yaml:certificate/issued_on: lists the same entry twice",
    ),
    (
        "schema: a property that needs another beside it",
        lambda d: _form(d).update(
            certificate={
                "id": "x",
                "title": text("証明書", "Certificate"),
                "issued_on": ["approved"],
            }
        ),
        "forms/mic/tenshutsu.yaml:certificate: 'issued_on' needs 'template' beside it",
    ),
    (
        "schema: a value the schema rules out",
        lambda d: _form(d).update(
            certificate={"id": "x", "title": text("証明書", "Certificate"), "template": "receipt"}
        ),
        "forms/mic/tenshutsu.yaml:certificate/template: this is not allowed here",
    ),
    (
        "schema: none of the allowed forms",
        lambda d: _form(d).update(deadline={"days": "soon"}),
        "forms/mic/tenshutsu.yaml:deadline: matches none of the forms this place allows",
    ),
    (
        "an unknown department kind (none stored: the built-in ones)",
        lambda d: _form(d).update(department_kind="police"),
        "forms/mic/tenshutsu.yaml:department_kind: unknown department kind 'police'",
    ),
    (
        "YAML syntax",
        lambda d: d["forms"].update({"mic/broken": "id: [unclosed\n"}),
        "forms/mic/broken.yaml:/: not valid YAML",
    ),
    (
        "local item without the form's prefix",
        lambda d: _field(d, 2).update(key="reason"),
        "sections/0/fields/2/key: a local item's key must start with 'mic.tenshutsu.'",
    ),
    (
        "local item shadowing the vocabulary",
        lambda d: _field(d, 2).update(key="move.date"),
        "'move.date' is in the vocabulary: refer to it without 'item'",
    ),
    (
        "a fact asked twice in one form",
        lambda d: _form(d)["sections"][0]["fields"].append({"key": "move.new_address"}),
        "sections/0/fields/3/key: 'move.new_address' is asked twice",
    ),
    (
        "deadline counted from something that is not a date",
        lambda d: _form(d)["deadline"].update({"from": "household.kokuho"}),
        "deadline/from: 'household.kokuho' is not a date item",
    ),
    (
        "deadline counted from a date the guidance does not ask",
        lambda d: _workflow(d).update(
            questions=[{"key": "household.kokuho"}],
            forms=[{"form": "mic.tenshutsu", "municipality": "old"}],
        ),
        "counts its deadline from 'move.date', which the guidance questions do not ask",
    ),
    (
        "applies_if on an answer the guidance does not ask",
        lambda d: _workflow(d)["forms"][0].update(applies_if={"var": "move.new_address"}),
        "'move.new_address' decides whether a form applies but is not a guidance question",
    ),
    (
        "a municipality no address names",
        lambda d: _workflow(d)["municipalities"].pop("old"),
        "workflows/moving.yaml:forms/0/municipality: no address names the 'old' municipality",
    ),
    (
        "a municipality named by something that is not an address",
        lambda d: _workflow(d)["municipalities"].update(new="move.date"),
        "municipalities/new: 'move.date' is not an address item",
    ),
    (
        "a scope question the workflow does not ask",
        lambda d: _workflow(d).update(
            scope={"key": "move.scope", "same": "within", "different": "between"}
        ),
        "workflows/moving.yaml:scope/key: 'move.scope' is not a question of this workflow",
    ),
    (
        "a scope answer the question does not offer",
        lambda d: _workflow(d).update(
            scope={"key": "household.kokuho", "same": "within", "different": "between"}
        ),
        "workflows/moving.yaml:scope/same: 'within' is not an option",
    ),
    (
        "an attachment that is not a file",
        lambda d: _form(d)["attachments"].append({"key": "household.kokuho"}),
        "attachments/1/key: attachment 'household.kokuho' is not a file item",
    ),
    (
        "unknown identity claim",
        lambda d: d["vocabulary"]["items"]["applicant.family_name"].update(prefill="surname"),
        "forms/vocabulary.yaml:items/applicant.family_name/prefill: unknown identity claim",
    ),
    (
        "a prefill condition on a missing item",
        lambda d: d["vocabulary"]["items"]["applicant.address"].update(
            prefill_if={"!": {"var": "filing.nobody"}}
        ),
        "items/applicant.address/prefill_if: condition names a missing item 'filing.nobody'",
    ),
    (
        "a prefill condition that is not JsonLogic",
        lambda d: d["vocabulary"]["items"]["applicant.address"].update(
            prefill_if={"no_such_operator": [1]}
        ),
        "items/applicant.address/prefill_if: condition:",
    ),
    (
        "a hand-off from a form the workflow does not file",
        lambda d: _workflow(d).update(hand_off={"form": "mic.tennyu", "to": "new"}),
        "workflows/moving.yaml:hand_off/form: 'mic.tennyu' is not a form of this workflow",
    ),
    (
        "a hand-off to an unknown municipality",
        lambda d: _workflow(d).update(hand_off={"form": "mic.tenshutsu", "to": "next"}),
        "workflows/moving.yaml:hand_off/to: 'next' is not in municipalities",
    ),
    (
        "a hand-off to the form's own municipality",
        lambda d: _workflow(d).update(hand_off={"form": "mic.tenshutsu", "to": "old"}),
        "workflows/moving.yaml:hand_off/to: the form is handed to its own municipality",
    ),
    (
        "a retention longer than any record is kept",
        lambda d: _form(d).update(retention={"years": 200, "action": "anonymise"}),
        "forms/mic/tenshutsu.yaml:retention/years: a retention of 200 years is longer than"
        " any record is kept (at most 150)",
    ),
    (
        "a retention of no years",
        lambda d: _form(d).update(retention={"years": 0, "action": "delete"}),
        "forms/mic/tenshutsu.yaml:retention/years: must be 1 or more",
    ),
    (
        "a retention that neither anonymises nor deletes",
        lambda d: _form(d).update(retention={"years": 5, "action": "archive"}),
        "forms/mic/tenshutsu.yaml:retention/action: 'archive' is not one of: 'anonymise', 'delete'",
    ),
    (
        "a retention without its action",
        lambda d: _form(d).update(retention={"years": 5}),
        "forms/mic/tenshutsu.yaml:retention: 'action' is required here",
    ),
    (
        "a visit required without saying why",
        lambda d: (_form(d).pop("counter_visit", None), _form(d).update(visit="required")),
        "forms/mic/tenshutsu.yaml:visit: a form that requires a visit says why in counter_visit",
    ),
    (
        "no vocabulary",
        lambda d: d.update(vocabulary=None),
        "forms/vocabulary.yaml:/: the vocabulary is missing",
    ),
]


def test_a_sound_set_uses_conditions_and_labels_as_intended(tmp_path: Path) -> None:
    """Negating a yes/no answer, reading a group's own fields, one label on two types, and
    like labels in one group entry are no faults."""
    data = minimal.definitions()
    _workflow(data)["questions"].append({"key": "move.members"})
    members = {"var": "move.members"}
    _field(data, 2).update(
        show_if={
            "and": [
                {"!": {"var": "household.kokuho"}},
                {"some": [members, {"<": [{"var": "birthdate"}, "2007-04-01"]}]},
                {"missing": ["move.date"]},
            ]
        }
    )
    _form(data)["sections"][0]["fields"].append(
        {"key": "mic.tenshutsu.day_text", "item": {"type": "text", "label": text("異動日", "x")}}
    )
    assert problems_of(tmp_path, data) == []


@pytest.mark.parametrize(("fault", "breaks", "expected"), FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_is_reported(
    tmp_path: Path, fault: str, breaks: Callable[[dict[str, Any]], None], expected: str
) -> None:
    data = minimal.definitions()
    breaks(data)
    problems = problems_of(tmp_path, data)
    assert any(expected in problem for problem in problems), problems


#: A letter of either kana or a CJK ideograph: what a text translated into Japanese has.
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.mark.parametrize(("fault", "breaks", "expected"), FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_reads_in_the_admins_language(
    app, tmp_path: Path, fault: str, breaks: Callable[[dict[str, Any]], None], expected: str
) -> None:
    """What an admin's page shows: the checker's and the schema's faults alike in Japanese,
    never jsonschema's own English sentence, and in English word for word as the CLI says."""
    data = minimal.definitions()
    breaks(data)
    problems = check(read_sources(*minimal.write(tmp_path, data)))
    with app.app_context():
        with force_locale("ja"):
            japanese = [problem.localized() for problem in problems]
        with force_locale("en"):
            english = [problem.localized() for problem in problems]
    assert all(JAPANESE.search(shown.split(": ", 1)[1]) for shown in japanese), japanese
    assert not any("スキーマに合っていません" in shown for shown in japanese), japanese
    assert english == [str(problem) for problem in problems]


def test_texts_are_in_the_configured_languages(app, tmp_path: Path, monkeypatch) -> None:
    """Japanese and English by default; Korean once the portal is configured for it."""
    data = minimal.definitions()
    _form(data)["title"]["ko"] = "전출신고"
    _form(data)["sections"][0]["help"] = {"ja": "ヘルプ", "en": "Help", "vi": "Trợ giúp"}
    forms, workflows = minimal.write(tmp_path, data)
    with app.app_context():
        found = sorted(str(problem) for problem in check(read_sources(forms, workflows)))
        assert found == [
            "forms/mic/tenshutsu.yaml:sections/0/help/vi: 'vi' is not a language of this "
            "portal (ja, en)",
            "forms/mic/tenshutsu.yaml:title/ko: 'ko' is not a language of this portal (ja, en)",
        ]
        monkeypatch.setitem(app.config, "LANGUAGES", ("ja", "en", "ko", "vi"))
        assert check(read_sources(forms, workflows)) == []


def test_check_command_prints_each_fault_and_fails(runner, tmp_path: Path) -> None:
    data = minimal.definitions()
    _field(data, 0).update(key="applicant.nickname")
    _workflow(data)["forms"].append({"form": "mic.tenkyo", "municipality": "current"})
    forms, workflows = minimal.write(tmp_path, data)
    result = runner.invoke(
        args=["definitions", "check", "--forms", str(forms), "--workflows", str(workflows)]
    )
    assert result.exit_code == 1
    assert "unknown vocabulary key 'applicant.nickname'" in result.output
    assert "unknown form 'mic.tenkyo'" in result.output


def test_check_command_passes_the_shipped_definitions(runner) -> None:
    result = runner.invoke(args=["definitions", "check"])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output
