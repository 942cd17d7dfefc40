"""A small, valid set of definitions written to a folder, for tests to break one way each."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml


def text(ja: str, en: str) -> dict[str, str]:
    return {"ja": ja, "en": en}


VOCABULARY: dict[str, Any] = {
    "version": 1,
    "items": {
        "applicant.family_name": {
            "type": "name",
            "label": text("氏", "Family name"),
            "prefill": "family_name",
            "prefill_locked": True,
        },
        "applicant.address": {
            "type": "address",
            "label": text("住所", "Address"),
            "prefill": "address",
        },
        "move.date": {"type": "date", "label": text("異動日", "Date of the move")},
        "move.new_address": {"type": "address", "label": text("新住所", "New address")},
        "move.members": {
            "type": "group",
            "label": text("一緒に引っ越す人", "People moving together"),
            "item_label": text("引っ越す人", "Person moving"),
            "fields": [
                {"key": "name", "item": {"type": "name", "label": text("氏名", "Name")}},
                {
                    "key": "birthdate",
                    "item": {"type": "date", "label": text("生年月日", "Date of birth")},
                },
            ],
        },
        "household.kokuho": {"type": "yes_no", "label": text("国保", "Insured under NHI")},
        "filing.letter": {"type": "file", "label": text("委任状", "Letter of delegation")},
    },
}
FORM: dict[str, Any] = {
    "id": "mic.tenshutsu",
    "version": 1,
    "ministry": "mic",
    "title": text("転出届", "Moving-out notification"),
    "legal_basis": text("住民基本台帳法第24条", "Basic Resident Registration Act, art. 24"),
    "department_kind": "resident_registration",
    "deadline": {"from": "move.date", "days": 14, "rule": text("14日以内", "within 14 days")},
    "sections": [
        {
            "id": "mover",
            "title": text("転出する人", "Who moves"),
            "fields": [
                {"key": "applicant.family_name"},
                {"key": "move.new_address"},
                {
                    "key": "mic.tenshutsu.reason",
                    "item": {"type": "text", "label": text("理由", "Reason")},
                    "required": False,
                    "show_if": {"==": [{"var": "move.new_address.prefecture"}, "東京都"]},
                },
            ],
        }
    ],
    "attachments": [{"key": "filing.letter", "required": False}],
}
WORKFLOW: dict[str, Any] = {
    "id": "moving",
    "version": 1,
    "title": text("引越し", "Moving house"),
    "summary": text("引越しの手続き", "Procedures for moving house"),
    "filer": "self",
    "questions": [{"key": "move.date"}, {"key": "household.kokuho"}],
    "municipalities": {
        "current": "applicant.address",
        "old": "applicant.address",
        "new": "move.new_address",
    },
    "forms": [
        {
            "form": "mic.tenshutsu",
            "municipality": "old",
            "applies_if": {"!!": [{"var": "move.date"}]},
        }
    ],
}


def definitions() -> dict[str, Any]:
    """Fresh copies: ``{"vocabulary": ..., "forms": {path: data}, "workflows": {name: data}}``."""
    return copy.deepcopy(
        {
            "vocabulary": VOCABULARY,
            "forms": {"mic/tenshutsu": FORM},
            "workflows": {"moving": WORKFLOW},
        }
    )


def write(root: Path, data: dict[str, Any]) -> tuple[Path, Path]:
    forms, workflows = root / "forms", root / "workflows"
    forms.mkdir(parents=True, exist_ok=True)
    workflows.mkdir(parents=True, exist_ok=True)
    if data.get("vocabulary") is not None:
        (forms / "vocabulary.yaml").write_text(
            yaml.safe_dump(data["vocabulary"], allow_unicode=True)
        )
    for path, form in data["forms"].items():
        target = forms / f"{path}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            form if isinstance(form, str) else yaml.safe_dump(form, allow_unicode=True)
        )
    for name, workflow in data["workflows"].items():
        (workflows / f"{name}.yaml").write_text(yaml.safe_dump(workflow, allow_unicode=True))
    return forms, workflows
