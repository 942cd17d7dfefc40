"""A version seen as a resident would see it, with no case made and nothing stored.

A form is its sections, one page each, then its documents, built with the journey's own
field types (:func:`portal.journey.fields.page.page_form`); a workflow is its guidance
questions, one page each, then the forms it may file with their conditions in words. The
vocabulary is the live one: a draft of a form is shown as it would be once published.

Nothing here writes: the admin view validates what is typed on a page and moves on.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData, URLSafeSerializer

from portal.definitions import versions
from portal.definitions.logic import nest
from portal.definitions.model import (
    Field,
    Form,
    Item,
    Text,
    Workflow,
    build_form,
    build_vocabulary,
    build_workflow,
)
from portal.definitions.models import DefinitionVersion, VersionState
from portal.definitions.services import Catalog, current_catalog
from portal.definitions.sources import Problem
from portal.journey import flow

#: The answers typed on a preview's pages travel with its links, signed, never stored.
ANSWERS_SALT = "definitions-preview-answers"


def answers_token(answers: Mapping[str, Any]) -> str | None:
    if not answers:
        return None
    return URLSafeSerializer(current_app.secret_key, salt=ANSWERS_SALT).dumps(dict(answers))


def answers_from(token: str | None) -> dict[str, Any]:
    """The answers a preview's link carries; none when it carries none or was altered."""
    if not token or len(token) > 20_000:
        return {}
    try:
        found = URLSafeSerializer(current_app.secret_key, salt=ANSWERS_SALT).loads(token)
    except BadData:
        return {}
    return found if isinstance(found, dict) else {}


class NotPreviewable(Exception):
    """The version cannot be shown as pages: it has faults, or it is the vocabulary."""

    def __init__(self, message: Any, problems: list[Problem] | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.problems = problems or []


@dataclass(frozen=True)
class Entry:
    """One form a workflow may file, with when it applies in words (None: always)."""

    form_id: str
    title: Text | str
    condition: str | None
    optional: bool
    follow_up_after: Text | None


@dataclass(frozen=True)
class Preview:
    """The pages of one version, in the journey's order, and for a workflow its forms."""

    kind: str
    title: Text
    pages: tuple[flow.Page, ...]
    vocabulary: Mapping[str, Item]
    form: Form | None = None
    workflow: Workflow | None = None
    entries: tuple[Entry, ...] = ()

    def page(self, slug: str) -> flow.Page | None:
        return next((p for p in self.pages if p.slug == slug), None)

    def pages_for(self, answers: Mapping[str, Any]) -> tuple[flow.Page, ...]:
        """The pages these answers reach: a guidance question whose ``show_if`` does not
        hold over the earlier answers is skipped, as the journey skips it."""
        conditions = nest(answers)
        return tuple(
            p
            for p in self.pages
            if p.kind != flow.QUESTION or flow.visible(p.fields[0], conditions)
        )

    def next_after(self, page: flow.Page, answers: Mapping[str, Any]) -> flow.Page | None:
        reached = [p.slug for p in self.pages_for(answers)]
        later = reached[reached.index(page.slug) + 1 :] if page.slug in reached else []
        return self.page(later[0]) if later else None

    def applies(self, answers: Mapping[str, Any]) -> dict[str, bool]:
        """Which of a workflow's forms these answers file, by form id."""
        if self.workflow is None:
            return {}
        conditions = nest(answers)
        return {
            entry.form_id: flow.condition_holds(entry.applies_if, conditions)
            for entry in self.workflow.forms
        }

    def shown_when(self, field: Field) -> str | None:
        """When a conditional field is asked, in words: the preview shows every field."""
        return describe(field.show_if, self.vocabulary) if field.show_if is not None else None


_lock = threading.Lock()
_parsed: dict[tuple[str, str, str], Preview] = {}


def preview_of(version: DefinitionVersion) -> Preview:
    """The version's pages, parsed once per content and catalog: the journey's form classes
    are cached by the identity of the fields, so the same fields must come back each time.

    A draft with faults is refused (the checker's faults, as the version page lists them);
    so is anything that cannot be built into pages."""
    if version.kind == "vocabulary":
        raise NotPreviewable(
            _l("The vocabulary has no pages of its own: preview a form that uses it.")
        )
    catalog = current_catalog()
    # A publication or retirement (a new stamp) may fix or break a draft: check it again.
    key = (version.kind, version.digest, str(catalog.stamp))
    with _lock:
        found = _parsed.get(key)
    if found is not None:
        return found
    if version.state == VersionState.DRAFT:
        problems = versions.problems_of(version)
        if problems:
            raise NotPreviewable(_l("This draft has faults: fix them to preview it."), problems)
    try:
        found = _build(version, catalog)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise NotPreviewable(_l("This version cannot be shown as pages.")) from None
    with _lock:
        if len(_parsed) > 64:
            _parsed.clear()
        _parsed[key] = found
    return found


def _build(version: DefinitionVersion, catalog: Catalog) -> Preview:
    vocabulary = build_vocabulary(catalog.vocabulary)
    if version.kind == "form":
        form = build_form(version.content, vocabulary)
        pages = [
            flow.Page(f"f-{section.id}", flow.SECTION, section.fields, form, section.title)
            for section in form.sections
            if section.fields
        ]
        if form.attachments:
            pages.append(flow.Page("documents", flow.DOCUMENTS, form.attachments, form))
        return Preview("form", form.title, tuple(pages), vocabulary, form=form)
    workflow = build_workflow(version.content, vocabulary)
    pages = [flow.Page(f"q-{f.key}", flow.QUESTION, (f,)) for f in workflow.questions]
    pages.append(flow.Page("procedures", flow.PROCEDURES))
    entries = []
    for entry in workflow.forms:
        data = catalog.forms.get(entry.form_id)
        title = Text.required(data["title"]) if data else entry.form_id
        rule = entry.applies_if
        entries.append(
            Entry(
                form_id=entry.form_id,
                title=title,
                condition=None if rule is True or rule is None else describe(rule, vocabulary),
                optional=entry.optional,
                follow_up_after=entry.follow_up_after,
            )
        )
    return Preview(
        "workflow",
        workflow.title,
        tuple(pages),
        vocabulary,
        workflow=workflow,
        entries=tuple(entries),
    )


# Conditions in words ----------------------------------------------------------------------

COMPARISONS = {
    "==": _l("%(item)s is %(value)s"),
    "===": _l("%(item)s is %(value)s"),
    "!=": _l("%(item)s is not %(value)s"),
    "!==": _l("%(item)s is not %(value)s"),
    "<": _l("%(item)s is less than %(value)s"),
    "<=": _l("%(item)s is at most %(value)s"),
    ">": _l("%(item)s is more than %(value)s"),
    ">=": _l("%(item)s is at least %(value)s"),
}


def describe(rule: Any, vocabulary: Mapping[str, Item]) -> str:
    """A JsonLogic condition as a sentence an admin can check against what they meant: item
    labels and option labels instead of keys and values; what has no wording here (a date
    operator, ``some`` over a group) is shown as the rule itself."""
    if hasattr(rule, "rule"):  # a parsed Condition
        rule = rule.rule
    if isinstance(rule, Mapping) and len(rule) == 1:
        ((operator, operands),) = rule.items()
        args = operands if isinstance(operands, list) else [operands]
        worded = _worded(str(operator), args, vocabulary)
        if worded is not None:
            return worded
    return json.dumps(rule, ensure_ascii=False, separators=(", ", ": "))


def _worded(operator: str, args: list[Any], vocabulary: Mapping[str, Item]) -> str | None:
    if operator in ("and", "or"):
        parts = [describe(a, vocabulary) for a in args]
        joiner = _(" and ") if operator == "and" else _(" or ")
        return joiner.join(f"({p})" if " " in p and len(args) > 1 else p for p in parts)
    if operator == "!" and len(args) == 1:
        return _("not (%(condition)s)", condition=describe(args[0], vocabulary))
    if operator == "!!" and len(args) == 1 and (key := _var(args[0])) is not None:
        item = vocabulary.get(key)
        if item is not None and item.type == "yes_no":
            return _("%(item)s is yes", item=_label(key, vocabulary))
        return _("%(item)s is answered", item=_label(key, vocabulary))
    if operator == "var" and (key := _var({"var": args[0] if len(args) == 1 else args})):
        return _("%(item)s is yes", item=_label(key, vocabulary))
    if operator in COMPARISONS and len(args) == 2:
        key, value = _var(args[0]), args[1]
        if key is None:
            key, value = _var(args[1]), args[0]
        if key is not None and not isinstance(value, Mapping):
            return str(
                COMPARISONS[operator]
                % {"item": _label(key, vocabulary), "value": _value(key, value, vocabulary)}
            )
    if operator == "in" and len(args) == 2:
        if (key := _var(args[1])) is not None and not isinstance(args[0], Mapping):
            return _(
                "%(item)s includes %(value)s",
                item=_label(key, vocabulary),
                value=_value(key, args[0], vocabulary),
            )
        if (key := _var(args[0])) is not None and isinstance(args[1], list):
            values = ", ".join(_value(key, v, vocabulary) for v in args[1])
            return _("%(item)s is one of %(values)s", item=_label(key, vocabulary), values=values)
    return None


def _var(operand: Any) -> str | None:
    if isinstance(operand, Mapping) and set(operand) == {"var"}:
        name = operand["var"]
        if isinstance(name, list) and name:
            name = name[0]
        return name if isinstance(name, str) and name else None
    return None


def _label(key: str, vocabulary: Mapping[str, Item]) -> str:
    item = vocabulary.get(key)
    return f"“{item.label}”" if item is not None else f"“{key}”"


def _value(key: str, value: Any, vocabulary: Mapping[str, Item]) -> str:
    item = vocabulary.get(key)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if item is not None and isinstance(value, str) and (option := item.option(value)):
        return f"“{option.label}”"
    return json.dumps(value, ensure_ascii=False)
