"""What every field type does, and the registry of field types by item type.

Each :class:`FieldType` knows, for its item type (``text``, ``date``, ``address`` ...), the
WTForms field it is asked with, how a stored answer is shown in it again, how what the
resident typed becomes the stored answer (through :mod:`portal.japan.values`) and the input
attributes (autocomplete, inputmode) that help a resident type it. How an answer reads is
:mod:`.summary`'s job, which needs no form.

Checking has the same steps for every type: :meth:`FieldType.prepare` (trim, and NFKC for
types whose answers are ASCII in the end: numbers, codes, times), then the type's
:meth:`FieldType.normalize`, whose :class:`~portal.japan.values.InvalidValue` becomes the message
beside the field and in the error summary.
"""

from __future__ import annotations

import importlib
import unicodedata
from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l
from wtforms import Field as WTField
from wtforms import StringField
from wtforms.fields.core import UnboundField
from wtforms.validators import StopValidation

from portal.definitions.model import Field, Item, Text
from portal.i18n import current_language
from portal.japan.values import InvalidValue, is_blank, normalize_text

#: The modules that register the field types, one family each.
FAMILIES = ("text", "numbers", "dates", "address", "choices", "files", "groups")


class LabelInSentence:
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


def message(text: Any) -> str:
    """Errors are kept as plain text, so templates escape them like any other text."""
    return str(text)


class ErrorMessage(str):
    """An error that belongs to one input of a many-input field: ``target`` is its id.

    It is a ``str`` like every other error; an error summary may link to
    ``error.target or field.id``.
    """

    target: str | None

    def __new__(cls, text: Any, target: str | None = None) -> ErrorMessage:
        error = super().__new__(cls, str(text))
        error.target = target
        return error


def prepare(raw: Any, *, fold_width: bool) -> Any:
    """The first step for every type: trim, and with ``fold_width`` NFKC (１４：０５ is 14:05).

    Anything but a ``str`` (a file, a list of ticked boxes) is left as it is.
    """
    if not isinstance(raw, str):
        return raw
    value = unicodedata.normalize("NFKC", raw) if fold_width else raw
    return value.strip()


class FieldType:
    """How one item type is asked, checked and stored.

    Subclasses set ``name`` (the item type), ``macro`` (which macro of
    ``templates/macros/fields.html`` renders it) and override what differs.
    """

    name: ClassVar[str]
    macro: ClassVar[str] = "input"
    wtf_class: ClassVar[type[WTField]] = StringField
    #: Whether :func:`prepare` applies NFKC: for answers that end as ASCII (digits, codes).
    fold_width: ClassVar[bool] = False
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

    def prepared(self, form_field: WTField) -> Any:
        """What the resident typed, after the step every type shares."""
        return prepare(form_field.data, fold_width=self.fold_width)

    def is_blank(self, form_field: WTField) -> bool:
        value = self.prepared(form_field)
        return value is None or (isinstance(value, str) and is_blank(value))

    def normalize(self, value: Any, item: Item, form_field: WTField) -> Any:
        """The stored answer from the prepared ``value``, or ``InvalidValue``; called for a
        non-blank answer."""
        return normalize_text(value, item.validation.get("max_length"))

    def clean(self, form_field: WTField, definition: Field) -> Any:
        """The answer to store; raises a validation error with the message to show."""
        item = definition.item
        if self.is_blank(form_field):
            return self._blank(definition)
        try:
            value = self.normalize(self.prepared(form_field), item, form_field)
        except InvalidValue as invalid:
            self.mark_invalid(form_field, invalid)
            raise StopValidation(message(invalid.message)) from None
        if value in ("", None, []):
            return self._blank(definition)
        return value

    def _blank(self, definition: Field) -> Any:
        if definition.required:
            raise StopValidation(self.required_message(definition.item))
        return self.blank_answer

    def required_message(self, item: Item) -> str:
        return str(self.blank_message) % {"label": LabelInSentence(item.label)}

    def mark_invalid(self, form_field: WTField, invalid: InvalidValue) -> None:
        """Note which parts of a many-input field to highlight (see the date type)."""

    # helping to type

    def input_attributes(self, item: Item) -> dict[str, str]:
        attributes = {}
        if "max_length" in item.validation:
            attributes["maxlength"] = str(item.validation["max_length"])
        return attributes


FIELD_TYPES: dict[str, FieldType] = {}
_families_loaded = False


def register(cls: type[FieldType]) -> type[FieldType]:
    FIELD_TYPES[cls.name] = cls()
    return cls


def field_types() -> dict[str, FieldType]:
    """Every field type by item type name, once each family has registered its own."""
    global _families_loaded
    if not _families_loaded:
        for family in FAMILIES:
            importlib.import_module(f"{__package__}.{family}")
        _families_loaded = True
    return FIELD_TYPES


def field_type(item: Item | str) -> FieldType:
    """The field type of an item (or of an item type's name)."""
    name = item if isinstance(item, str) else item.type
    try:
        return field_types()[name]
    except KeyError:
        raise ValueError(f"no field type for item type {name!r}") from None


class Check:
    """The one validator of every field: its type's ``clean``, which keeps the answer."""

    def __init__(self, kind: FieldType, definition: Field) -> None:
        self.kind = kind
        self.definition = definition
        self.field_flags = {"required": True} if definition.required else {}

    def __call__(self, form: Any, form_field: WTField) -> None:
        form_field.answer = self.kind.clean(form_field, self.definition)


def unbound_field(definition: Field, *, locked: bool) -> UnboundField:
    """The WTForms field of a definition; a locked one is shown, never checked."""
    kind = field_type(definition.item)
    validators = [] if locked else [Check(kind, definition)]
    return kind.unbound(definition, validators)


def input_attributes(item: Item) -> dict[str, str]:
    """The attributes that help type an answer: autocomplete, inputmode, lang, maxlength."""
    return field_type(item).input_attributes(item)
