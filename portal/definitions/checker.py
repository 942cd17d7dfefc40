"""Checking definitions: each file against its JSON Schema, then every cross-reference.

Reports every fault with its file and place, so an author can fix them all in one go.
"""

from __future__ import annotations

import difflib
import json
import unicodedata
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from flask import current_app, has_app_context
from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource
from sqlalchemy.exc import SQLAlchemyError

from portal.accounts.services import KEPT_CLAIMS
from portal.definitions import logic
from portal.definitions.model import ADDRESS_PARTS
from portal.definitions.sources import Problem, Said, Source, Sources, said
from portal.extensions import db
from portal.tenancy.kinds import BUILTIN_KEYS

SCHEMA_DIR = Path(__file__).parent / "schemas"
#: Where the certificate templates a form may name live (``certificate: {template: ...}``).
CERTIFICATE_TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "certificates"
#: Sub-paths a condition may read below an item of these types.
ITEM_PARTS = {"address": set(ADDRESS_PARTS), "date": set()}
#: What a condition reading one part of an address resolves to.
PART: Final = MappingProxyType({"type": "part"})


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


def department_kinds() -> list[str]:
    """The kinds a form may route to: those stored, when a database is at hand (an admin may
    have added some), else the built-in ones the database is seeded with."""
    if has_app_context():
        from portal.tenancy.management import department_kinds as stored

        try:
            keys = [kind.key for kind in stored()]
        except SQLAlchemyError:  # no database yet, or not migrated: the seed stands in
            db.session.rollback()
        else:
            if keys:
                return keys
    return list(BUILTIN_KEYS)


def configured_languages() -> tuple[str, ...] | None:
    """The languages texts may be in (``LANGUAGES``); None outside an app, where any goes."""
    return tuple(current_app.config["LANGUAGES"]) if has_app_context() else None


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


#: Schema faults by (kind, file, digest of the content): the schemas are fixed, and every
#: change of a draft or retirement checks the whole catalog again, most of it unchanged
#: (the schema is two thirds of a check's time).
_schema_checked: dict[tuple[str, str, str], tuple[Problem, ...]] = {}
_SCHEMA_CHECKED_MAX = 4096


def _schema_problems(source: Source) -> tuple[Problem, ...]:
    key = (source.kind, source.file, source.digest)
    found = _schema_checked.get(key)
    if found is None:
        validator = _validators()[source.kind]
        errors = sorted(validator.iter_errors(source.data), key=lambda e: list(e.absolute_path))
        found = tuple(
            Problem(
                source.file,
                "/".join(str(part) for part in error.absolute_path),
                _schema_message(error),
            )
            for error in errors
        )
        if len(_schema_checked) >= _SCHEMA_CHECKED_MAX:
            _schema_checked.clear()
        _schema_checked[key] = found
    return found


#: The JSON types, as a schema fault names them.
TYPE_NAMES: Final = MappingProxyType(
    {
        "string": said("text"),
        "integer": said("a whole number"),
        "number": said("a number"),
        "boolean": said("true or false"),
        "array": said("a list"),
        "object": said("a mapping of names to values"),
        "null": said("empty"),
    }
)


#: The longest retention a form may give: a closed family register (除籍簿) is kept 150
#: years (戸籍法施行規則 第5条), longer than any other record of a resident.
MAX_RETENTION_YEARS: Final = 150


#: A text or a list left empty (the editor says so in its own words beside the input).
EMPTY: Final = said("must not be empty")


def _schema_message(error: ValidationError) -> Said:
    """A schema fault in words an admin can read in their language; jsonschema's own
    English sentence where no kind of fault below fits."""
    value, instance = error.validator_value, error.instance
    match error.validator:
        case "required":
            missing = [name for name in value if name not in instance] or value
            return said("%(name)r is required here", name=missing[0])
        case "additionalProperties":
            allowed = set(error.schema.get("properties", {}))
            extra = sorted(str(name) for name in instance if name not in allowed)
            return said("not allowed here: %(names)s", names=", ".join(map(repr, extra)))
        case "type" if isinstance(value, str) and value in TYPE_NAMES:
            return said(
                "%(value)s must be %(type)s", value=_shown(instance), type=TYPE_NAMES[value]
            )
        case "minLength" | "minItems" if value == 1:
            return EMPTY
        case "minLength":
            return said("must be at least %(count)d characters", count=value)
        case "minItems":
            return said("must list at least %(count)d entries", count=value)
        case "enum":
            allowed = ", ".join(_shown(option) for option in value)
            return said(
                "%(value)s is not one of: %(allowed)s", value=_shown(instance), allowed=allowed
            )
        case "const":
            return said("must be %(allowed)s", allowed=_shown(value))
        case "pattern":
            return said(
                "%(value)s does not have the form %(pattern)r",
                value=_shown(instance),
                pattern=value,
            )
        case "minimum":
            return said("must be %(least)s or more", least=value)
        case "maximum":
            return said("must be %(most)s or less", most=value)
        case "uniqueItems":
            return said("lists the same entry twice")
        case "oneOf":
            return said("matches none of the forms this place allows")
        case "not":
            return said("this is not allowed here")
        case "dependentRequired":
            needing = next((name for name in value if name in instance), "")
            others = ", ".join(map(repr, value.get(needing, ())))
            return said("%(name)r needs %(others)s beside it", name=needing, others=others)
    return said("does not follow the schema: %(detail)s", detail=error.message)


def _shown(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Checker:
    """Cross-references between files that passed their schema."""

    def __init__(self, sources: Sources, sound: list[Source]) -> None:
        self.found: list[Problem] = []
        self.vocabulary: dict[str, Any] = {}
        vocabularies = sources.of_kind("vocabulary")
        if not vocabularies:
            self.found.append(
                Problem("forms/vocabulary.yaml", "", said("the vocabulary is missing"))
            )
        for source in sound:
            if source.kind == "vocabulary":
                self.vocabulary = source.data["items"]
        self.forms = [s for s in sound if s.kind == "form"]
        self.workflows = [s for s in sound if s.kind == "workflow"]
        self.all_form_ids = {
            s.data.get("id") for s in sources.of_kind("form") if isinstance(s.data, dict)
        }
        #: Read once a check, not once a form (a query where a database is at hand).
        self.kinds = department_kinds() if self.forms else []
        self.languages = configured_languages()

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
            self._check_same_facts(source, form_items)
        for source in self.forms:
            if source.data["id"] not in used:
                self._add(
                    source,
                    "id",
                    said("unreachable form: no workflow files %(form)s", form=source.data["id"]),
                )
        self._check_key_prefixes()
        if self.languages is not None:
            for source in [*self.forms, *self.workflows]:
                self._check_languages(source, source.data, "", self.languages)
        return self.found

    def _check_languages(
        self, source: Source, data: Any, path: str, languages: tuple[str, ...]
    ) -> None:
        """Every text (``{ja: ..., en: ...}``) in languages the portal is configured for: a
        text in another would never be shown (a language is configured first, then used)."""
        if isinstance(data, list):
            children = [(str(index), value) for index, value in enumerate(data)]
        elif isinstance(data, dict):
            if isinstance(data.get("ja"), str) and all(isinstance(v, str) for v in data.values()):
                for language in sorted(set(data) - set(languages)):
                    message = said(
                        "%(language)r is not a language of this portal (%(configured)s)",
                        language=language,
                        configured=", ".join(languages),
                    )
                    self._add(source, f"{path}/{language}".lstrip("/"), message)
                return
            children = [(str(name), value) for name, value in data.items()]
        else:
            return
        for name, value in children:
            self._check_languages(source, value, f"{path}/{name}".lstrip("/"), languages)

    def _check_key_prefixes(self) -> None:
        """Answers are nested by their dotted keys for conditions, so no key may be a dotted
        prefix of another (``move.date`` and ``move.date.kind`` could not both be kept)."""
        places: dict[str, tuple[str, str]] = {
            key: ("forms/vocabulary.yaml", f"items/{key}") for key in self.vocabulary
        }
        for source in [*self.forms, *self.workflows]:
            data = source.data
            fields = [(f"questions/{i}", q) for i, q in enumerate(data.get("questions", ()))] + [
                (f"sections/{s}/fields/{f}", field)
                for s, section in enumerate(data.get("sections", ()))
                for f, field in enumerate(section["fields"])
            ]
            for path, field in fields:
                if "item" in field:
                    places.setdefault(field["key"], (source.file, f"{path}/key"))
        for key, (file, path) in sorted(places.items()):
            parts = key.split(".")
            for end in range(1, len(parts)):
                prefix = ".".join(parts[:end])
                if prefix in places:
                    message = said(
                        "%(key)r extends the key %(prefix)r: rename one", key=key, prefix=prefix
                    )
                    self.found.append(Problem(file, path, message))

    def _add(self, source: Source, path: str, message: Said) -> None:
        self.found.append(Problem(source.file, path, message))

    # vocabulary -------------------------------------------------------------------------

    def _check_vocabulary(self) -> None:
        for key, item in self.vocabulary.items():
            prefill = item.get("prefill")
            if prefill and prefill not in KEPT_CLAIMS:
                message = said(
                    "unknown identity claim %(claim)r; known: %(known)s",
                    claim=prefill,
                    known=", ".join(KEPT_CLAIMS),
                )
                self.found.append(Problem("forms/vocabulary.yaml", f"items/{key}/prefill", message))
            rule = item.get("prefill_if")
            if rule is not None and not isinstance(rule, bool):
                where = f"items/{key}/prefill_if"
                problems = [_condition_fault(fault) for fault in logic.validate(rule)]
                problems += [
                    said("condition names a missing item %(name)r", name=name)
                    for name in sorted(logic.variables(rule))
                    if not self._resolves(name, {})
                ]
                self.found.extend(Problem("forms/vocabulary.yaml", where, p) for p in problems)

    def _check_duplicate_ids(self, sources: list[Source], kind: str) -> None:
        seen: dict[str, str] = {}
        for source in sources:
            ident = source.data["id"]
            if ident in seen:
                message = (
                    said("duplicate form id %(id)r, also in %(file)s", id=ident, file=seen[ident])
                    if kind == "form"
                    else said(
                        "duplicate workflow id %(id)r, also in %(file)s", id=ident, file=seen[ident]
                    )
                )
                self._add(source, "id", message)
            else:
                seen[ident] = source.file

    # forms ------------------------------------------------------------------------------

    def _check_form(self, source: Source) -> dict[str, Any]:
        """Check one form; return the items it asks, by key, for the workflow checks."""
        data = source.data
        form_id = data["id"]
        expected = "forms/" + form_id.replace(".", "/", 1) + ".yaml"
        if not source.file.endswith(expected):
            self._add(
                source,
                "id",
                said("form id %(id)r must live in %(file)s", id=form_id, file=expected),
            )
        if form_id.split(".")[0] != data["ministry"]:
            self._add(
                source,
                "ministry",
                said("ministry %(ministry)r differs from the id's", ministry=data["ministry"]),
            )
        places = [
            (f"sections/{s}/fields/{f}", field)
            for s, section in enumerate(data["sections"])
            for f, field in enumerate(section["fields"])
        ] + [(f"attachments/{a}", field) for a, field in enumerate(data.get("attachments", []))]
        items = self._items_of(source, form_id, places)
        for path, field in places:
            self._check_condition(source, f"{path}/show_if", field.get("show_if"), items)
            if path.startswith("attachments") and items.get(field["key"], {}).get("type") != "file":
                self._add(
                    source,
                    f"{path}/key",
                    said("attachment %(key)r is not a file item", key=field["key"]),
                )
        kinds = self.kinds
        if data["department_kind"] not in kinds:
            self._add(
                source,
                "department_kind",
                said(
                    "unknown department kind %(kind)r; known: %(known)s",
                    kind=data["department_kind"],
                    known=", ".join(kinds),
                ),
            )
        if "visit" in data and "counter_visit" not in data:
            self._add(
                source, "visit", said("a form that requires a visit says why in counter_visit")
            )
        years = (data.get("retention") or {}).get("years")
        if isinstance(years, int) and years > MAX_RETENTION_YEARS:
            self._add(
                source,
                "retention/years",
                said(
                    "a retention of %(years)d years is longer than any record is kept"
                    " (at most %(most)d)",
                    years=years,
                    most=MAX_RETENTION_YEARS,
                ),
            )
        template = (data.get("certificate") or {}).get("template")
        if template is not None and not (CERTIFICATE_TEMPLATES / f"{template}.html").is_file():
            self._add(
                source,
                "certificate/template",
                said(
                    "no certificate template %(template)r in templates/certificates/",
                    template=template,
                ),
            )
        deadline_from = data["deadline"].get("from")
        if deadline_from is not None:
            item = items.get(deadline_from) or self.vocabulary.get(deadline_from)
            if item is None:
                self._add(source, "deadline/from", said("unknown item %(key)r", key=deadline_from))
            elif item["type"] != "date":
                self._add(
                    source, "deadline/from", said("%(key)r is not a date item", key=deadline_from)
                )
        return items

    def _items_of(
        self, source: Source, owner: str, places: list[tuple[str, Mapping[str, Any]]]
    ) -> dict[str, Any]:
        items: dict[str, Any] = {}
        for path, field in places:
            key = field["key"]
            if key in items:
                self._add(source, f"{path}/key", said("%(key)r is asked twice", key=key))
                continue
            if "item" in field:
                if key in self.vocabulary:
                    self._add(
                        source,
                        f"{path}/key",
                        said("%(key)r is in the vocabulary: refer to it without 'item'", key=key),
                    )
                elif not key.startswith(owner + "."):
                    self._add(
                        source,
                        f"{path}/key",
                        said("a local item's key must start with %(prefix)r", prefix=owner + "."),
                    )
                items[key] = field["item"]
            elif key in self.vocabulary:
                items[key] = self.vocabulary[key]
            else:
                self._add(source, f"{path}/key", said("unknown vocabulary key %(key)r", key=key))
        return items

    def _check_condition(
        self, source: Source, path: str, rule: Any, known: Mapping[str, Any]
    ) -> None:
        if rule is None or isinstance(rule, bool):
            return
        for fault in logic.validate(rule):
            self._add(source, path, _condition_fault(fault))
        for read in logic.reads(rule):
            problem = self._read_problem(read, known)
            if problem:
                self._add(source, path, problem)
            elif read.negated and read.name:
                item = self._element_item(read, known)
                if isinstance(item, Mapping) and item.get("type") != "yes_no":
                    self._add(
                        source,
                        path,
                        said(
                            "condition negates %(name)r, which is not a yes/no answer: '!' of a "
                            "missing answer is unknown; test with {'missing': [%(name)r]}",
                            name=read.name,
                        ),
                    )

    def _read_problem(self, read: logic.Read, known: Mapping[str, Any]) -> Said | None:
        """Why a name a condition reads names no answer; None when it does."""
        if read.scope is None:
            if self._resolve(read.name, known) is None:
                return said("condition names a missing item %(name)r", name=read.name)
            return None
        if self._read_problem(read.scope, known):
            return None  # reported for the list itself
        group = self._element_item(read.scope, known)
        if group is None or group.get("type") not in ("group", "checkbox"):
            return said(
                "condition iterates over %(name)r, which is not a group", name=read.scope.name
            )
        if group["type"] == "checkbox":
            if read.name:
                return said(
                    "condition reads %(name)r of a checkbox value: use {'var': ''}",
                    name=read.name,
                )
            return None
        sub_items = {f["key"]: f["item"] for f in group.get("fields", ())}
        if self._resolve(read.name, sub_items, with_vocabulary=False) is None:
            return said(
                "condition names %(name)r, which is not a field of %(group)r (fields: %(fields)s)",
                name=read.name,
                group=read.scope.name,
                fields=", ".join(sub_items),
            )
        return None

    def _element_item(self, read: logic.Read, known: Mapping[str, Any]) -> Any:
        """The item a read names, following ``some`` & co. into a group's fields."""
        if read.scope is None:
            return self._resolve(read.name, known)
        group = self._element_item(read.scope, known)
        if not isinstance(group, Mapping) or group.get("type") != "group":
            return None
        sub_items = {f["key"]: f["item"] for f in group.get("fields", ())}
        return self._resolve(read.name, sub_items, with_vocabulary=False)

    def _resolve(self, name: str, known: Mapping[str, Any], with_vocabulary: bool = True) -> Any:
        """The item a condition's variable names, ``PART`` for a part of an address item, or
        None when it names nothing."""
        parts = name.split(".")
        for end in range(len(parts), 0, -1):
            key = ".".join(parts[:end])
            item = known.get(key) or (self.vocabulary.get(key) if with_vocabulary else None)
            if item is None:
                continue
            rest = parts[end:]
            if not rest:
                return item
            allowed = ITEM_PARTS.get(item["type"], set())
            return PART if len(rest) == 1 and rest[0] in allowed else None
        return None

    def _resolves(self, name: str, known: Mapping[str, Any], with_vocabulary: bool = True) -> bool:
        return self._resolve(name, known, with_vocabulary) is not None

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
            self._add(
                source,
                "scope/key",
                said("%(key)r is not a question of this workflow", key=scope["key"]),
            )
            return
        values = {option["value"] for option in item.get("options", ())}
        for answer in ("same", "different"):
            if scope[answer] not in values:
                self._add(
                    source,
                    f"scope/{answer}",
                    said("%(value)r is not an option", value=scope[answer]),
                )
        if "new" not in data["municipalities"]:
            self._add(source, "scope", said("the scope needs a 'new' address in municipalities"))

    def _check_hand_off(self, source: Source, data: Mapping[str, Any]) -> None:
        """The handing form is one of the workflow's, sent to another role than its own."""
        hand_off = data.get("hand_off")
        if hand_off is None:
            return
        entries = [entry for entry in data["forms"] if entry["form"] == hand_off["form"]]
        if not entries:
            self._add(
                source,
                "hand_off/form",
                said("%(form)r is not a form of this workflow", form=hand_off["form"]),
            )
        if hand_off["to"] not in data["municipalities"]:
            self._add(
                source,
                "hand_off/to",
                said("%(role)r is not in municipalities", role=hand_off["to"]),
            )
        elif any(entry["municipality"] == hand_off["to"] for entry in entries):
            self._add(source, "hand_off/to", said("the form is handed to its own municipality"))

    def _check_workflow(self, source: Source, form_items: Mapping[str, dict[str, Any]]) -> set[str]:
        data = source.data
        questions = [(f"questions/{i}", q) for i, q in enumerate(data["questions"])]
        asked = self._items_of(source, data["id"], questions)
        for path, question in questions:
            self._check_condition(source, f"{path}/show_if", question.get("show_if"), asked)
        for role, key in data["municipalities"].items():
            item = asked.get(key) or self.vocabulary.get(key)
            if item is None:
                self._add(source, f"municipalities/{role}", said("unknown item %(key)r", key=key))
            elif item["type"] != "address":
                self._add(
                    source,
                    f"municipalities/{role}",
                    said("%(key)r is not an address item", key=key),
                )
        self._check_scope(source, data, asked)
        self._check_hand_off(source, data)
        used = set()
        for index, entry in enumerate(data["forms"]):
            path = f"forms/{index}"
            form_id = entry["form"]
            if form_id not in form_items:
                if form_id not in self.all_form_ids:
                    self._add(source, f"{path}/form", said("unknown form %(form)r", form=form_id))
                continue
            if entry.get("applies_if") is False:
                self._add(
                    source, f"{path}/applies_if", said("%(form)r can never apply", form=form_id)
                )
            else:
                used.add(form_id)
            if entry["municipality"] not in data["municipalities"]:
                self._add(
                    source,
                    f"{path}/municipality",
                    said("no address names the %(role)r municipality", role=entry["municipality"]),
                )
            self._check_condition(source, f"{path}/applies_if", entry.get("applies_if"), asked)
            for name in sorted(logic.variables(entry.get("applies_if", True))):
                if self._resolves(name, asked) and not self._resolves(name, asked, False):
                    self._add(
                        source,
                        f"{path}/applies_if",
                        said(
                            "%(name)r decides whether a form applies but is not a guidance "
                            "question",
                            name=name,
                        ),
                    )
            self._check_deadline_is_known(source, path, form_id, asked)
        return used

    def _check_same_facts(self, source: Source, form_items: Mapping[str, dict[str, Any]]) -> None:
        """Once-only: a fact has one key. Two keys a case can ask that have the same type and
        labels that read alike are most likely one fact asked twice; so are two groups whose
        entries ask a field of the same type and label (two lists of the same people)."""
        items: dict[str, Mapping[str, Any]] = {}
        for question in source.data["questions"]:
            item = question.get("item") or self.vocabulary.get(question["key"])
            if item:
                items[question["key"]] = item
        for entry in source.data["forms"]:
            items.update(form_items.get(entry["form"], {}))
        for key, item in list(items.items()):
            for sub in item.get("fields", ()) if item["type"] == "group" else ():
                items[f"{key}[].{sub['key']}"] = sub["item"]
        keys = sorted(items)
        for index, first in enumerate(keys):
            for second in keys[index + 1 :]:
                if (
                    _comparable(first, second)
                    and items[first]["type"] == items[second]["type"]
                    and _look_alike(items[first], items[second])
                ):
                    self._add(
                        source,
                        "forms",
                        said(
                            "%(first)r and %(second)r look like the same fact (both %(type)s, "
                            "labelled %(first_label)r and %(second_label)r): merge them into one "
                            "vocabulary item, or label them so that they say how they differ",
                            first=first,
                            second=second,
                            type=items[first]["type"],
                            first_label=_shown_label(items[first]),
                            second_label=_shown_label(items[second]),
                        ),
                    )

    def _check_deadline_is_known(
        self, source: Source, path: str, form_id: str, asked: Mapping[str, Any]
    ) -> None:
        form = next(s for s in self.forms if s.data["id"] == form_id)
        deadline_from = form.data["deadline"].get("from")
        if deadline_from and deadline_from not in asked:
            self._add(
                source,
                f"{path}/form",
                said(
                    "%(form)r counts its deadline from %(key)r, which the guidance questions do "
                    "not ask",
                    form=form_id,
                    key=deadline_from,
                ),
            )


def _condition_fault(fault: Said) -> Said:
    return said("condition: %(fault)s", fault=fault)


def _shown_label(item: Mapping[str, Any]) -> str:
    return (item.get("summary_label") or item["label"])["ja"]


def _normalised(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def _comparable(first: str, second: str) -> bool:
    """Items, or fields of two different groups (``move.members[].name``): the fields of one
    group are facts of one entry, and a group's field is not compared with a whole item."""
    first_group, _, _ = first.partition("[]")
    second_group, _, _ = second.partition("[]")
    in_groups = ("[]" in first, "[]" in second)
    if in_groups == (False, False):
        return True
    return in_groups == (True, True) and first_group != second_group


#: How alike two labels must read, in both languages (difflib's ratio), to be one fact.
SAME_FACT_RATIO: Final = 0.9


def _look_alike(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """The same label (as shown in summaries) in either language, or labels that read
    nearly the same in both: one fact asked twice, or two the summary cannot tell apart."""
    labels = [item.get("summary_label") or item["label"] for item in (first, second)]
    ja = [_normalised(label["ja"]) for label in labels]
    en = [_normalised(label.get("en") or label["ja"]) for label in labels]
    if ja[0] == ja[1] or en[0] == en[1]:
        return True
    return all(
        difflib.SequenceMatcher(None, *texts).ratio() >= SAME_FACT_RATIO for texts in (ja, en)
    )
