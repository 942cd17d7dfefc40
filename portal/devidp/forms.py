"""The sign-in form: which demo person, and their card's 4-digit PIN."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField
from wtforms.validators import InputRequired, Regexp

from .personas import PERSONAS

PIN_PATTERN = "[0-9]{4}"


class SignInForm(FlaskForm):
    persona = RadioField(
        _l("Who is signing in?"),
        # Plain values: labels are rendered by the template (and tuples are deprecated in 3.3).
        choices=[persona.id for persona in PERSONAS],
        # pre_validate refuses a missing or unknown choice; InputRequired would say it twice.
        invalid_choice_message=_l("Choose the person who is signing in."),
    )
    # A password field: a card PIN is never shown on screen nor sent back in the page.
    pin = PasswordField(
        _l("PIN (4 digits)"),
        validators=[
            InputRequired(message=_l("Enter the 4-digit PIN.")),
            Regexp(f"^{PIN_PATTERN}$", message=_l("Enter the PIN as 4 digits, such as 1234.")),
        ],
    )
