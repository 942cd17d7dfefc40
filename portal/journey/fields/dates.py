"""Dates: three inputs, either calendar (2026 or 令和8), stored as ISO ``YYYY-MM-DD``."""

from __future__ import annotations

from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l
from wtforms import Field as WTField

from portal.definitions.model import Item
from portal.japan.values import InvalidValue, check_date_range, is_blank, parse_date
from portal.journey.fields.base import FieldType, prepare, register
from portal.journey.fields.parts import DateField


@register
class DateType(FieldType):
    name = "date"
    macro = "date"
    wtf_class = DateField
    fold_width = True
    blank_answer = None
    part_labels: ClassVar[dict[str, Any]] = {
        "year": _l("Year"),
        "month": _l("Month"),
        "day": _l("Day"),
    }

    def form_data(self, item: Item, answer: Any) -> Any:
        return answer

    def prepared(self, form_field: WTField) -> Any:
        return {part: prepare(raw, fold_width=True) for part, raw in form_field.raw.items()}

    def is_blank(self, form_field: WTField) -> bool:
        return all(is_blank(value) for value in self.prepared(form_field).values())

    def normalize(self, value: Any, item: Item, form_field: WTField) -> Any:
        day = parse_date(value["year"], value["month"], value["day"])
        rules = item.validation
        try:
            check_date_range(
                day,
                not_after_today=bool(rules.get("not_after_today")),
                max_days_before_today=rules.get("max_days_before_today"),
                max_days_after_today=rules.get("max_days_after_today"),
            )
        except InvalidValue as out_of_range:
            raise InvalidValue(out_of_range.message, DateField.parts) from None
        return day.isoformat()

    def mark_invalid(self, form_field: WTField, invalid: InvalidValue) -> None:
        form_field.error_parts = tuple(invalid.fields) or DateField.parts

    def input_attributes(self, item: Item) -> dict[str, str]:
        return {"inputmode": "numeric", "spellcheck": "false"}

    def part_attributes(self, item: Item, part: str) -> dict[str, str]:
        if part == "year":
            # The year may be typed with its era (令和8): a numeric keypad has no kanji.
            attributes = {"maxlength": "6", "spellcheck": "false"}
        else:
            attributes = {**self.input_attributes(item), "maxlength": "2"}
        if item.prefill == "birthdate":
            attributes["autocomplete"] = f"bday-{part}"
        return attributes
