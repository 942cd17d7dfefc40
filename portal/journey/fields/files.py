"""Uploads: stored by the view, not answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import Field as WTField
from wtforms.validators import StopValidation

from portal.definitions.model import Field, Item
from portal.journey.fields.base import FieldType, register


@register
class FileType(FieldType):
    """An upload: not an answer, the view stores :meth:`~.page.PageForm.uploads`."""

    name = "file"
    macro = "file"
    wtf_class = FileField
    blank_message = _l("Choose a file for %(label)s")

    def form_data(self, item: Item, answer: Any) -> Any:
        return None

    def is_blank(self, form_field: WTField) -> bool:
        return not isinstance(form_field.data, FileStorage) or not form_field.data

    def clean(self, form_field: WTField, definition: Field) -> Any:
        blank = self.is_blank(form_field)
        if blank and definition.required and not form_field.current_file:
            raise StopValidation(self.required_message(definition.item))
        return None

    def input_attributes(self, item: Item) -> dict[str, str]:
        return {}


def current_filename(answer: Any) -> str | None:
    """The name of the file an answer refers to, if it refers to one."""
    if isinstance(answer, Mapping):
        answer = answer.get("filename") or answer.get("name")
    return str(answer) if isinstance(answer, str) and answer else None
