"""The structured editor's forms, built for one draft: one flat Flask-WTF form whose inputs
are named after the rows they edit (``s0_f2_label_en``: section 0, field 2, its English
label), so the error summary lists every fault and each lands beside its input.

``anchors`` maps a place in the definition (a checker ``Problem``'s path such as
``sections/0/fields/2/item/label/en``) to the input that shows it; a fault is put on the
input of its longest known prefix, and one with no input is ``general``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional, Regexp

from portal.db import db
from portal.definitions import checker, editor
from portal.definitions.sources import Problem
from portal.journey.fields.base import ErrorMessage
from portal.tenancy.models import DepartmentKind

TEXT_MAX = 2000
ROLE_LABELS = {
    "current": _l("Where the person concerned lives (current)"),
    "old": _l("The one moved out of (old)"),
    "new": _l("The one moved into (new)"),
}
#: How many conditions a workflow's form may have in the builder (one blank row to add one).
CLAUSES_MAX = 8


def _select(label: Any, choices: list[tuple[str, Any]], **kwargs: Any) -> Any:
    return SelectField(
        label, choices=[SelectChoice(value, text) for value, text in choices], **kwargs
    )


def shown(text: Any, fallback: str = "") -> str:
    """A definition's text in the page's language, Japanese standing in."""
    if not isinstance(text, dict):
        return fallback
    return str(text.get(str(get_locale() or "ja")) or text.get("ja") or fallback)


def languages() -> list[str]:
    return list(current_app.config["LANGUAGES"])


@dataclass
class Row:
    """One field of a section, or one form of a workflow, as the template lists it."""

    index: int
    name: str  # what the row is called in its legend and its buttons' names
    prefix: str  # its inputs' names start with this
    key: str
    local: bool = False
    conditional: bool = False  # has a show_if, edited only in the YAML
    raw_condition: Any = None  # a condition the builder cannot show, kept read-only
    clauses: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Block:
    """A section of a form, with its rows."""

    index: int
    name: str
    prefix: str
    rows: list[Row] = field(default_factory=list)


class EditorForm(FlaskForm):
    """The fields are added per draft (``form_editor``, ``workflow_editor``)."""

    class Meta:
        csrf = False

    digest = HiddenField()
    #: After a change with faults (not saved: a refused request changes nothing), the
    #: content as changed, so the next submission goes on from it and nothing is lost.
    pending = HiddenField()

    anchors: dict[str, str]
    general: list[str]

    def place(self, problems: list[Problem]) -> None:
        """Each fault beside the input of what caused it, or with the general ones."""
        for problem in problems:
            target = self._anchor(problem.path)
            text = f"{problem.path or '/'}: {problem.message.localized()}"
            if target is not None and problem.message == checker.EMPTY:
                text = str(_l("Enter this text: it cannot be left empty."))
            if target is None:
                self.general.append(f"{problem.file}:{text}")
                continue
            bound: Field = self[target]
            bound.errors = [*bound.errors, ErrorMessage(text, bound.id)]

    def _anchor(self, path: str) -> str | None:
        parts = path.split("/") if path else []
        while parts:
            found = self.anchors.get("/".join(parts))
            if found is not None:
                return found
            parts.pop()
        return None


def _text_fields(
    attrs: dict[str, Any],
    anchors: dict[str, str],
    prefix: str,
    path: str,
    label: Any,
    text: Any,
) -> None:
    for language in languages():
        name = f"{prefix}_{language}"
        validators: list[Any] = [Length(max=TEXT_MAX)]
        attrs[name] = StringField(
            _l("%(what)s (%(language)s)", what=label, language=language),
            default=(text or {}).get(language, "") if isinstance(text, dict) else "",
            validators=validators,
        )
        if path:
            anchors[f"{path}/{language}"] = name
    if path:
        anchors[path] = f"{prefix}_ja"


def _vocabulary_choices(vocabulary: dict[str, Any], blank: Any) -> list[tuple[str, str]]:
    items = vocabulary.get("items", {}) if isinstance(vocabulary, dict) else {}
    return [("", str(blank))] + [
        (key, f"{shown(item.get('label'), key)} ({key})")
        for key, item in items.items()
        if isinstance(item, dict)
    ]


# Forms ------------------------------------------------------------------------------------


def form_editor(
    content: dict[str, Any], vocabulary: dict[str, Any], formdata: Any = None
) -> tuple[EditorForm, list[Block]]:
    """The editor of a form draft, its inputs filled from ``content`` (or ``formdata``)."""
    attrs: dict[str, Any] = {}
    anchors: dict[str, str] = {}
    items = vocabulary.get("items", {}) if isinstance(vocabulary, dict) else {}
    _text_fields(attrs, anchors, "title", "title", _l("Title"), content.get("title"))
    kinds = checker.department_kinds()
    current_kind = content.get("department_kind")
    attrs["department_kind"] = _select(
        _l("Department"),
        choices=[(kind, _kind_label(kind)) for kind in kinds]
        + (
            []
            if current_kind in kinds or not isinstance(current_kind, str)
            else [(current_kind, current_kind)]
        ),
        default=current_kind,
    )
    anchors["department_kind"] = "department_kind"
    deadline = content.get("deadline") if isinstance(content.get("deadline"), dict) else {}
    dates = [
        (key, f"{shown(item.get('label'), key)} ({key})")
        for key, item in items.items()
        if isinstance(item, dict) and item.get("type") == "date"
    ]
    start = deadline.get("from")
    if isinstance(start, str) and start and start not in dict(dates):
        dates.append((start, start))  # a date the vocabulary does not have: the checker says
    attrs["deadline_from"] = _select(
        _l("Counted from"),
        choices=[("", str(_l("No computed last day")))] + dates,
        default=deadline.get("from", ""),
    )
    attrs["deadline_days"] = StringField(
        _l("Days"),
        default="" if deadline.get("days") is None else str(deadline.get("days")),
        validators=[
            Optional(),
            Regexp(r"^\d{1,4}$", message=_l("Enter a whole number of days, such as 14")),
        ],
    )
    attrs["deadline_count_first_day"] = BooleanField(
        _l("Count the first day (as the Family Register Act does)"),
        default=bool(deadline.get("count_first_day")),
    )
    anchors.update(
        {
            "deadline": "deadline_days",
            "deadline/from": "deadline_from",
            "deadline/days": "deadline_days",
            "deadline/count_first_day": "deadline_count_first_day",
        }
    )
    _text_fields(
        attrs,
        anchors,
        "deadline_rule",
        "deadline/rule",
        _l("The rule as shown"),
        deadline.get("rule"),
    )
    blocks: list[Block] = []
    sections = content.get("sections") if isinstance(content.get("sections"), list) else []
    for i, section in enumerate(sections):
        if not isinstance(section, dict):
            continue
        block = Block(i, shown(section.get("title"), str(section.get("id", i + 1))), f"s{i}")
        _text_fields(
            attrs,
            anchors,
            f"s{i}_title",
            f"sections/{i}/title",
            _l("Section title"),
            section.get("title"),
        )
        anchors[f"sections/{i}"] = f"s{i}_title_ja"
        fields = section.get("fields") if isinstance(section.get("fields"), list) else []
        for j, entry in enumerate(fields):
            if not isinstance(entry, dict):
                continue
            key = str(entry.get("key", ""))
            item = entry.get("item") if isinstance(entry.get("item"), dict) else None
            label = (item or items.get(key) or {}).get("label")
            row = Row(
                j,
                shown(label, key),
                f"s{i}_f{j}",
                key,
                local=item is not None,
                conditional="show_if" in entry,
            )
            path = f"sections/{i}/fields/{j}"
            attrs[f"{row.prefix}_required"] = BooleanField(
                _l("Required"), default=entry.get("required", True) is not False
            )
            anchors[path] = f"{row.prefix}_required"
            if item is not None:
                _text_fields(
                    attrs,
                    anchors,
                    f"{row.prefix}_label",
                    f"{path}/item/label",
                    _l("Label"),
                    item.get("label"),
                )
                _text_fields(
                    attrs,
                    anchors,
                    f"{row.prefix}_help",
                    f"{path}/item/help",
                    _l("Help text"),
                    item.get("help"),
                )
            block.rows.append(row)
        blocks.append(block)
    section_choices = [(str(b.index), b.name) for b in blocks]
    attrs["new_field_section"] = _select(_l("Add to the section"), choices=section_choices)
    attrs["new_field_key"] = _select(
        _l("Item from the vocabulary"),
        choices=_vocabulary_choices(vocabulary, _l("Choose an item")),
    )
    attrs["new_local_name"] = StringField(
        _l("Or a new item of this form only: its name"),
        validators=[
            Optional(),
            Regexp(editor.NAME.pattern, message=_l("Use lower-case letters, digits and _")),
        ],
    )
    attrs["new_local_type"] = _select(_l("Its type"), choices=[(t, t) for t in editor.SIMPLE_TYPES])
    _text_fields(attrs, anchors, "new_local_label", "", _l("Its label"), None)
    attrs["new_section_id"] = StringField(
        _l("New section: its name"),
        validators=[
            Optional(),
            Regexp(editor.NAME.pattern, message=_l("Use lower-case letters, digits and _")),
        ],
    )
    _text_fields(attrs, anchors, "new_section_title", "", _l("Its title"), None)
    attrs["new_section_key"] = _select(
        _l("Its first item, from the vocabulary"),
        choices=_vocabulary_choices(vocabulary, _l("Choose an item")),
    )
    form = _instantiate(attrs, anchors, formdata)
    return form, blocks


def _kind_label(kind: str) -> str:
    stored = db.session.get(DepartmentKind, kind)
    return f"{stored.label} ({kind})" if stored is not None else kind


def _instantiate(attrs: dict[str, Any], anchors: dict[str, str], formdata: Any) -> EditorForm:
    cls = type("DraftEditorForm", (EditorForm,), attrs)
    form = cls(formdata=formdata) if formdata is not None else cls(formdata=None)
    form.anchors = anchors
    form.general = []
    return form


def _typed_text(form: EditorForm, prefix: str) -> dict[str, str]:
    return {language: form[f"{prefix}_{language}"].data or "" for language in languages()}


def apply_form(form: EditorForm, content: dict[str, Any], blocks: list[Block]) -> dict[str, Any]:
    """The content with every value typed into the editor: what a save keeps, whatever the
    button pressed."""
    data = copy.deepcopy(content)
    _set_text(data, "title", editor.text_of(_typed_text(form, "title"), data.get("title")))
    data["department_kind"] = form["department_kind"].data
    old = data.get("deadline") if isinstance(data.get("deadline"), dict) else {}
    rule = editor.text_of(_typed_text(form, "deadline_rule"), old.get("rule"))
    deadline: dict[str, Any] = {}
    start, days = form["deadline_from"].data, form["deadline_days"].data
    if start or days:
        deadline["from"] = start or None
        deadline["days"] = int(days) if days else None
        deadline["count_first_day"] = bool(form["deadline_count_first_day"].data)
        deadline = {k: v for k, v in deadline.items() if v is not None}
    deadline["rule"] = rule or {"ja": ""}
    data["deadline"] = deadline
    for block in blocks:
        section = data["sections"][block.index]
        _set_text(
            section,
            "title",
            editor.text_of(_typed_text(form, f"s{block.index}_title"), section.get("title")),
        )
        for row in block.rows:
            entry = section["fields"][row.index]
            required = bool(form[f"{row.prefix}_required"].data)
            if "required" in entry or not required:
                entry["required"] = required
            if row.local:
                item = entry["item"]
                _set_text(
                    item,
                    "label",
                    editor.text_of(_typed_text(form, f"{row.prefix}_label"), item.get("label")),
                )
                _set_text(
                    item,
                    "help",
                    editor.text_of(
                        _typed_text(form, f"{row.prefix}_help"), item.get("help"), optional=True
                    ),
                )
    return data


def _set_text(target: dict[str, Any], name: str, text: dict[str, str] | None) -> None:
    if text is None:
        target.pop(name, None)
    else:
        target[name] = text


def refuse(form: EditorForm, name: str, message: Any) -> None:
    bound = form[name]
    bound.errors = [*bound.errors, ErrorMessage(message, bound.id)]


def act_on_form(form: EditorForm, data: dict[str, Any], action: str) -> bool:
    """Apply the button pressed to a form's content; False when what it needs is missing
    (the reason is put beside the input concerned)."""
    verb, *where = action.split(":")
    places = [int(n) for n in where if n.isdecimal() and len(n) < 4]
    sections = data.get("sections")
    if not isinstance(sections, list):
        return verb == "save"
    if verb == "add_field":
        return _add_field(form, data)
    if verb == "add_section":
        return _add_section(form, data)
    if len(places) == 1 and verb in ("up_section", "down_section", "remove_section"):
        if verb == "remove_section":
            editor.remove(sections, places[0])
        else:
            editor.move(sections, places[0], -1 if verb == "up_section" else 1)
        return True
    if len(places) == 2 and verb in ("up_field", "down_field", "remove_field"):
        if not 0 <= places[0] < len(sections) or not isinstance(sections[places[0]], dict):
            return True
        fields = sections[places[0]].get("fields")
        if not isinstance(fields, list):
            return True
        if verb == "remove_field":
            editor.remove(fields, places[1])
        else:
            editor.move(fields, places[1], -1 if verb == "up_field" else 1)
        return True
    return True


def _add_field(form: EditorForm, data: dict[str, Any]) -> bool:
    choice = form["new_field_section"].data or ""
    sections = data["sections"]
    if not choice.isdecimal() or int(choice) >= len(sections):
        refuse(form, "new_field_section", _l("Choose the section to add to"))
        return False
    key, name = form["new_field_key"].data, (form["new_local_name"].data or "").strip()
    if bool(key) == bool(name):
        refuse(form, "new_field_key", _l("Choose an item from the vocabulary, or name a new item"))
        return False
    if key:
        entry: dict[str, Any] = {"key": key}
    else:
        label = editor.text_of(_typed_text(form, "new_local_label"), None, optional=True)
        if label is None or not label.get("ja"):
            refuse(form, "new_local_label_ja", _l("Give the new item a label in Japanese"))
            return False
        entry = {
            "key": f"{data.get('id')}.{name}",
            "item": {"type": form["new_local_type"].data, "label": label},
        }
    sections[int(choice)].setdefault("fields", []).append(entry)
    return True


def _add_section(form: EditorForm, data: dict[str, Any]) -> bool:
    name = (form["new_section_id"].data or "").strip()
    title = editor.text_of(_typed_text(form, "new_section_title"), None, optional=True)
    key = form["new_section_key"].data
    ok = True
    if not name:
        refuse(form, "new_section_id", _l("Name the new section"))
        ok = False
    if title is None or not title.get("ja"):
        refuse(form, "new_section_title_ja", _l("Give the new section a title in Japanese"))
        ok = False
    if not key:
        refuse(form, "new_section_key", _l("Choose the new section's first item"))
        ok = False
    if ok:
        data["sections"].append({"id": name, "title": title, "fields": [{"key": key}]})
    return ok


# Workflows --------------------------------------------------------------------------------


def condition_items(content: dict[str, Any], vocabulary: dict[str, Any]) -> dict[str, str]:
    """The answers a condition may read, with their types: the vocabulary's and the
    workflow's own guidance questions'."""
    items = vocabulary.get("items", {}) if isinstance(vocabulary, dict) else {}
    types = {k: str(v.get("type")) for k, v in items.items() if isinstance(v, dict)}
    for question in content.get("questions") or []:
        if isinstance(question, dict) and isinstance(question.get("item"), dict):
            types[str(question.get("key"))] = str(question["item"].get("type"))
    return types


def workflow_editor(
    content: dict[str, Any],
    vocabulary: dict[str, Any],
    forms: dict[str, Any],
    formdata: Any = None,
) -> tuple[EditorForm, list[Row]]:
    attrs: dict[str, Any] = {}
    anchors: dict[str, str] = {}
    items = vocabulary.get("items", {}) if isinstance(vocabulary, dict) else {}
    labels: dict[str, str] = {}  # a form's condition reads the guidance questions' answers
    for question in content.get("questions") or []:
        if isinstance(question, dict) and isinstance(question.get("key"), str):
            key = question["key"]
            item = (
                question.get("item") if isinstance(question.get("item"), dict) else items.get(key)
            )
            labels[key] = shown((item or {}).get("label"), key)
    item_choices = [("", str(_l("No condition")))] + [
        (key, f"{label} ({key})") for key, label in labels.items()
    ]
    operator_choices = [(op, str(editor.OPERATOR_LABELS[op])) for op in editor.OPERATORS]
    roles = [(role, str(ROLE_LABELS[role])) for role in editor.MUNICIPALITY_ROLES]
    rows: list[Row] = []
    entries = content.get("forms") if isinstance(content.get("forms"), list) else []
    for k, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        key = str(entry.get("form", ""))
        row = Row(k, shown((forms.get(key) or {}).get("title"), key), f"w{k}", key)
        attrs[f"w{k}_municipality"] = _select(
            _l("Filed at the municipality"), choices=roles, default=entry.get("municipality")
        )
        anchors[f"forms/{k}"] = f"w{k}_municipality"
        built = editor.read_condition(entry.get("applies_if"))
        if built is None:
            row.raw_condition = entry.get("applies_if")
        else:
            attrs[f"w{k}_combinator"] = _select(
                _l("The form applies when"),
                choices=[
                    ("and", str(_l("all of these hold"))),
                    ("or", str(_l("any of these holds"))),
                ],
                default=built.combinator,
            )
            anchors[f"forms/{k}/applies_if"] = f"w{k}_combinator"
            row.clauses = min(len(built.clauses) + 1, CLAUSES_MAX)
            for m in range(row.clauses):
                clause = built.clauses[m] if m < len(built.clauses) else editor.Clause("", "==")
                attrs[f"w{k}_c{m}_item"] = _select(
                    _l("Condition %(number)s: item", number=m + 1),
                    choices=item_choices
                    + (
                        []
                        if clause.item in labels or not clause.item
                        else [(clause.item, clause.item)]
                    ),
                    default=clause.item,
                )
                attrs[f"w{k}_c{m}_op"] = _select(
                    _l("Condition %(number)s: operator", number=m + 1),
                    choices=operator_choices,
                    default=clause.operator,
                )
                attrs[f"w{k}_c{m}_value"] = StringField(
                    _l("Condition %(number)s: value", number=m + 1),
                    default=clause.value,
                    validators=[Length(max=200)],
                )
        rows.append(row)
    attrs["new_form"] = _select(
        _l("Form to add"),
        choices=[("", str(_l("Choose a form")))]
        + [(key, f"{shown(f.get('title'), key)} ({key})") for key, f in sorted(forms.items())],
    )
    attrs["new_form_municipality"] = _select(
        _l("Filed at the municipality"), choices=roles, default="current"
    )
    form = _instantiate(attrs, anchors, formdata)
    return form, rows


def apply_workflow(
    form: EditorForm, content: dict[str, Any], rows: list[Row], types: dict[str, str]
) -> dict[str, Any]:
    data = copy.deepcopy(content)
    for row in rows:
        entry = data["forms"][row.index]
        entry["municipality"] = form[f"{row.prefix}_municipality"].data
        if row.raw_condition is not None:
            continue
        clauses = []
        for m in range(row.clauses):
            item = form[f"{row.prefix}_c{m}_item"].data
            if item:
                clauses.append(
                    editor.Clause(
                        item,
                        form[f"{row.prefix}_c{m}_op"].data,
                        form[f"{row.prefix}_c{m}_value"].data or "",
                    )
                )
        for m, clause in enumerate(clauses):
            if clause.operator != "answered" and not clause.value.strip():
                refuse(form, f"{row.prefix}_c{m}_value", _l("Enter the value to compare with"))
        built = editor.Built(form[f"{row.prefix}_combinator"].data, tuple(clauses))
        rule = editor.build_condition(built, types)
        if rule is None:
            entry.pop("applies_if", None)
        else:
            entry["applies_if"] = rule
    return data


def act_on_workflow(form: EditorForm, data: dict[str, Any], action: str) -> bool:
    verb, *where = action.split(":")
    places = [int(n) for n in where if n.isdecimal() and len(n) < 4]
    entries = data.get("forms")
    if not isinstance(entries, list):
        return verb == "save"
    if verb == "add_form":
        key = form["new_form"].data
        if not key:
            refuse(form, "new_form", _l("Choose the form to add"))
            return False
        entries.append({"form": key, "municipality": form["new_form_municipality"].data})
        return True
    if len(places) == 1 and verb in ("up_form", "down_form", "remove_form"):
        if verb == "remove_form":
            editor.remove(entries, places[0])
        else:
            editor.move(entries, places[0], -1 if verb == "up_form" else 1)
    return True
