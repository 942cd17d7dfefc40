"""Answers typed in one input: free text, names and readings, codes, phones, times, digits."""

from __future__ import annotations

from typing import Any

from wtforms import EmailField, TelField, TextAreaField
from wtforms import Field as WTField

from portal.definitions.model import Item
from portal.japan.values import (
    check_length,
    display_phone,
    normalize_digits,
    normalize_email,
    normalize_kana,
    normalize_name,
    normalize_phone,
    normalize_postal_code,
    normalize_text,
    normalize_time,
)
from portal.journey.fields.base import FieldType, register

#: Identity claims with an autocomplete token: only for the resident's own answers.
_NAME_AUTOCOMPLETE = {"name": "name", "family_name": "family-name", "given_name": "given-name"}


@register
class TextType(FieldType):
    name = "text"

    def normalize(self, value: Any, item: Item, form_field: WTField) -> Any:
        text = normalize_text(value, item.validation.get("max_length"))
        check_length(text, minimum=item.validation.get("min_length"))
        return text


@register
class TextareaType(FieldType):
    name = "textarea"
    macro = "textarea"
    wtf_class = TextAreaField

    def normalize(self, value: Any, item: Item, form_field: WTField) -> Any:
        text = normalize_text(value, item.validation.get("max_length"), multiline=True)
        check_length(text, minimum=item.validation.get("min_length"))
        return text


@register
class NameType(FieldType):
    name = "name"

    def normalize(self, value: Any, item: Item, form_field: WTField) -> Any:
        return normalize_name(value, item.validation.get("max_length", 100))

    def input_attributes(self, item: Item) -> dict[str, str]:
        attributes = {**super().input_attributes(item), "spellcheck": "false"}
        token = _NAME_AUTOCOMPLETE.get(item.prefill or "")
        if token:
            attributes["autocomplete"] = token
        return attributes


@register
class KanaType(FieldType):
    name = "kana"

    def normalize(self, value: Any, item: Item, form_field: WTField) -> Any:
        return normalize_kana(value, item.validation.get("max_length", 100))

    def input_attributes(self, item: Item) -> dict[str, str]:
        # No autocomplete token exists for a reading; lang helps the keyboard choose kana.
        return {**super().input_attributes(item), "lang": "ja", "spellcheck": "false"}


@register
class PostalCodeType(FieldType):
    name = "postal_code"
    fold_width = True

    def normalize(self, value: Any, item: Item, form_field: WTField) -> Any:
        return normalize_postal_code(value)

    def input_attributes(self, item: Item) -> dict[str, str]:
        return {
            "class_": "input input--short",
            "autocomplete": "postal-code",
            "inputmode": "numeric",
            "spellcheck": "false",
        }


@register
class PhoneType(FieldType):
    name = "phone"
    wtf_class = TelField
    fold_width = True

    def normalize(self, value: Any, item: Item, form_field: WTField) -> Any:
        return normalize_phone(value)

    def form_data(self, item: Item, answer: Any) -> Any:
        return None if answer is None else display_phone(str(answer))

    def input_attributes(self, item: Item) -> dict[str, str]:
        return {"autocomplete": "tel", "inputmode": "tel", "spellcheck": "false"}


@register
class EmailType(FieldType):
    name = "email"
    wtf_class = EmailField
    fold_width = True

    def normalize(self, value: Any, item: Item, form_field: WTField) -> Any:
        return normalize_email(value)

    def input_attributes(self, item: Item) -> dict[str, str]:
        return {
            "autocomplete": "email",
            "inputmode": "email",
            "spellcheck": "false",
            "autocapitalize": "none",
        }


@register
class TimeType(FieldType):
    """A time of day on the 24-hour clock (a birth, a death), stored as ``"HH:MM"``."""

    name = "time"
    fold_width = True

    def normalize(self, value: Any, item: Item, form_field: WTField) -> Any:
        return normalize_time(value)

    def input_attributes(self, item: Item) -> dict[str, str]:
        return {"class_": "input input--short", "inputmode": "numeric", "spellcheck": "false"}


@register
class DigitsType(FieldType):
    """A number that is a code, not an amount (an account number): its digits, zeros kept."""

    name = "digits"
    fold_width = True

    def normalize(self, value: Any, item: Item, form_field: WTField) -> Any:
        rules = item.validation
        return normalize_digits(
            value, minimum=rules.get("min_length"), maximum=rules.get("max_length")
        )

    def input_attributes(self, item: Item) -> dict[str, str]:
        return {
            **super().input_attributes(item),
            "class_": "input input--short",
            "inputmode": "numeric",
            "spellcheck": "false",
        }
