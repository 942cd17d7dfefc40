"""The journey's fixed forms: start, choose procedures, declare and submit, discard, and
withdraw an application sent."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from portal.casework.models import REASON_MAX


class StartForm(FlaskForm):
    workflow = HiddenField()


class ProceduresForm(FlaskForm):
    """Optional procedures are ticked by default; unticking leaves one out."""

    included = SelectMultipleField(
        _l("Optional procedures"),
        choices=[],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=True,
    )


class SubmitForm(FlaskForm):
    declaration = BooleanField(
        _l("I declare that the information I have given is true and complete."),
        validators=[DataRequired(_l("Confirm the declaration to send your application"))],
    )


class WithdrawForm(FlaskForm):
    """The reason is the resident's to give or not: the department reads it."""

    reason = TextAreaField(
        _l("Why are you withdrawing it? (optional)"),
        validators=[
            Length(
                max=REASON_MAX,
                message=_l("The answer must be %(max)d characters or fewer"),
            )
        ],
    )
