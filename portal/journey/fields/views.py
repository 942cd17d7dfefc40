"""What ``templates/macros/fields.html`` needs to render a field, an option or an entry."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from wtforms import Field as WTField

from portal.definitions.model import Field, Item, Text
from portal.japan import postal
from portal.journey.fields.base import FieldType
from portal.journey.fields.summary import Summary, number_unit, summarize
from portal.web.templating import field_attributes


@dataclass
class OptionView:
    """A radio button or checkbox, with the ids its label and hint refer to."""

    id: str
    value: str
    label: Any
    hint: Any
    checked: bool


@dataclass
class EntryView:
    """One entry of a group: its title ("Child 2"), its fields and its Remove button."""

    index: int
    title: str
    id: str
    name: str
    fields: list[FieldView]
    remove_value: str


@dataclass
class FieldView:
    """What ``templates/macros/fields.html`` needs to render one field."""

    definition: Field
    field: WTField
    kind: FieldType
    locked: bool = False
    answer: Any = None
    entries: list[EntryView] = dataclasses.field(default_factory=list)

    @property
    def item(self) -> Item:
        return self.definition.item

    @property
    def macro(self) -> str:
        return "locked" if self.locked else self.kind.macro

    @property
    def required(self) -> bool:
        return self.definition.required

    @property
    def container_id(self) -> str:
        return getattr(self.field, "container_id", self.field.id)

    @property
    def hint_id(self) -> str | None:
        return f"{self.container_id}-hint" if self.item.help else None

    @property
    def error_id(self) -> str:
        return f"{self.container_id}-error"

    def describedby(self, *extra: str | None, errors: bool = True) -> str:
        """The ids a fieldset (or input) is described by: hint, ``extra``, error message."""
        ids = [self.hint_id, *extra]
        if errors and self.field.errors:
            ids.append(self.error_id)
        return " ".join(i for i in ids if i)

    def input_attrs(self, also_described_by: str | None = None) -> dict[str, str]:
        """A single input's attributes (as ``field`` in components.html makes them), with
        the type's autocomplete and inputmode; a number's unit joins its description."""
        attributes = field_attributes(
            self.field, self.item.help, self.kind.input_attributes(self.item)
        )
        extra = [i for i in (self.unit_id if self.unit else None, also_described_by) if i]
        if extra:
            described = attributes.get("aria-describedby", "")
            attributes["aria-describedby"] = " ".join([described, *extra]).strip()
        return attributes

    @property
    def unit_id(self) -> str:
        return f"{self.container_id}-unit"

    def part_attrs(self, part: str) -> dict[str, str]:
        """A date or address part's input attributes (for ``xmlattr``): id, name, value,
        autocomplete and inputmode, and its error state."""
        kind: Any = self.kind
        attributes = {"class_": "input", **kind.part_attributes(self.item, part)}
        css_class = attributes.pop("class_")
        part_id = self.field.part_id(part)
        described = []
        if part in self.part_hints:
            described.append(f"{part_id}-hint")
        if self.field.part_errors.get(part):
            described.append(f"{part_id}-error")
        invalid = part in self.field.part_errors or part in self.field.error_parts
        return {
            "class": f"{css_class} input--error" if invalid else css_class,
            "id": part_id,
            "name": self.field.part_name(part),
            "value": self.field.raw.get(part, ""),
            **attributes,
            **({"aria-describedby": " ".join(described)} if described else {}),
            **({"aria-invalid": "true"} if invalid else {}),
        }

    @property
    def part_hints(self) -> dict[str, Any]:
        return getattr(self.kind, "part_hints", {})

    @property
    def parts(self) -> tuple[str, ...]:
        return self.field.parts

    def part_label(self, part: str) -> Any:
        return self.kind.part_labels[part]  # type: ignore[attr-defined]

    def part_error(self, part: str) -> str | None:
        return self.field.part_errors.get(part)

    @property
    def options(self) -> list[OptionView]:
        """Radios and checkboxes: the first option's id is the field's, for error links."""
        data = self.field.data
        chosen = set(data) if isinstance(data, list) else {data}
        helps = {o.value: o.help for o in self.item.options}
        views = []
        for index, choice in enumerate(self.kind.choices(self.item)):  # type: ignore[attr-defined]
            option_id = self.field.id if index == 0 else f"{self.field.id}-{index}"
            views.append(
                OptionView(
                    option_id,
                    choice.value,
                    choice.label,
                    helps.get(choice.value),
                    choice.value in chosen,
                )
            )
        return views

    @property
    def unit(self) -> Text | str | None:
        return number_unit(self.item) if self.item.type == "number" else None

    @property
    def summary(self) -> Summary:
        return summarize(self.item, self.answer)

    @property
    def current_file(self) -> str | None:
        return getattr(self.field, "current_file", None)

    @property
    def found(self) -> postal.PostalAddress | None:
        return getattr(self.field, "found", None)

    # groups

    @property
    def can_add(self) -> bool:
        return len(self.field.entries) < self.item.max_items

    @property
    def can_remove(self) -> bool:
        return len(self.field.entries) > self.field.least

    @property
    def add_label(self) -> str:
        return _("Add %(item)s", item=str(self.item.item_label or self.item.label))
