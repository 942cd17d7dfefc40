"""The journey's shape, derived from the definitions and the answers so far.

Nothing here is stored: which forms apply, their deadlines and the pages to ask are computed
again from the case's answers whenever they are needed, so a changed answer changes them.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from portal.definitions.logic import evaluate, nest, truthy
from portal.definitions.model import Field, Form, Snapshot, Text, WorkflowForm
from portal.japan.clock import today_in_japan
from portal.japan.deadlines import deadline as legal_deadline

QUESTION, PROCEDURES, SECTION, DOCUMENTS, CHECK = (
    "question",
    "procedures",
    "section",
    "documents",
    "check",
)


@dataclass(frozen=True)
class Page:
    slug: str
    kind: str
    fields: tuple[Field, ...] = ()
    form: Form | None = None
    title: Text | None = None


@dataclass(frozen=True)
class Procedure:
    """A form that applies to this case, where it goes and by when.

    ``later``: a follow-up that can only be filed once a later event has happened (after the
    funeral); it is listed, never filed with the others, and not included."""

    entry: WorkflowForm
    form: Form
    included: bool
    deadline: date | None
    municipality_code: str | None
    later: bool = False

    @property
    def form_id(self) -> str:
        return self.form.id


def condition_holds(rule: Any, answers: Mapping[str, Any], today: date | None = None) -> bool:
    if rule is None or rule is True:
        return True
    if rule is False:
        return False
    # Definitions are checked before they are stored, so their rules need no re-validation.
    return truthy(evaluate(rule, answers, today=today, checked=True))


def visible(field: Field, answers: Mapping[str, Any], today: date | None = None) -> bool:
    return condition_holds(field.show_if, answers, today)


def deadline_of(form: Form, answers: Mapping[str, Any]) -> date | None:
    """The last day to file, moved off weekends and holidays; None without a fixed day."""
    rule = form.deadline
    if rule.from_key is None or rule.days is None:
        return None
    base = answers.get(rule.from_key)
    if not isinstance(base, str):
        return None
    try:
        start = date.fromisoformat(base)
    except ValueError:
        return None
    return legal_deadline(start, rule.days, count_first_day=rule.count_first_day)


def municipality_code_of(
    snapshot: Snapshot, entry: WorkflowForm, answers: Mapping[str, Any]
) -> str | None:
    address_key = snapshot.workflow.municipalities.get(entry.municipality)
    address = answers.get(address_key or "")
    if isinstance(address, Mapping):
        code = address.get("municipality_code")
        return str(code) if code else None
    return None


def procedures(
    snapshot: Snapshot,
    answers: Mapping[str, Any],
    declined: Sequence[str] = (),
    today: date | None = None,
    follow_up: str | None = None,
) -> list[Procedure]:
    """The forms whose conditions hold, in the workflow's order; for a case that files the
    ``follow_up`` form of an earlier one, just that form."""
    found = []
    conditions = nest(answers)
    for entry in snapshot.workflow.forms:
        if follow_up is not None and entry.form_id != follow_up:
            continue
        if not condition_holds(entry.applies_if, conditions, today):
            continue
        code = municipality_code_of(snapshot, entry, answers)
        form = snapshot.form(entry.form_id, code)
        later = entry.follow_up and follow_up is None
        found.append(
            Procedure(
                entry=entry,
                form=form,
                included=not later and not (entry.optional and form.id in declined),
                deadline=deadline_of(form, answers),
                municipality_code=code,
                later=later,
            )
        )
    return found


def pages(
    snapshot: Snapshot,
    answers: Mapping[str, Any],
    declined: Sequence[str] = (),
    today: date | None = None,
    applicable: Sequence[Procedure] | None = None,
    follow_up: str | None = None,
) -> list[Page]:
    """Every page in order: one per guidance question, the procedures that apply, each form's
    sections and documents with only what was not asked before, then the check page.

    A ``follow_up`` case asks only its form's pages, without what the case it follows
    asked (its answers came with it), but with its documents: they belong to each case.
    ``applicable`` passes procedures already computed for the same answers."""
    result: list[Page] = []
    asked: set[str] = set()
    conditions = nest(answers)
    if follow_up is not None:
        for earlier in pages(snapshot, answers, declined, today):
            asked.update(f.key for f in earlier.fields if f.item.type != "file")
    else:
        for field in snapshot.workflow.questions:
            asked.add(field.key)
            if visible(field, conditions, today):
                result.append(Page(f"q-{field.key}", QUESTION, (field,)))
        result.append(Page("procedures", PROCEDURES))
    if applicable is None:
        applicable = procedures(snapshot, answers, declined, today, follow_up)
    for procedure in applicable:
        if not procedure.included:
            continue
        form = procedure.form
        for section in form.sections:
            fields = _new_fields(section.fields, asked, conditions, today)
            if fields:
                result.append(
                    Page(f"f-{form.id}-{section.id}", SECTION, fields, form, section.title)
                )
        documents = _new_fields(form.attachments, asked, conditions, today)
        if documents:
            result.append(Page(f"d-{form.id}", DOCUMENTS, documents, form))
    result.append(Page("check", CHECK))
    return result


def _new_fields(
    fields: Sequence[Field], asked: set[str], answers: Mapping[str, Any], today: date | None
) -> tuple[Field, ...]:
    """Fields not asked on an earlier page: once-only entry across the forms of a case."""
    new = []
    for field in fields:
        if field.key in asked or not visible(field, answers, today):
            continue  # a hidden field may still be asked by a later form that shows it
        asked.add(field.key)
        new.append(field)
    return tuple(new)


@dataclass(frozen=True)
class Shape:
    """Which procedures apply and which pages to ask, for one state of the answers."""

    procedures: list[Procedure]
    pages: list[Page]


_shapes: OrderedDict[tuple[int, str, tuple[str, ...], date, str | None], tuple[Snapshot, Shape]] = (
    OrderedDict()
)
_shapes_lock = threading.Lock()
SHAPE_CACHE_SIZE = 512


def shape(
    snapshot: Snapshot,
    answers: Mapping[str, Any],
    declined: Sequence[str] = (),
    follow_up: str | None = None,
) -> Shape:
    """Procedures and pages, remembered for the same answers: a page's POST computes the
    shape that the next page's GET needs again, and conditions are the costly part."""
    today = today_in_japan()
    key = (
        id(snapshot),
        json.dumps(answers, sort_keys=True, ensure_ascii=False, default=str),
        tuple(sorted(declined)),
        today,
        follow_up,
    )
    with _shapes_lock:
        cached = _shapes.get(key)
        if cached is not None and cached[0] is snapshot:
            _shapes.move_to_end(key)
            return cached[1]
    applicable = procedures(snapshot, answers, declined, today, follow_up)
    result = Shape(applicable, pages(snapshot, answers, declined, today, applicable, follow_up))
    with _shapes_lock:
        _shapes[key] = (snapshot, result)
        while len(_shapes) > SHAPE_CACHE_SIZE:
            _shapes.popitem(last=False)
    return result


def first_unfinished(all_pages: Sequence[Page], completed: Sequence[str]) -> Page:
    """Where a resumed case opens: the first page not yet saved, else the check page."""
    done = set(completed)
    for page in all_pages:
        if page.kind != CHECK and page.slug not in done:
            return page
    return all_pages[-1]


def missing_answers(
    all_pages: Sequence[Page], answers: Mapping[str, Any], attachment_keys: set[str]
) -> list[tuple[Page, Field]]:
    """Required fields without an answer, for the check page to refuse submission."""
    missing = []
    for page in all_pages:
        for field in page.fields:
            if not field.required:
                continue
            if field.item.type == "file":
                if field.key not in attachment_keys:
                    missing.append((page, field))
            elif answers.get(field.key) in (None, "", [], {}):
                missing.append((page, field))
    return missing
