"""Definitions as typed, immutable objects, built from checked YAML data.

Building assumes the data passed ``checker.check``; a case's frozen snapshot is rebuilt
from its stored JSON with the same functions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from portal.definitions.logic import Condition, variables
from portal.i18n import current_language, localized

#: The parts of an address answer, in the order they are stored and asked; conditions may
#: read each part (``move.new_address.municipality_code``).
ADDRESS_PARTS = (
    "postal_code",
    "prefecture",
    "city",
    "town",
    "street",
    "building",
    "municipality_code",
)


@dataclass(frozen=True)
class Text:
    """A text in Japanese and in any other configured language (English, ...): Japanese is
    required and stands in for a language the text does not have."""

    ja: str
    en: str | None = None
    others: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        language = current_language()
        if language == "en":
            return localized(self.ja, self.en)
        return dict(self.others).get(language) or self.ja

    @classmethod
    def of(cls, data: Mapping[str, str] | None) -> Text | None:
        return cls.required(data) if data else None

    @classmethod
    def required(cls, data: Mapping[str, str]) -> Text:
        others = tuple(sorted((k, v) for k, v in data.items() if k not in ("ja", "en")))
        return cls(data["ja"], data.get("en"), others)

    def as_dict(self) -> dict[str, str]:
        """Every language given, as :meth:`required` reads it back."""
        given = {"ja": self.ja, **({"en": self.en} if self.en else {})}
        return {**given, **dict(self.others)}


@dataclass(frozen=True)
class Option:
    value: str
    label: Text
    help: Text | None = None


@dataclass(frozen=True)
class Item:
    """A data item: what is asked and how its answer is checked."""

    key: str
    type: str
    label: Text
    help: Text | None = None
    summary_label: Text | None = None
    options: tuple[Option, ...] = ()
    validation: Mapping[str, Any] = field(default_factory=dict)
    prefill: str | None = None
    prefill_locked: bool = False
    #: JsonLogic over the answers: the claims are the filer's own facts, so an item about
    #: someone who may be another person is prefilled only while this holds.
    prefill_if: Any = None
    fields: tuple[Field, ...] = ()
    item_label: Text | None = None
    min_items: int = 0
    max_items: int = 10

    def option(self, value: str) -> Option | None:
        return next((o for o in self.options if o.value == value), None)


@dataclass(frozen=True)
class Field:
    """A place where an item is asked, with whether it must be answered and when it shows."""

    key: str
    item: Item
    required: bool = True
    #: None (always shown), a bool or a :class:`~portal.definitions.logic.Condition`.
    show_if: Any = None


@dataclass(frozen=True)
class Section:
    id: str
    title: Text
    fields: tuple[Field, ...]
    help: Text | None = None


@dataclass(frozen=True)
class Deadline:
    rule: Text
    from_key: str | None = None
    days: int | None = None
    count_first_day: bool = False


@dataclass(frozen=True)
class Form:
    id: str
    version: int
    ministry: str
    title: Text
    legal_basis: Text
    department_kind: str
    deadline: Deadline
    sections: tuple[Section, ...]
    attachments: tuple[Field, ...] = ()
    summary: Text | None = None
    counter_visit: Text | None = None
    #: The resident must come to the counter in person: a visit they can book here.
    visit_required: bool = False
    certificate_id: str | None = None
    certificate_title: Text | None = None
    #: The template (``templates/certificates/<name>.html``) of the PDF the portal issues
    #: for a decision, and on which decisions (``approved``, ``rejected``); None: no PDF.
    certificate_template: str | None = None
    certificate_issued_on: tuple[str, ...] = ()
    #: Clerks who must approve it: 2 for four eyes (a second, different clerk).
    approvals: int = 1
    #: How long a decided case is kept after its last decision; None: kept.
    retention: Retention | None = None

    def fields(self) -> Iterator[Field]:
        for section in self.sections:
            yield from section.fields
        yield from self.attachments

    @cached_property
    def documents_to_correct(self) -> Mapping[str, Field]:
        """Each document as a correction asks for it: required, even one the form leaves
        optional. Made once per definition, like the definition itself, so that the page's
        form class (cached by the identity of its fields) is made once too."""
        return {f.key: replace(f, required=True) for f in self.attachments}


@dataclass(frozen=True)
class Retention:
    """A form's retention: ``years`` after a case's last decision, then ``action``
    (``anonymise``: personal data removed, the case kept for the figures; ``delete``)."""

    years: int
    action: str

    @classmethod
    def of(cls, data: Mapping[str, Any] | None) -> Retention | None:
        """A form's ``retention:`` as written, or None where it gives none."""
        return cls(int(data["years"]), data["action"]) if data else None


@dataclass(frozen=True)
class WorkflowForm:
    form_id: str
    municipality: str
    applies_if: Any = True
    optional: bool = False
    #: A follow-up can only be filed once a later event has happened (``after``: "After the
    #: funeral"): listed with its deadline, filed later by a case that follows this one.
    follow_up_after: Text | None = None

    @property
    def follow_up(self) -> bool:
        return self.follow_up_after is not None


@dataclass(frozen=True)
class Scope:
    """A question the addresses answer: ``same`` when the current and new addresses are in
    one municipality, ``different`` when not (the portal corrects a wrong tick)."""

    key: str
    same: str
    different: str


@dataclass(frozen=True)
class HandOff:
    """Approving ``form`` (the moving-out, at the old municipality) hands its data over to
    the municipality of role ``to``: its requests wait for it, then become ready there."""

    form_id: str
    to: str


@dataclass(frozen=True)
class Workflow:
    id: str
    version: int
    title: Text
    summary: Text
    filer: str
    questions: tuple[Field, ...]
    municipalities: Mapping[str, str]
    forms: tuple[WorkflowForm, ...]
    scope: Scope | None = None
    hand_off: HandOff | None = None


@dataclass(frozen=True)
class Snapshot:
    """One workflow with the forms and vocabulary it uses: what a case is filled against."""

    workflow: Workflow
    forms: Mapping[str, Form]
    vocabulary: Mapping[str, Item]
    #: Municipalities' published overrides of these forms when the snapshot was made, by
    #: municipality code: a form filed there is that municipality's version.
    local: Mapping[str, Mapping[str, Form]] = field(default_factory=dict)

    def form(self, form_id: str, municipality_code: str | None = None) -> Form:
        """The form as filed at ``municipality_code``: its override there, else the
        national one."""
        if municipality_code is not None:
            local = self.local.get(municipality_code, {}).get(form_id)
            if local is not None:
                return local
        return self.forms[form_id]

    @cached_property
    def prefill_deciders(self) -> frozenset[str]:
        """The answers the vocabulary's ``prefill_if`` rules read, which decide whose facts
        those items are: found once, since a snapshot never changes and every save asks."""
        return frozenset().union(
            *(variables(i.prefill_if) for i in self.vocabulary.values() if i.prefill_if is not None)
        )


# Building from data ----------------------------------------------------------------------


def build_item(key: str, data: Mapping[str, Any]) -> Item:
    return Item(
        key=key,
        type=data["type"],
        label=Text.required(data["label"]),
        help=Text.of(data.get("help")),
        summary_label=Text.of(data.get("summary_label")),
        options=tuple(
            Option(o["value"], Text.required(o["label"]), Text.of(o.get("help")))
            for o in data.get("options", ())
        ),
        validation=dict(data.get("validation", {})),
        prefill=data.get("prefill"),
        prefill_locked=bool(data.get("prefill_locked", False)),
        prefill_if=data.get("prefill_if"),
        fields=tuple(build_field(f, {}) for f in data.get("fields", ())),
        item_label=Text.of(data.get("item_label")),
        min_items=int(data.get("min_items", 0)),
        max_items=int(data.get("max_items", 10)),
    )


def build_vocabulary(data: Mapping[str, Any]) -> dict[str, Item]:
    return {key: build_item(key, item) for key, item in data["items"].items()}


def build_field(data: Mapping[str, Any], vocabulary: Mapping[str, Item]) -> Field:
    key = data["key"]
    item = build_item(key, data["item"]) if "item" in data else vocabulary[key]
    return Field(
        key=key,
        item=item,
        required=bool(data.get("required", True)),
        show_if=Condition.of(data.get("show_if")),
    )


def build_form(data: Mapping[str, Any], vocabulary: Mapping[str, Item]) -> Form:
    deadline = data["deadline"]
    certificate = data.get("certificate") or {}
    return Form(
        id=data["id"],
        version=int(data["version"]),
        ministry=data["ministry"],
        title=Text.required(data["title"]),
        summary=Text.of(data.get("summary")),
        legal_basis=Text.required(data["legal_basis"]),
        department_kind=data["department_kind"],
        deadline=Deadline(
            rule=Text.required(deadline["rule"]),
            from_key=deadline.get("from"),
            days=deadline.get("days"),
            count_first_day=bool(deadline.get("count_first_day", False)),
        ),
        counter_visit=Text.of(data.get("counter_visit")),
        visit_required=data.get("visit") == "required",
        certificate_id=certificate.get("id"),
        certificate_title=Text.of(certificate.get("title")),
        certificate_template=certificate.get("template"),
        certificate_issued_on=tuple(certificate.get("issued_on", ("approved",)))
        if certificate.get("template")
        else (),
        approvals=int(data.get("approvals", 1)),
        retention=Retention.of(data.get("retention")),
        sections=tuple(
            Section(
                id=s["id"],
                title=Text.required(s["title"]),
                help=Text.of(s.get("help")),
                fields=tuple(build_field(f, vocabulary) for f in s["fields"]),
            )
            for s in data["sections"]
        ),
        attachments=tuple(build_field(f, vocabulary) for f in data.get("attachments", ())),
    )


def build_workflow(data: Mapping[str, Any], vocabulary: Mapping[str, Item]) -> Workflow:
    return Workflow(
        id=data["id"],
        version=int(data["version"]),
        title=Text.required(data["title"]),
        summary=Text.required(data["summary"]),
        filer=data["filer"],
        questions=tuple(build_field(f, vocabulary) for f in data["questions"]),
        municipalities=dict(data["municipalities"]),
        forms=tuple(
            WorkflowForm(
                form_id=f["form"],
                municipality=f["municipality"],
                applies_if=Condition.of(f.get("applies_if", True)),
                optional=bool(f.get("optional", False)),
                follow_up_after=Text.of((f.get("follow_up") or {}).get("after")),
            )
            for f in data["forms"]
        ),
        scope=Scope(**data["scope"]) if "scope" in data else None,
        hand_off=(
            HandOff(form_id=data["hand_off"]["form"], to=data["hand_off"]["to"])
            if "hand_off" in data
            else None
        ),
    )


def build_snapshot(data: Mapping[str, Any]) -> Snapshot:
    """From a snapshot's stored JSON: ``{"vocabulary": ..., "workflow": ..., "forms": {...}}``."""
    vocabulary = build_vocabulary(data["vocabulary"])
    return Snapshot(
        workflow=build_workflow(data["workflow"], vocabulary),
        forms={form_id: build_form(form, vocabulary) for form_id, form in data["forms"].items()},
        vocabulary=vocabulary,
        local={
            code: {form_id: build_form(form, vocabulary) for form_id, form in forms.items()}
            for code, forms in data.get("local", {}).items()
        },
    )
