"""Uploads: checked here by what they open as and given a safe name; stored by the view."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import Field as WTField
from wtforms.validators import StopValidation

from portal.definitions.model import Field, Item
from portal.japan.values import InvalidValue
from portal.journey import files
from portal.journey.fields.base import FieldType, message, register


@register
class FileType(FieldType):
    """An upload: not an answer, the view stores :meth:`~.page.PageForm.uploads`.

    Checking it here puts a refused file's message beside the field and in the error summary
    like any other answer's: the content must open as a PDF, JPEG or PNG, and the name the
    browser sent is cleaned (:func:`portal.journey.files.clean_filename`) before anything keeps it.
    """

    name = "file"
    macro = "file"
    wtf_class = FileField
    blank_message = _l("Choose a file for %(label)s")

    def form_data(self, item: Item, answer: Any) -> Any:
        return None

    def is_blank(self, form_field: WTField) -> bool:
        return not isinstance(form_field.data, FileStorage) or not form_field.data

    def clean(self, form_field: WTField, definition: Field) -> Any:
        if self.is_blank(form_field):
            if definition.required and not form_field.current_file:
                raise StopValidation(self.required_message(definition.item))
            return None  # no new file: the one attached, if any, stays
        upload: FileStorage = form_field.data
        limit = int(current_app.config["UPLOAD_MAX_BYTES"])
        data = upload.stream.read(limit + 1)
        upload.stream.seek(0)
        if not data or len(data) > limit:
            return None  # empty or too large: the upload's service says so, with the limit
        try:
            _content_type, extension = files.upload_kind(data)
        except InvalidValue as invalid:
            raise StopValidation(message(invalid.message)) from None
        upload.filename = files.clean_filename(upload.filename, extension)
        return None

    def input_attributes(self, item: Item) -> dict[str, str]:
        return {}


def current_filename(answer: Any) -> str | None:
    """The name of the file an answer refers to, if it refers to one."""
    if isinstance(answer, Mapping):
        answer = answer.get("filename") or answer.get("name")
    return str(answer) if isinstance(answer, str) and answer else None
