"""The admin pages' forms. CSRF is checked for every POST by ``CSRFProtect``; the templates
put the page's token in each form."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
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
