"""The diff between two versions names what changed: parts matched by their names."""

from __future__ import annotations

import copy

from portal.definitions.diff import Change, diff
from portal.definitions.sources import read_sources
from tests.definitions import minimal


def test_equal_versions_have_no_changes_but_their_number() -> None:
    form = minimal.definitions()["forms"]["mic/tenshutsu"]
    assert diff("form", form, {**form, "version": 7}) == []


def test_fields_added_removed_moved_and_changed() -> None:
    old = minimal.definitions()["forms"]["mic/tenshutsu"]
    new = copy.deepcopy(old)
    fields = new["sections"][0]["fields"]
    fields.append({"key": "move.date"})
    fields[2]["required"] = True  # mic.tenshutsu.reason
    fields[2]["item"]["label"]["en"] = "Why"
    fields.insert(0, fields.pop(1))  # move.new_address before applicant.family_name
    del fields[1]  # applicant.family_name
    new["title"]["en"] = "Moving out"
    new["sections"].append(
        {"id": "more", "title": {"ja": "追加", "en": "More"}, "fields": [{"key": "move.members"}]}
    )
    changes = diff("form", old, new)
    assert changes == [
        Change("changed", "property", "en", "title/en", "Moving-out notification", "Moving out"),
        Change("added", "section", "more", "sections", after=new["sections"][1]),
        Change(
            "changed",
            "property",
            "en",
            "sections/mover/fields/mic.tenshutsu.reason/item/label/en",
            "Reason",
            "Why",
        ),
        Change(
            "changed",
            "property",
            "required",
            "sections/mover/fields/mic.tenshutsu.reason/required",
            False,
            True,
        ),
        Change("added", "field", "move.date", "sections/mover/fields", after={"key": "move.date"}),
        Change(
            "added",
            "field",
            "move.members",
            "sections/more/fields",
            after={"key": "move.members"},
        ),
        Change("removed", "field", "applicant.family_name", "sections/mover/fields"),
    ]


def test_a_field_moved_to_another_section_is_one_move() -> None:
    old = minimal.definitions()["forms"]["mic/tenshutsu"]
    new = copy.deepcopy(old)
    moved = new["sections"][0]["fields"].pop(1)
    new["sections"].append({"id": "where", "title": {"ja": "住所"}, "fields": [moved]})
    changes = [c for c in diff("form", old, new) if c.part == "field"]
    assert changes == [
        Change("moved", "field", "move.new_address", "sections/where/fields", "mover", "where")
    ]


def test_a_workflow_forms_added_removed_reordered_and_conditions() -> None:
    old = minimal.definitions()["workflows"]["moving"]
    old["forms"].append({"form": "mhlw.kokuho", "municipality": "new"})
    old["forms"].append({"form": "mext.tengaku", "municipality": "new"})
    new = copy.deepcopy(old)
    new["forms"].reverse()
    new["forms"][2]["applies_if"] = {"==": [{"var": "move.scope"}, "outside"]}
    del new["forms"][0]  # mext.tengaku
    new["forms"].append({"form": "cfa.jidou_teate", "municipality": "new"})
    new["questions"].reverse()
    changes = diff("workflow", old, new)
    assert [(c.action, c.part, c.key, c.path) for c in changes] == [
        ("moved", "question", "household.kokuho", "questions"),
        ("moved", "form", "mhlw.kokuho", "forms"),
        ("changed", "property", "applies_if", "forms/mic.tenshutsu/applies_if"),
        ("added", "form", "cfa.jidou_teate", "forms"),
        ("removed", "form", "mext.tengaku", "forms"),
    ]
    assert changes[2].after == {"==": [{"var": "move.scope"}, "outside"]}


def test_vocabulary_items() -> None:
    old = minimal.definitions()["vocabulary"]
    new = copy.deepcopy(old)
    del new["items"]["household.kokuho"]
    new["items"]["move.reason"] = {"type": "text", "label": {"ja": "理由"}}
    new["items"]["move.date"]["validation"] = {"not_after_today": True}
    assert [(c.action, c.key, c.path) for c in diff("vocabulary", old, new)] == [
        ("added", "move.reason", "items"),
        ("removed", "household.kokuho", "items"),
        ("changed", "validation", "items/move.date/validation"),
    ]


def test_every_shipped_definition_against_itself() -> None:
    for source in read_sources().files:
        assert diff(source.kind, source.data, copy.deepcopy(source.data)) == []
