"""Choices among options: a select, radios, yes or no, checkboxes."""

from __future__ import annotations

from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l
from wtforms import Field as WTField
from wtforms import RadioField, SelectChoice, SelectField, SelectMultipleField
from wtforms.fields.core import UnboundField
from wtforms.validators import StopValidation

from portal.definitions.model import Field, Item
from portal.japan.values import is_blank, normalize_choice, normalize_choices, parse_yes_no
from portal.journey.fields.base import FieldType, message, register


@register
class SelectType(FieldType):
    name = "select"
    macro = "select"
    wtf_class = SelectField
    blank_message = _l("Select %(label)s")
    blank_answer = None

    def unbound(self, definition: Field, validators: list[Any]) -> UnboundField:
        return self.wtf_class(
            definition.item.label,
            validators=validators,
            choices=self.choices(definition.item),
            validate_choice=False,
        )

    def choices(self, item: Item) -> list[SelectChoice]:
        blank = SelectChoice("", _l("Select an option"))
        return [blank, *(SelectChoice(o.value, o.label) for o in item.options)]

    def normalize(self, value: Any, item: Item, form_field: WTField) -> Any:
        return normalize_choice(value, [o.value for o in item.options])

    def input_attributes(self, item: Item) -> dict[str, str]:
        return {}


@register
class RadioType(SelectType):
    name = "radio"
    macro = "radios"
    wtf_class = RadioField

    def choices(self, item: Item) -> list[SelectChoice]:
        return [SelectChoice(o.value, o.label) for o in item.options]


@register
class YesNoType(RadioType):
    name = "yes_no"
    blank_message = _l("Select yes or no")

    def choices(self, item: Item) -> list[SelectChoice]:
        return [SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))]

    def required_message(self, item: Item) -> str:
        return message(self.blank_message)

    def form_data(self, item: Item, answer: Any) -> Any:
        if isinstance(answer, bool):
            return "yes" if answer else "no"
        return None

    def normalize(self, value: Any, item: Item, form_field: WTField) -> Any:
        return parse_yes_no(value)


@register
class CheckboxType(SelectType):
    name = "checkbox"
    macro = "checkboxes"
    wtf_class = SelectMultipleField
    blank_answer: ClassVar[Any] = []

    def choices(self, item: Item) -> list[SelectChoice]:
        return [SelectChoice(o.value, o.label) for o in item.options]

    def form_data(self, item: Item, answer: Any) -> Any:
        return [str(v) for v in answer] if isinstance(answer, list | tuple) else []

    def is_blank(self, form_field: WTField) -> bool:
        return not any(not is_blank(value) for value in form_field.data or ())

    def normalize(self, value: Any, item: Item, form_field: WTField) -> Any:
        return normalize_choices(value or (), [o.value for o in item.options])

    def _blank(self, definition: Field) -> Any:
        if definition.required:
            raise StopValidation(self.required_message(definition.item))
        return []
