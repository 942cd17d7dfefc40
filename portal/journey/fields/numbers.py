"""Amounts and counts: exact numbers within their limits, with a unit beside the input."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from wtforms import Field as WTField

from portal.definitions.model import Item
from portal.japan.values import parse_number
from portal.journey.fields.base import FieldType, register


@register
class NumberType(FieldType):
    name = "number"
    fold_width = True
    blank_answer = None

    def normalize(self, value: Any, item: Item, form_field: WTField) -> Any:
        rules = item.validation
        number = parse_number(
            value,
            integer=bool(rules.get("integer")),
            minimum=_exact(rules.get("min")),
            maximum=_exact(rules.get("max")),
        )
        # Answers are stored as JSON: an int stays exact, a decimal becomes a float.
        return float(number) if isinstance(number, Decimal) else number

    def form_data(self, item: Item, answer: Any) -> Any:
        if answer is None or isinstance(answer, bool):
            return None
        if isinstance(answer, float) and answer.is_integer() and not item.validation.get("integer"):
            return str(int(answer))
        return str(answer)

    def input_attributes(self, item: Item) -> dict[str, str]:
        integer = bool(item.validation.get("integer"))
        return {
            "class_": "input input--short",
            "inputmode": "numeric" if integer else "decimal",
            "spellcheck": "false",
        }


def _exact(limit: Any) -> int | Decimal | None:
    if limit is None or isinstance(limit, int):
        return limit
    return Decimal(str(limit))
