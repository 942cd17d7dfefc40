"""Checking definitions: each file against its JSON Schema, then every cross-reference.

Reports every fault with its file and place, so an author can fix them all in one go.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from portal.accounts.services import KEPT_CLAIMS
from portal.definitions import logic
from portal.definitions.model import ADDRESS_PARTS
from portal.definitions.sources import Problem, Source, Sources

SCHEMA_DIR = Path(__file__).parent / "schemas"
#: Sub-paths a condition may read below an item of these types.
ITEM_PARTS = {"address": set(ADDRESS_PARTS), "date": set(), "group": None}


@cache
def _validators() -> dict[str, Draft202012Validator]:
    resources = []
    for path in SCHEMA_DIR.glob("*.schema.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    registry = Registry().with_resources(resources)
    return {
        kind: Draft202012Validator(
            json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8")),
            registry=registry,
        )
        for kind in ("vocabulary", "form", "workflow")
    }


def check(sources: Sources) -> list[Problem]:
    """Every fault in the definitions; an empty list means they may be loaded."""
    problems = list(sources.problems)
    sound: list[Source] = []
    for source in sources.files:
        schema_problems = list(_schema_problems(source))
        problems.extend(schema_problems)
        if not schema_problems:
            sound.append(source)
    problems.extend(_Checker(sources, sound).problems())
    return problems


def _schema_problems(source: Source) -> Iterator[Problem]:
    validator = _validators()[source.kind]
    for error in sorted(validator.iter_errors(source.data), key=lambda e: list(e.absolute_path)):
        path = "/".join(str(part) for part in error.absolute_path)
        yield Problem(source.file, path, error.message)


class _Checker:
    """Cross-references between files that passed their schema."""

    def __init__(self, sources: Sources, sound: list[Source]) -> None:
        self.found: list[Problem] = []
        self.vocabulary: dict[str, Any] = {}
        vocabularies = sources.of_kind("vocabulary")
        if not vocabularies:
            self.found.append(Problem("forms/vocabulary.yaml", "", "the vocabulary is missing"))
        for source in sound:
            if source.kind == "vocabulary":
                self.vocabulary = source.data["items"]
        self.forms = [s for s in sound if s.kind == "form"]
        self.workflows = [s for s in sound if s.kind == "workflow"]
        self.all_form_ids = {
            s.data.get("id") for s in sources.of_kind("form") if isinstance(s.data, dict)
        }

    def problems(self) -> list[Problem]:
        self._check_vocabulary()
        self._check_duplicate_ids(self.forms, "form")
        self._check_duplicate_ids(self.workflows, "workflow")
        form_items = {}
        for source in self.forms:
            form_items[source.data["id"]] = self._check_form(source)
        used: set[str] = set()
        for source in self.workflows:
            used |= self._check_workflow(source, form_items)
        for source in self.forms:
            if source.data["id"] not in used:
                self._add(source, "id", f"unreachable form: no workflow files {source.data['id']}")
        return self.found

    def _add(self, source: Source, path: str, message: str) -> None:
        self.found.append(Problem(source.file, path, message))

    # vocabulary -------------------------------------------------------------------------

    def _check_vocabulary(self) -> None:
        for key, item in self.vocabulary.items():
            prefill = item.get("prefill")
            if prefill and prefill not in KEPT_CLAIMS:
                self.found.append(
                    Problem(
                        "forms/vocabulary.yaml",
                        f"items/{key}/prefill",
                        f"unknown identity claim {prefill!r}; known: {', '.join(KEPT_CLAIMS)}",
                    )
                )

    def _check_duplicate_ids(self, sources: list[Source], kind: str) -> None:
        seen: dict[str, str] = {}
        for source in sources:
            ident = source.data["id"]
            if ident in seen:
                self._add(source, "id", f"duplicate {kind} id {ident!r}, also in {seen[ident]}")
            else:
                seen[ident] = source.file

    # forms ------------------------------------------------------------------------------

    def _check_form(self, source: Source) -> dict[str, Any]:
        """Check one form; return the items it asks, by key, for the workflow checks."""
        data = source.data
        form_id = data["id"]
        expected = "forms/" + form_id.replace(".", "/", 1) + ".yaml"
        if not source.file.endswith(expected):
            self._add(source, "id", f"form id {form_id!r} must live in {expected}")
        if form_id.split(".")[0] != data["ministry"]:
            self._add(source, "ministry", f"ministry {data['ministry']!r} differs from the id's")
        places = [
            (f"sections/{s}/fields/{f}", field)
            for s, section in enumerate(data["sections"])
            for f, field in enumerate(section["fields"])
        ] + [(f"attachments/{a}", field) for a, field in enumerate(data.get("attachments", []))]
        items = self._items_of(source, form_id, places)
        for path, field in places:
            self._check_condition(source, f"{path}/show_if", field.get("show_if"), items)
            if path.startswith("attachments") and items.get(field["key"], {}).get("type") != "file":
                self._add(source, f"{path}/key", f"attachment {field['key']!r} is not a file item")
        deadline_from = data["deadline"].get("from")
        if deadline_from is not None:
            item = items.get(deadline_from) or self.vocabulary.get(deadline_from)
            if item is None:
                self._add(source, "deadline/from", f"unknown item {deadline_from!r}")
            elif item["type"] != "date":
                self._add(source, "deadline/from", f"{deadline_from!r} is not a date item")
        return items

    def _items_of(
        self, source: Source, owner: str, places: list[tuple[str, Mapping[str, Any]]]
    ) -> dict[str, Any]:
        items: dict[str, Any] = {}
        for path, field in places:
            key = field["key"]
            if key in items:
                self._add(source, f"{path}/key", f"{key!r} is asked twice")
                continue
            if "item" in field:
                if key in self.vocabulary:
                    self._add(
                        source,
                        f"{path}/key",
                        f"{key!r} is in the vocabulary: refer to it without 'item'",
                    )
                elif not key.startswith(owner + "."):
                    self._add(
                        source, f"{path}/key", f"a local item's key must start with {owner + '.'!r}"
                    )
                items[key] = field["item"]
            elif key in self.vocabulary:
                items[key] = self.vocabulary[key]
            else:
                self._add(source, f"{path}/key", f"unknown vocabulary key {key!r}")
        return items

    def _check_condition(
        self, source: Source, path: str, rule: Any, known: Mapping[str, Any]
    ) -> None:
        if rule is None or isinstance(rule, bool):
            return
        for message in logic.validate(rule):
            self._add(source, path, f"condition: {message}")
        for name in sorted(logic.variables(rule)):
            if not self._resolves(name, known):
                self._add(source, path, f"condition names a missing item {name!r}")

    def _resolves(self, name: str, known: Mapping[str, Any], with_vocabulary: bool = True) -> bool:
        """Whether a condition's variable names an item (or a part of an address item)."""
        parts = name.split(".")
        for end in range(len(parts), 0, -1):
            key = ".".join(parts[:end])
            item = known.get(key) or (self.vocabulary.get(key) if with_vocabulary else None)
            if item is None:
                continue
            rest = parts[end:]
            if not rest:
                return True
            allowed = ITEM_PARTS.get(item["type"], set())
            return allowed is None or (len(rest) == 1 and rest[0] in allowed)
        return False

    # workflows --------------------------------------------------------------------------

    def _check_scope(
        self, source: Source, data: Mapping[str, Any], asked: Mapping[str, dict[str, Any]]
    ) -> None:
        """The scope question is asked here, offers both answers, and both addresses exist."""
        scope = data.get("scope")
        if scope is None:
            return
        item = asked.get(scope["key"])
        if item is None:
            self._add(source, "scope/key", f"{scope['key']!r} is not a question of this workflow")
            return
        values = {option["value"] for option in item.get("options", ())}
        for answer in ("same", "different"):
            if scope[answer] not in values:
                self._add(source, f"scope/{answer}", f"{scope[answer]!r} is not an option")
        if "new" not in data["municipalities"]:
            self._add(source, "scope", "the scope needs a 'new' address in municipalities")

    def _check_workflow(self, source: Source, form_items: Mapping[str, dict[str, Any]]) -> set[str]:
        data = source.data
        questions = [(f"questions/{i}", q) for i, q in enumerate(data["questions"])]
        asked = self._items_of(source, data["id"], questions)
        for path, question in questions:
            self._check_condition(source, f"{path}/show_if", question.get("show_if"), asked)
        for role, key in data["municipalities"].items():
            item = asked.get(key) or self.vocabulary.get(key)
            if item is None:
                self._add(source, f"municipalities/{role}", f"unknown item {key!r}")
            elif item["type"] != "address":
                self._add(source, f"municipalities/{role}", f"{key!r} is not an address item")
        self._check_scope(source, data, asked)
        used = set()
        for index, entry in enumerate(data["forms"]):
            path = f"forms/{index}"
            form_id = entry["form"]
            if form_id not in form_items:
                if form_id not in self.all_form_ids:
                    self._add(source, f"{path}/form", f"unknown form {form_id!r}")
                continue
            if entry.get("applies_if") is False:
                self._add(source, f"{path}/applies_if", f"{form_id!r} can never apply")
            else:
                used.add(form_id)
            if entry["municipality"] not in data["municipalities"]:
                self._add(
                    source,
                    f"{path}/municipality",
                    f"no address names the {entry['municipality']!r} municipality",
                )
            self._check_condition(source, f"{path}/applies_if", entry.get("applies_if"), asked)
            for name in sorted(logic.variables(entry.get("applies_if", True))):
                if self._resolves(name, asked) and not self._resolves(name, asked, False):
                    self._add(
                        source,
                        f"{path}/applies_if",
                        f"{name!r} decides whether a form applies but is not a guidance question",
                    )
            self._check_deadline_is_known(source, path, form_id, asked)
        return used

    def _check_deadline_is_known(
        self, source: Source, path: str, form_id: str, asked: Mapping[str, Any]
    ) -> None:
        form = next(s for s in self.forms if s.data["id"] == form_id)
        deadline_from = form.data["deadline"].get("from")
        if deadline_from and deadline_from not in asked:
            self._add(
                source,
                f"{path}/form",
                f"{form_id!r} counts its deadline from {deadline_from!r}, "
                "which the guidance questions do not ask",
            )
