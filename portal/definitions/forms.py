"""The admin pages' forms. CSRF is checked for every POST by ``CSRFProtect``; the templates
put the page's token in each form."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.journey.fields.base import ErrorMessage
from portal.tenancy.models import Municipality

#: A definition's YAML: the largest shipped one is about 40 KB.
YAML_MAX = 200_000


class DraftForm(FlaskForm):
    """A draft's raw YAML. The checker's faults land beside the textarea, each with its
    place in the file."""

    class Meta:
        csrf = False

    text = TextAreaField(
        _l("YAML"),
        validators=[
            DataRequired(_l("Enter the definition's YAML")),
            Length(max=YAML_MAX, message=_l("The YAML must be shorter")),
        ],
    )

    def refuse(self, message: Any) -> None:
        self.text.errors = [*self.text.errors, ErrorMessage(message, self.text.id)]


class NewDraftForm(FlaskForm):
    """Where a new draft goes: the national definitions, or one municipality's overrides."""

    class Meta:
        csrf = False

    scope = SelectField(_l("For"), validate_choice=True)

    def __init__(self, scopes: list[Municipality | None], default: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scope.choices = [
            ("" if m is None else str(m.id), _l("Every municipality") if m is None else m.name)
            for m in scopes
        ]
        if self.scope.data is None:
            self.scope.data = default


class ImportForm(NewDraftForm):
    """One YAML file of an export, made a draft of its key in the chosen scope."""

    document = FileField(_l("The definition's YAML file"))

    def text(self) -> str | None:
        """The file as text, or None with the reason beside the field."""
        upload = self.document.data
        data = upload.read(YAML_MAX + 1) if upload is not None and upload.filename else b""
        problem = None
        if not data:
            problem = _l("Choose a YAML file")
        elif len(data) > YAML_MAX:
            problem = _l("The YAML must be shorter")
        else:
            try:
                return data.decode("utf-8-sig")
            except UnicodeDecodeError:
                problem = _l("The file must be text in UTF-8")
        self.refuse(problem)
        return None

    def refuse(self, message: Any) -> None:
        self.document.errors = [*self.document.errors, ErrorMessage(message, self.document.id)]
