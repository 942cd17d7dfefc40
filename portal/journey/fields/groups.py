"""Groups: entries of sub-fields (household members, children), added and removed in place."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from wtforms import FieldList, Form, FormField
from wtforms.fields.core import UnboundField
from wtforms.utils import unset_value

from portal.definitions.model import Field, Item
from portal.journey.fields.base import (
    ErrorMessage,
    FieldType,
    field_type,
    register,
    unbound_field,
)
from portal.journey.fields.names import checked_name, entry_index, entry_title, field_name


class GroupField(FieldList):
    """Entries of sub-fields with one flat list of errors.

    There are always between ``least`` and ``item.max_items`` entries: blank ones are added
    up to the least (each then asks for its required answers), and entries posted beyond the
    most are dropped. ``id`` is the input an error summary links to: the first sub-field with
    an error; ``container_id`` is the group's own id.
    """

    def __init__(
        self,
        *args: Any,
        item: Item,
        required: bool,
        definitions: Mapping[str, Field],
        **kwargs: Any,
    ) -> None:
        self.item = item
        self.required = required
        #: The entry's sub-field definitions, by field name.
        self.definitions = definitions
        self.error_target: str | None = None
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def id(self) -> str:
        return self.error_target or self.container_id

    @id.setter
    def id(self, value: str) -> None:
        self.container_id = value

    @property
    def add_button_id(self) -> str:
        return f"{self.container_id}-add"

    @property
    def least(self) -> int:
        return max(self.item.min_items, 1 if self.required else 0)

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        self.error_target = None
        super().process(formdata, data, extra_filters)

    def _extract_indices(self, prefix: str, formdata: Any) -> Iterator[int]:
        """The entry indices posted (``children-0-name`` is entry 0): WTForms' own reading
        passes any ``isdigit`` text to ``int``, which a posted name must never reach."""
        offset = len(prefix) + 1
        for key in formdata:
            if key.startswith(prefix + self._field_separator):
                index = entry_index(key[offset:].split(self._field_separator, 1)[0])
                if index is not None:
                    yield index

    def validate(self, form: Any, extra_validators: Any = ()) -> bool:
        self.errors = []
        self.error_target = None
        for position, entry in enumerate(self.entries, 1):
            entry.form.validate()
            for sub in entry.form:
                for error in sub.errors:
                    target = getattr(error, "target", None) or sub.id
                    self.flag(f"{entry_title(self.item, position)}: {error}", target)
        return not self.errors

    def flag(self, message: str, target: str) -> None:
        self.errors.append(ErrorMessage(message, target))
        self.error_target = self.error_target or target


@register
class GroupType(FieldType):
    name = "group"
    macro = "group"
    wtf_class = GroupField
    blank_answer: ClassVar[Any] = []

    def unbound(self, definition: Field, validators: list[Any]) -> UnboundField:
        item = definition.item
        form_class = entry_form(item)
        return GroupField(
            FormField(form_class),
            item.label,
            item=item,
            required=definition.required,
            definitions=form_class._definitions,
            min_entries=max(item.min_items, 1 if definition.required else 0),
            max_entries=item.max_items,
        )

    def form_data(self, item: Item, answer: Any) -> Any:
        if not isinstance(answer, list):
            return []
        entries = []
        for stored in answer:
            stored = stored if isinstance(stored, Mapping) else {}
            entries.append(
                {
                    field_name(sub.key): field_type(sub.item).form_data(
                        sub.item, stored.get(sub.key)
                    )
                    for sub in item.fields
                    if sub.key in stored
                }
            )
        return entries

    def input_attributes(self, item: Item) -> dict[str, str]:
        return {}


def entry_form(item: Item) -> type[Form]:
    """The form of one group entry: the group's sub-fields, which are never locked."""
    definitions: dict[str, Field] = {}
    attributes: dict[str, Any] = {"_definitions": definitions}
    for sub in item.fields:
        if sub.item.type in ("group", "file"):
            raise ValueError(f"{item.key}.{sub.key}: a group entry cannot hold a {sub.item.type}")
        name = checked_name(sub.key, Form)
        attributes[name] = unbound_field(sub, locked=False)
        definitions[name] = sub
    return type(f"Entry_{field_name(item.key)}", (Form,), attributes)
