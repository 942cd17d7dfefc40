"""Japanese addresses: the postal code decides prefecture, city and municipality code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import Field as WTField
from wtforms.validators import StopValidation

from portal.definitions.model import Field, Item
from portal.japan import postal
from portal.japan.values import InvalidValue, is_blank, normalize_text
from portal.journey.fields.base import ErrorMessage, FieldType, message, prepare, register
from portal.journey.fields.parts import AddressField


@register
class AddressType(FieldType):
    name = "address"
    macro = "address"
    wtf_class = AddressField
    blank_answer = None
    part_labels: ClassVar[dict[str, Any]] = {
        "postal_code": _l("Postal code"),
        "prefecture": _l("Prefecture"),
        "city": _l("City, ward, town or village"),
        "town": _l("Town or district"),
        "street": _l("Block and house number"),
        "building": _l("Building name and room number (optional)"),
    }
    part_hints: ClassVar[dict[str, Any]] = {
        "postal_code": _l(
            "Enter the postal code and select “Find address” to fill in the "
            "prefecture and municipality."
        )
    }
    _autocomplete: ClassVar[dict[str, str]] = {
        "postal_code": "postal-code",
        "prefecture": "address-level1",
        "city": "address-level2",
        "town": "address-level3",
        "street": "address-line1",
        "building": "address-line2",
    }

    def form_data(self, item: Item, answer: Any) -> Any:
        return dict(answer) if isinstance(answer, Mapping) else None

    def prepared(self, form_field: WTField) -> Any:
        return {part: prepare(raw, fold_width=False) for part, raw in form_field.raw.items()}

    def is_blank(self, form_field: WTField) -> bool:
        return all(is_blank(value) for value in self.prepared(form_field).values())

    def clean(self, form_field: WTField, definition: Field) -> Any:
        if self.is_blank(form_field):
            if definition.required:
                form_field.part_errors = {"postal_code": self.required_message(definition.item)}
                raise StopValidation(form_field.part_errors["postal_code"])
            return None
        raw = self.prepared(form_field)
        errors: dict[str, str] = {}
        clean: dict[str, str] = {}
        found = None
        try:
            found = postal.lookup(raw["postal_code"])
            if found is None:
                errors["postal_code"] = _("We could not find this postal code")
        except InvalidValue as invalid:
            errors["postal_code"] = message(invalid.message)
        for part in ("prefecture", "city", "town", "street", "building"):
            try:
                clean[part] = normalize_text(raw[part], 100)
            except InvalidValue as invalid:
                errors[part] = message(invalid.message)
        if found is not None:
            # What the postal code decides is taken from it, so the municipality is right.
            clean.update(prefecture=found.prefecture, city=found.city)
            clean["town"] = clean.get("town") or found.town
        if not errors.get("street") and not clean.get("street"):
            errors["street"] = _("Enter the block and house number")
        if errors:
            form_field.part_errors = errors
            form_field.errors.extend(
                ErrorMessage(errors[p], form_field.part_id(p))
                for p in AddressField.parts
                if p in errors
            )
            raise StopValidation()
        assert found is not None
        return {
            "postal_code": found.postal_code,
            "prefecture": clean["prefecture"],
            "city": clean["city"],
            "town": clean["town"],
            "street": clean["street"],
            "building": clean["building"],
            "municipality_code": found.municipality_code,
        }

    def input_attributes(self, item: Item) -> dict[str, str]:
        return {}

    def part_attributes(self, item: Item, part: str) -> dict[str, str]:
        attributes: dict[str, str] = {}
        if part == "postal_code":
            attributes.update(
                {"class_": "input input--short", "inputmode": "numeric", "spellcheck": "false"}
            )
        if item.prefill == "address":
            # Only the resident's own address: a new address must not fill in the old one.
            attributes["autocomplete"] = self._autocomplete[part]
        return attributes
