"""The notifications page's forms: an address, and on or off."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, Field, HiddenField
from wtforms.validators import AnyOf, ValidationError

from portal.japan.values import InvalidValue, normalize_email


def _normalized_email(form: FlaskForm, field: Field) -> None:
    """The address as the portal keeps it (full-width typing made ASCII), or why not."""
    try:
        field.data = normalize_email(field.data)
    except InvalidValue as exc:
        raise ValidationError(str(exc.message)) from exc


class AddressForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[_normalized_email],
        render_kw={"autocomplete": "email", "spellcheck": "false"},
    )


class SwitchForm(FlaskForm):
    """Notifications on or off: the button pressed says which."""

    notifications = HiddenField(validators=[AnyOf(["on", "off"])])

    @property
    def turned_on(self) -> bool:
        return self.notifications.data == "on"
