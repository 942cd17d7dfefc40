"""The questions of a journey page as a form: one field type per item type, in a registry.

Each :class:`FieldType` knows, for its item type (``text``, ``date``, ``address`` ...), the
WTForms field it is asked with, how a stored answer is shown in it again, how what the
resident typed becomes the stored answer (through :mod:`portal.values`), how an answer reads
on the check-your-answers page, and the input attributes (autocomplete, inputmode) that help
a resident type it. :func:`page_form` builds the Flask-WTF form for the fields of one page;
``templates/macros/fields.html`` renders it through :meth:`PageForm.view`.

Stored shapes, by item type: text-like types a ``str``; ``number`` an ``int`` or a
``float``; ``date`` an ISO ``"YYYY-MM-DD"``; ``postal_code`` ``"NNN-NNNN"``; ``address`` a
dict of :data:`ADDRESS_PARTS` with ``municipality_code``; ``select`` and ``radio`` an option
value; ``yes_no`` a ``bool``; ``checkbox`` a list of option values; ``group`` a list of dicts
by sub-field key. Files are not answers: the view stores :meth:`PageForm.uploads`. An optional
question left blank is ``""`` for text-like types, ``[]`` for checkboxes and groups and
``None`` otherwise.

HTML names: a key ``move.new_address`` is the field ``move__new_address``; its parts and
entries follow WTForms: ``move__new_address-postal_code``, ``household-0-name``. A "path"
names a field inside a group entry the same way with the key: ``household-0-name``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from flask import request
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import CombinedMultiDict, FileStorage
from wtforms import (
    EmailField,
    FieldList,
    Form,
    FormField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms import Field as WTField
from wtforms.fields.core import UnboundField
from wtforms.utils import unset_value
from wtforms.validators import StopValidation

from portal import postal
from portal.dates import format_resident_date
from portal.definitions.model import ADDRESS_PARTS, Field, Item, Text
from portal.i18n import current_language
from portal.templating import field_attributes
from portal.values import (
    InvalidValue,
    check_date_range,
    display_phone,
    is_blank,
    normalize_choice,
    normalize_choices,
    normalize_email,
    normalize_kana,
    normalize_name,
    normalize_phone,
    normalize_postal_code,
    normalize_text,
    parse_date,
    parse_number,
    parse_yes_no,
)

#: The submit buttons' names: find an address, add an entry, remove an entry.
LOOKUP, ADD, REMOVE = "lookup", "add", "remove"
#: page_form's default: the request's form and files on POST, nothing on GET.
FROM_REQUEST: Any = object()
_SUBMIT_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SEPARATOR = "__"

#: Identity claims with an autocomplete token: only for the resident's own answers.
_NAME_AUTOCOMPLETE = {"name": "name", "family_name": "family-name", "given_name": "given-name"}


# Names ----------------------------------------------------------------------------------


def field_name(key: str) -> str:
    """The HTML-safe name of a key: ``move.new_address`` is ``move__new_address``.

    Raises ``ValueError`` for a key that would not come back by :func:`key_of` (one with
    ``__`` or a part ending in ``_``): such a key cannot be asked on a page.
    """
    name = key.replace(".", _SEPARATOR)
    if key_of(name) != key:
        raise ValueError(f"{key!r} has no reversible HTML name")
    return name


def key_of(name: str) -> str:
    """The key of an HTML name: the inverse of :func:`field_name`."""
    return name.replace(_SEPARATOR, ".")


# Messages -------------------------------------------------------------------------------


class _LabelInSentence:
    """A label inside a sentence, in the language of the moment it is shown.

    English labels are written as headings ("Date of birth"); in "Enter date of birth" the
    first letter is lowered, unless the label starts with an acronym ("PIN", "My Number").
    """

    def __init__(self, label: Text | str) -> None:
        self.label = label

    def __str__(self) -> str:
        text = str(self.label)
        if current_language() == "en" and text[:1].isupper() and not text[1:2].isupper():
            first_word = text.split(" ", 1)[0]
            if first_word not in ("My", "I"):
                return text[0].lower() + text[1:]
        return text


def _message(message: Any) -> str:
    """Errors are kept as plain text, so templates escape them like any other text."""
    return str(message)


class ErrorMessage(str):
    """An error that belongs to one input of a many-input field: ``target`` is its id.

    It is a ``str`` like every other error; an error summary may link to
    ``error.target or field.id``.
    """

    target: str | None

    def __new__(cls, message: Any, target: str | None = None) -> ErrorMessage:
        error = super().__new__(cls, str(message))
        error.target = target
        return error


def _entry_title(item: Item, position: int) -> str:
    """The title of an entry ("Child 2"): the group's item label and its place from 1."""
    return f"{item.item_label or item.label} {position}"


# Field types ----------------------------------------------------------------------------


class FieldType:
    """How one item type is asked, checked, stored and summarized.

    Subclasses set ``name`` (the item type), ``macro`` (which macro of
    ``templates/macros/fields.html`` renders it) and override what differs.
    """

    name: ClassVar[str]
    macro: ClassVar[str] = "input"
    wtf_class: ClassVar[type[WTField]] = StringField
    #: The message when a required question is left blank; ``%(label)s`` is the item label.
    blank_message: ClassVar[Any] = _l("Enter %(label)s")
    #: The stored answer of an optional question left blank.
    blank_answer: ClassVar[Any] = ""

    def unbound(self, definition: Field, validators: list[Any]) -> UnboundField:
        return self.wtf_class(definition.item.label, validators=validators)

    # stored answer <-> form data

    def form_data(self, item: Item, answer: Any) -> Any:
        """What the field shows for a stored answer."""
        return None if answer is None else str(answer)

    # checking

    def is_blank(self, form_field: WTField) -> bool:
        return is_blank(form_field.data)

    def normalize(self, form_field: WTField, item: Item) -> Any:
        """The stored answer, or ``InvalidValue``; called for a non-blank answer."""
        return normalize_text(form_field.data, item.validation.get("max_length"))

    def clean(self, form_field: WTField, definition: Field) -> Any:
        """The answer to store; raises a validation error with the message to show."""
        item = definition.item
        if self.is_blank(form_field):
            return self._blank(definition)
        try:
            value = self.normalize(form_field, item)
        except InvalidValue as invalid:
            self.mark_invalid(form_field, invalid)
            raise StopValidation(_message(invalid.message)) from None
        if value in ("", None, []):
            return self._blank(definition)
        return value

    def _blank(self, definition: Field) -> Any:
        if definition.required:
            raise StopValidation(self.required_message(definition.item))
        return self.blank_answer

    def required_message(self, item: Item) -> str:
        return str(self.blank_message) % {"label": _LabelInSentence(item.label)}

    def mark_invalid(self, form_field: WTField, invalid: InvalidValue) -> None:
        """Note which parts of a many-input field to highlight (see :class:`DateField`)."""

    # reading

    def summarize(self, item: Item, answer: Any) -> str | list[str]:
        return "" if answer in (None, "") else str(answer)

    def input_attributes(self, item: Item) -> dict[str, str]:
        attributes = {}
        if "max_length" in item.validation:
            attributes["maxlength"] = str(item.validation["max_length"])
        return attributes


FIELD_TYPES: dict[str, FieldType] = {}


def register(cls: type[FieldType]) -> type[FieldType]:
    FIELD_TYPES[cls.name] = cls()
    return cls


def field_type(item: Item | str) -> FieldType:
    """The field type of an item (or of an item type's name)."""
    name = item if isinstance(item, str) else item.type
    try:
        return FIELD_TYPES[name]
    except KeyError:
        raise ValueError(f"no field type for item type {name!r}") from None


@register
class TextType(FieldType):
    name = "text"

    def normalize(self, form_field: WTField, item: Item) -> Any:
        value = normalize_text(form_field.data, item.validation.get("max_length"))
        _check_min_length(value, item)
        return value


def _check_min_length(value: str, item: Item) -> None:
    minimum = item.validation.get("min_length")
    if value and minimum and len(value) < minimum:
        raise InvalidValue(_l("The answer must be %(min)d characters or more", min=minimum))


@register
class TextareaType(FieldType):
    name = "textarea"
    macro = "textarea"
    wtf_class = TextAreaField

    def normalize(self, form_field: WTField, item: Item) -> Any:
        value = normalize_text(form_field.data, item.validation.get("max_length"), multiline=True)
        _check_min_length(value, item)
        return value

    def summarize(self, item: Item, answer: Any) -> str | list[str]:
        if not answer:
            return ""
        lines = str(answer).splitlines()
        return lines if len(lines) > 1 else str(answer)


@register
class NameType(FieldType):
    name = "name"

    def normalize(self, form_field: WTField, item: Item) -> Any:
        return normalize_name(form_field.data, item.validation.get("max_length", 100))

    def input_attributes(self, item: Item) -> dict[str, str]:
        attributes = {**super().input_attributes(item), "spellcheck": "false"}
        token = _NAME_AUTOCOMPLETE.get(item.prefill or "")
        if token:
            attributes["autocomplete"] = token
        return attributes


@register
class KanaType(FieldType):
    name = "kana"

    def normalize(self, form_field: WTField, item: Item) -> Any:
        return normalize_kana(form_field.data, item.validation.get("max_length", 100))

    def input_attributes(self, item: Item) -> dict[str, str]:
        # No autocomplete token exists for a reading; lang helps the keyboard choose kana.
        return {**super().input_attributes(item), "lang": "ja", "spellcheck": "false"}


@register
class PostalCodeType(FieldType):
    name = "postal_code"

    def normalize(self, form_field: WTField, item: Item) -> Any:
        return normalize_postal_code(form_field.data)

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

    def normalize(self, form_field: WTField, item: Item) -> Any:
        return normalize_phone(form_field.data)

    def form_data(self, item: Item, answer: Any) -> Any:
        return None if answer is None else display_phone(str(answer))

    def summarize(self, item: Item, answer: Any) -> str | list[str]:
        return display_phone(str(answer)) if answer else ""

    def input_attributes(self, item: Item) -> dict[str, str]:
        return {"autocomplete": "tel", "inputmode": "tel", "spellcheck": "false"}


@register
class EmailType(FieldType):
    name = "email"
    wtf_class = EmailField

    def normalize(self, form_field: WTField, item: Item) -> Any:
        return normalize_email(form_field.data)

    def input_attributes(self, item: Item) -> dict[str, str]:
        return {
            "autocomplete": "email",
            "inputmode": "email",
            "spellcheck": "false",
            "autocapitalize": "none",
        }


@register
class NumberType(FieldType):
    name = "number"
    blank_answer = None

    def normalize(self, form_field: WTField, item: Item) -> Any:
        rules = item.validation
        number = parse_number(
            form_field.data,
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

    def summarize(self, item: Item, answer: Any) -> str | list[str]:
        if answer is None or answer == "" or isinstance(answer, bool):
            return ""
        try:
            text = format_decimal(answer)
        except (TypeError, ValueError):
            text = str(answer)
        unit = item.validation.get("unit")
        if not unit:
            return text
        unit_text = str(Text.of(unit) if isinstance(unit, Mapping) else unit)
        return f"{text} {unit_text}" if current_language() == "en" else f"{text}{unit_text}"

    def input_attributes(self, item: Item) -> dict[str, str]:
        integer = bool(item.validation.get("integer"))
        return {
            "class_": "input input--short",
            "inputmode": "numeric" if integer else "decimal",
            "spellcheck": "false",
        }

    @staticmethod
    def unit(item: Item) -> Text | None:
        unit = item.validation.get("unit")
        return Text.of(unit) if isinstance(unit, Mapping) else unit


def _exact(limit: Any) -> int | Decimal | None:
    if limit is None or isinstance(limit, int):
        return limit
    return Decimal(str(limit))


# Many inputs, one answer ----------------------------------------------------------------


class _PartsField(WTField):
    """A field asked with several inputs (a date, an address), keeping one list of errors.

    ``raw`` holds what each input shows; ``part_errors`` the message beside each part (or
    ``error_parts`` the parts to highlight under one message). ``id`` is the input an error
    summary links to: the first part with an error, else the first part; ``container_id`` is
    the field's own id, which every part's id starts with.
    """

    parts: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.error_parts: tuple[str, ...] = ()
        self.part_errors: dict[str, str] = {}
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def id(self) -> str:
        marked = [p for p in self.parts if p in self.part_errors or p in self.error_parts]
        return self.part_id(marked[0] if marked else self.parts[0])

    @id.setter
    def id(self, value: str) -> None:
        self.container_id = value

    def part_id(self, part: str) -> str:
        return f"{self.container_id}-{part}"

    def part_name(self, part: str) -> str:
        return f"{self.name}-{part}"

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        self.process_errors = []
        self.error_parts = ()
        self.part_errors = {}
        if data is unset_value:
            data = self.default
        self.object_data = data
        self.data = data
        self.raw = self.raw_from_data(data)
        if formdata is not None:
            self.raw = {part: formdata.get(self.part_name(part), "") for part in self.parts}
            self.raw_data = list(self.raw.values())

    def raw_from_data(self, data: Any) -> dict[str, str]:
        raise NotImplementedError

    def _value(self) -> str:
        return ""


class DateField(_PartsField):
    """Year, month and day in three inputs (GOV.UK's date pattern), in Japanese order."""

    parts = ("year", "month", "day")

    def raw_from_data(self, data: Any) -> dict[str, str]:
        try:
            day = date.fromisoformat(str(data)) if data else None
        except ValueError:
            day = None
        if day is None:
            return dict.fromkeys(self.parts, "")
        return {"year": str(day.year), "month": str(day.month), "day": str(day.day)}


@register
class DateType(FieldType):
    name = "date"
    macro = "date"
    wtf_class = DateField
    blank_answer = None
    part_labels: ClassVar[dict[str, Any]] = {
        "year": _l("Year"),
        "month": _l("Month"),
        "day": _l("Day"),
    }

    def form_data(self, item: Item, answer: Any) -> Any:
        return answer

    def is_blank(self, form_field: WTField) -> bool:
        return all(is_blank(value) for value in form_field.raw.values())

    def normalize(self, form_field: WTField, item: Item) -> Any:
        raw = form_field.raw
        value = parse_date(raw["year"], raw["month"], raw["day"])
        rules = item.validation
        try:
            check_date_range(
                value,
                not_after_today=bool(rules.get("not_after_today")),
                max_days_before_today=rules.get("max_days_before_today"),
                max_days_after_today=rules.get("max_days_after_today"),
            )
        except InvalidValue as out_of_range:
            raise InvalidValue(out_of_range.message, DateField.parts) from None
        return value.isoformat()

    def mark_invalid(self, form_field: WTField, invalid: InvalidValue) -> None:
        form_field.error_parts = tuple(invalid.fields) or DateField.parts

    def summarize(self, item: Item, answer: Any) -> str | list[str]:
        if not answer:
            return ""
        try:
            return format_resident_date(date.fromisoformat(str(answer)))
        except ValueError:
            return str(answer)

    def input_attributes(self, item: Item) -> dict[str, str]:
        return {"inputmode": "numeric", "spellcheck": "false"}

    def part_attributes(self, item: Item, part: str) -> dict[str, str]:
        attributes = {
            **self.input_attributes(item),
            "maxlength": "4" if part == "year" else "2",
        }
        if item.prefill == "birthdate":
            attributes["autocomplete"] = f"bday-{part}"
        return attributes


class AddressField(_PartsField):
    """A Japanese address: postal code first, then what it decides, then the rest."""

    parts = ADDRESS_PARTS[:-1]

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        super().process(formdata, data, extra_filters)
        self.found: postal.PostalAddress | None = None

    def raw_from_data(self, data: Any) -> dict[str, str]:
        stored = data if isinstance(data, Mapping) else {}
        return {part: str(stored.get(part) or "") for part in self.parts}


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

    def is_blank(self, form_field: WTField) -> bool:
        return all(is_blank(value) for value in form_field.raw.values())

    def clean(self, form_field: WTField, definition: Field) -> Any:
        if self.is_blank(form_field):
            if definition.required:
                form_field.part_errors = {"postal_code": self.required_message(definition.item)}
                raise StopValidation(form_field.part_errors["postal_code"])
            return None
        raw = form_field.raw
        errors: dict[str, str] = {}
        clean: dict[str, str] = {}
        found = None
        try:
            found = postal.lookup(raw["postal_code"])
            if found is None:
                errors["postal_code"] = _("We could not find this postal code")
        except InvalidValue as invalid:
            errors["postal_code"] = _message(invalid.message)
        for part in ("prefecture", "city", "town", "street", "building"):
            try:
                clean[part] = normalize_text(raw[part], 100)
            except InvalidValue as invalid:
                errors[part] = _message(invalid.message)
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

    def summarize(self, item: Item, answer: Any) -> str | list[str]:
        if not isinstance(answer, Mapping) or not any(answer.values()):
            return ""
        parts = {part: str(answer.get(part) or "") for part in ADDRESS_PARTS}
        line = "".join(parts[p] for p in ("prefecture", "city", "town", "street"))
        if parts["postal_code"]:
            line = f"〒{parts['postal_code']} {line}"
        if parts["building"]:
            line = f"{line} {parts['building']}"
        return line

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


# Choices --------------------------------------------------------------------------------


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

    def normalize(self, form_field: WTField, item: Item) -> Any:
        return normalize_choice(form_field.data, [o.value for o in item.options])

    def summarize(self, item: Item, answer: Any) -> str | list[str]:
        if answer in (None, ""):
            return ""
        option = item.option(str(answer))
        return str(option.label) if option else str(answer)

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
        return _message(self.blank_message)

    def form_data(self, item: Item, answer: Any) -> Any:
        if isinstance(answer, bool):
            return "yes" if answer else "no"
        return None

    def normalize(self, form_field: WTField, item: Item) -> Any:
        return parse_yes_no(form_field.data)

    def summarize(self, item: Item, answer: Any) -> str | list[str]:
        if not isinstance(answer, bool):
            return ""
        return _("Yes") if answer else _("No")


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

    def normalize(self, form_field: WTField, item: Item) -> Any:
        return normalize_choices(form_field.data or (), [o.value for o in item.options])

    def _blank(self, definition: Field) -> Any:
        if definition.required:
            raise StopValidation(self.required_message(definition.item))
        return []

    def summarize(self, item: Item, answer: Any) -> str | list[str]:
        if not isinstance(answer, list | tuple) or not answer:
            return ""
        labels = [SelectType.summarize(self, item, value) for value in answer]
        return ("、" if current_language() == "ja" else ", ").join(labels)


# Files ----------------------------------------------------------------------------------


@register
class FileType(FieldType):
    """An upload: checked and stored by the view (:meth:`PageForm.uploads`), not an answer."""

    name = "file"
    macro = "file"
    wtf_class = FileField
    blank_message = _l("Choose a file for %(label)s")

    def form_data(self, item: Item, answer: Any) -> Any:
        return None

    def is_blank(self, form_field: WTField) -> bool:
        return not isinstance(form_field.data, FileStorage) or not form_field.data

    def clean(self, form_field: WTField, definition: Field) -> Any:
        if self.is_blank(form_field) and definition.required and not form_field.current_file:
            raise StopValidation(self.required_message(definition.item))
        return None

    def summarize(self, item: Item, answer: Any) -> str | list[str]:
        if isinstance(answer, Mapping):
            answer = answer.get("filename") or answer.get("name")
        return str(answer) if answer else ""

    def input_attributes(self, item: Item) -> dict[str, str]:
        return {}


def _current_filename(answer: Any) -> str | None:
    if isinstance(answer, Mapping):
        answer = answer.get("filename") or answer.get("name")
    return str(answer) if isinstance(answer, str) and answer else None


# Groups ---------------------------------------------------------------------------------


class GroupField(FieldList):
    """Entries of sub-fields (household members, children), with one flat list of errors.

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

    def validate(self, form: Any, extra_validators: Any = ()) -> bool:
        self.errors = []
        self.error_target = None
        for position, entry in enumerate(self.entries, 1):
            entry.form.validate()
            for sub in entry.form:
                for message in sub.errors:
                    target = getattr(message, "target", None) or sub.id
                    self.flag(f"{_entry_title(self.item, position)}: {message}", target)
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
        entry_form = _entry_form(item)
        return GroupField(
            FormField(entry_form),
            item.label,
            item=item,
            required=definition.required,
            definitions=entry_form._definitions,
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

    def summarize(self, item: Item, answer: Any) -> str | list[str]:
        """``["2 entries", "Child 1: Name: Hanako; Date of birth: ...", ...]``: a line each."""
        if not isinstance(answer, list) or not answer:
            return ""
        japanese = current_language() == "ja"
        between, colon = ("、", "：") if japanese else ("; ", ": ")
        lines = [ngettext("%(num)d entry", "%(num)d entries", len(answer))]
        for position, stored in enumerate(answer, 1):
            stored = stored if isinstance(stored, Mapping) else {}
            facts = []
            for sub in item.fields:
                value = summarize(sub.item, stored.get(sub.key))
                text = " ".join(value) if isinstance(value, list) else value
                if text:
                    facts.append(f"{sub.item.summary_label or sub.item.label}{colon}{text}")
            lines.append(f"{_entry_title(item, position)}{colon}{between.join(facts)}")
        return lines

    def input_attributes(self, item: Item) -> dict[str, str]:
        return {}


#: Names that a page's own fields may not take: the form's attributes and its buttons.
_RESERVED = frozenset({LOOKUP, ADD, REMOVE, "csrf_token", "meta", "data", "prefix", "obj"})


def _entry_form(item: Item) -> type[Form]:
    """The form of one group entry: the group's sub-fields, which are never locked."""
    definitions: dict[str, Field] = {}
    attributes: dict[str, Any] = {"_definitions": definitions}
    for sub in item.fields:
        if sub.item.type in ("group", "file"):
            raise ValueError(f"{item.key}.{sub.key}: a group entry cannot hold a {sub.item.type}")
        name = _checked_name(sub.key, Form)
        attributes[name] = _unbound(sub, locked=False)
        definitions[name] = sub
    return type(f"Entry_{field_name(item.key)}", (Form,), attributes)


def _checked_name(key: str, form_class: type) -> str:
    name = field_name(key)
    if name in _RESERVED or hasattr(form_class, name) or name.startswith("_"):
        raise ValueError(f"{key!r} cannot be asked: its name {name!r} is taken by the form")
    return name


# The page's form ------------------------------------------------------------------------


class _Check:
    """The one validator of every field: its type's ``clean``, which keeps the answer."""

    def __init__(self, kind: FieldType, definition: Field) -> None:
        self.kind = kind
        self.definition = definition
        self.field_flags = {"required": True} if definition.required else {}

    def __call__(self, form: Any, form_field: WTField) -> None:
        form_field.answer = self.kind.clean(form_field, self.definition)


def _unbound(definition: Field, *, locked: bool) -> UnboundField:
    kind = field_type(definition.item)
    validators = [] if locked else [_Check(kind, definition)]
    return kind.unbound(definition, validators)


@dataclass
class OptionView:
    """A radio button or checkbox, with the ids its label and hint refer to."""

    id: str
    value: str
    label: Any
    hint: Any
    checked: bool


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
        if self.item.type == "address":
            return {
                "postal_code": _l(
                    "Enter the postal code and select “Find address” to fill in the "
                    "prefecture and municipality."
                )
            }
        return {}

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
    def unit(self) -> Text | None:
        return NumberType.unit(self.item) if self.item.type == "number" else None

    @property
    def summary(self) -> str | list[str]:
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


@dataclass
class EntryView:
    """One entry of a group: its title ("Child 2"), its fields and its Remove button."""

    index: int
    title: str
    id: str
    name: str
    fields: list[FieldView]
    remove_value: str


class PageForm(FlaskForm):
    """The form of one journey page; :func:`page_form` makes a subclass per page.

    On POST, :meth:`lookup_request` and :meth:`group_action` tell a "Find address" or an
    "Add"/"Remove" press from a real submit: the view shows the page again for those (an
    entry is already added or removed when the form is made), and otherwise calls
    :meth:`validate`, then saves :meth:`answers` and :meth:`uploads`.
    """

    #: By field name: the page's field definitions, and those shown but not editable.
    _definitions: ClassVar[dict[str, Field]] = {}
    _locked_names: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        formdata: Any,
        answers: Mapping[str, Any],
        files: Mapping[str, str],
        **kwargs: Any,
    ) -> None:
        self._stored = dict(answers)
        self._validated = False
        self._action: tuple[str, str, int | None] | None = None
        self._lookup: str | None = None
        # On POST only what was posted counts (a stored answer must not fill a radio left
        # unanswered, nor a group entry that moved up); locked fields show the stored answer.
        initial = {
            name: field_type(d.item).form_data(d.item, answers.get(d.key))
            for name, d in self._definitions.items()
            if d.key in answers and (formdata is None or name in self._locked_names)
        }
        super().__init__(formdata=formdata, data=initial, **kwargs)
        for name, definition in self._definitions.items():
            if definition.item.type == "file":
                current = files.get(definition.key) or _current_filename(
                    answers.get(definition.key)
                )
                self[name].current_file = current
                if current:
                    self[name].flags.required = False  # a new file only replaces it
        if formdata is not None:
            self._read_buttons(formdata)

    def process(
        self, formdata: Any = None, obj: Any = None, data: Any = None, **kwargs: Any
    ) -> None:
        super().process(formdata, obj, data, **kwargs)
        # Locked answers come from the certified identity: whatever is posted for them is ignored.
        for name in self._locked_names:
            self[name].process(None, (data or {}).get(name, unset_value))

    # buttons

    def _read_buttons(self, formdata: Any) -> None:
        lookup = formdata.get(LOOKUP)
        if lookup and self._address_at(lookup) is not None:
            self._lookup = self._path(lookup)
        if (added := formdata.get(ADD)) in self._definitions:
            self._group_add(added)
        elif removed := formdata.get(REMOVE):
            name, _sep, index = removed.rpartition("-")
            if name in self._definitions and index.isdigit():
                self._group_remove(name, int(index))

    def _group(self, name: str) -> GroupField | None:
        if name in self._locked_names or self._definitions[name].item.type != "group":
            return None
        return self[name]

    def _group_add(self, name: str) -> None:
        group = self._group(name)
        if group is None:
            return
        self._action = (ADD, key_of(name), None)
        if len(group.entries) < group.item.max_items:
            group.append_entry()

    def _group_remove(self, name: str, index: int) -> None:
        group = self._group(name)
        if group is None:
            return
        self._action = (REMOVE, key_of(name), index)
        if index < len(group.entries) and len(group.entries) > group.least:
            group.pop_entry(index)

    def group_action(self) -> tuple[str, str, int | None] | None:
        """``("add", key, None)`` or ``("remove", key, index)`` when an entry button was
        pressed (the entry is already added or removed), else None."""
        return self._action

    def lookup_request(self) -> str | None:
        """The key (or path, inside a group) of the address whose "Find address" was pressed."""
        return self._lookup

    def fill_from_postal_code(self, key: str) -> bool:
        """Fill prefecture, city and town from the postal code; False with a message beside
        the field when the code is not a postal code or is not found."""
        address = self._address_at(field_name_of_path(key))
        if address is None:
            raise KeyError(key)
        address.errors = []
        address.part_errors = {}
        address.found = None
        message = None
        try:
            found = postal.lookup(address.raw["postal_code"])
        except InvalidValue as invalid:
            found, message = None, _message(invalid.message)
        if found is None:
            message = message or _("We could not find this postal code")
            address.part_errors = {"postal_code": message}
            address.errors = [ErrorMessage(message, address.part_id("postal_code"))]
            self._report_inside_group(key, message, address.part_id("postal_code"))
            return False
        address.found = found
        address.raw.update(
            postal_code=found.postal_code, prefecture=found.prefecture, city=found.city
        )
        if found.town:
            address.raw["town"] = found.town
        return True

    def _report_inside_group(self, key: str, message: str, target: str) -> None:
        top, _sep, rest = key.partition("-")
        if not rest:
            return
        group = self[field_name(top)]
        position = int(rest.split("-", 1)[0]) + 1
        group.errors = list(group.errors)
        group.flag(f"{_entry_title(group.item, position)}: {message}", target)

    def _path(self, name: str) -> str:
        top, sep, rest = name.partition("-")
        return key_of(top) + sep + rest

    def _address_at(self, name: str) -> AddressField | None:
        found = self._field_at(name)
        return found if isinstance(found, AddressField) else None

    def _field_at(self, name: str) -> WTField | None:
        top, _sep, rest = name.partition("-")
        if top not in self._definitions or top in self._locked_names:
            return None
        found: Any = self[top]
        if not rest:
            return found
        index, _sep, sub = rest.partition("-")
        if not isinstance(found, GroupField) or not index.isdigit():
            return None
        entries = found.entries
        if int(index) >= len(entries) or sub not in entries[int(index)].form:
            return None
        return entries[int(index)].form[sub]

    # reading

    def field_for(self, key: str) -> WTField:
        """The WTForms field of a key (or of a path inside a group: ``household-0-name``)."""
        found = self._field_at(field_name_of_path(key))
        if found is None:
            name = field_name(key)
            if name not in self._definitions:
                raise KeyError(key)
            return self[name]
        return found

    @property
    def has_files(self) -> bool:
        """Whether the page needs ``enctype="multipart/form-data"``."""
        return any(d.item.type == "file" for d in self._definitions.values())

    def validate(self, extra_validators: Mapping[str, Any] | None = None) -> bool:
        """Check every field that is not locked; locked fields are not read at all."""
        success = True
        for name, form_field in self._fields.items():
            if name in self._locked_names:
                form_field.errors = []
                continue
            extra = (extra_validators or {}).get(name, ())
            if not form_field.validate(self, extra):
                success = False
        self._validated = success
        return success

    def answers(self) -> dict[str, Any]:
        """The page's answers by key, in their stored shapes, after a successful validate().

        Locked keys and files are left out: the certified values stay as they are, and the
        view stores :meth:`uploads`.
        """
        if not self._validated:
            raise RuntimeError("answers() needs a successful validate() first")
        result = {}
        for name, definition in self._definitions.items():
            if name in self._locked_names or definition.item.type == "file":
                continue
            result[definition.key] = self._answer_of(self[name], definition)
        return result

    def _answer_of(self, form_field: WTField, definition: Field) -> Any:
        if isinstance(form_field, GroupField):
            return [
                {
                    form_field.definitions[name].key: sub.answer
                    for name, sub in entry.form._fields.items()
                }
                for entry in form_field.entries
            ]
        return form_field.answer

    def uploads(self) -> dict[str, FileStorage]:
        """The files chosen on this page, by key (an unchanged file field is left out)."""
        return {
            d.key: self[name].data
            for name, d in self._definitions.items()
            if d.item.type == "file"
            and name not in self._locked_names
            and isinstance(self[name].data, FileStorage)
            and self[name].data
        }

    def view(self, definition: Field) -> FieldView:
        """What the template needs to render a field of this page."""
        name = field_name(definition.key)
        if name not in self._definitions:
            raise KeyError(definition.key)
        return self._view(self[name], definition, locked=name in self._locked_names)

    def _view(self, form_field: WTField, definition: Field, *, locked: bool) -> FieldView:
        kind = field_type(definition.item)
        view = FieldView(definition, form_field, kind, locked, self._stored.get(definition.key))
        if isinstance(form_field, GroupField) and not locked:
            for position, entry in enumerate(form_field.entries, 1):
                subviews = [
                    self._view(sub, form_field.definitions[name], locked=False)
                    for name, sub in entry.form._fields.items()
                ]
                view.entries.append(
                    EntryView(
                        index=entry.index,
                        title=_entry_title(definition.item, position),
                        id=entry.id,
                        name=entry.name,
                        fields=subviews,
                        remove_value=f"{form_field.name}-{entry.index}",
                    )
                )
        return view


def field_name_of_path(path: str) -> str:
    """``household.members-0-name`` is ``household__members-0-name``."""
    top, sep, rest = path.partition("-")
    return field_name(top) + sep + rest


def page_form(
    fields: Sequence[Field],
    answers: Mapping[str, Any],
    *,
    formdata: Any = FROM_REQUEST,
    locked: Iterable[str] = frozenset(),
    files: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
) -> PageForm:
    """The form for these fields: what was posted on POST, the stored answers on GET.

    ``locked`` keys (certified by the sign-in) are shown but not editable, and ignored when
    posted. ``files`` names the files already attached, by key, so a required file field is
    satisfied without a new upload. ``meta`` is passed to Flask-WTF (tests: ``{"csrf":
    False}``).
    """
    form_class = _form_class(tuple(fields), frozenset(locked))
    if formdata is FROM_REQUEST:
        submitted = bool(request) and request.method in _SUBMIT_METHODS
        formdata = CombinedMultiDict((request.files, request.form)) if submitted else None
    return form_class(formdata, answers, files or {}, meta=dict(meta or {}))


_form_classes: OrderedDict[tuple[Any, ...], tuple[tuple[Field, ...], type[PageForm]]] = (
    OrderedDict()
)
_form_classes_lock = threading.Lock()


def _form_class(fields: tuple[Field, ...], locked: frozenset[str]) -> type[PageForm]:
    """The form class of a page, made once: fields come from cached, immutable definitions,
    and building a WTForms class is a large part of a page's cost."""
    key = (tuple(id(f) for f in fields), locked & {f.key for f in fields})
    with _form_classes_lock:
        cached = _form_classes.get(key)
        if cached is not None and all(a is b for a, b in zip(cached[0], fields, strict=True)):
            _form_classes.move_to_end(key)
            return cached[1]
    definitions: dict[str, Field] = {}
    attributes: dict[str, Any] = {}
    locked_names = set()
    for definition in fields:
        name = _checked_name(definition.key, PageForm)
        is_locked = definition.key in locked
        if is_locked:
            locked_names.add(name)
        attributes[name] = _unbound(definition, locked=is_locked)
        definitions[name] = definition
    attributes["_definitions"] = definitions
    attributes["_locked_names"] = frozenset(locked_names)
    form_class = type("JourneyPageForm", (PageForm,), attributes)
    with _form_classes_lock:
        _form_classes[key] = (fields, form_class)
        while len(_form_classes) > 1024:
            _form_classes.popitem(last=False)
    return form_class


def summarize(item: Item, answer: Any) -> str | list[str]:
    """An answer as the check-your-answers page shows it, in the current language.

    A ``str``, or a list of lines for a group (``"2 entries"`` and one line per entry) and for
    a textarea of several lines. ``""`` when there is no answer. A file's answer is its name.
    """
    return field_type(item).summarize(item, answer)


def input_attributes(item: Item) -> dict[str, str]:
    """The attributes that help type an answer: autocomplete, inputmode, lang, maxlength."""
    return field_type(item).input_attributes(item)
