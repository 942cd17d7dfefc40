"""The admin forms that grant staff roles. No CSRF field of their own: ``CSRFProtect``
checks the page's one token on every POST."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired

from portal.accounts.models import Role
from portal.journey.fields.base import ErrorMessage
from portal.tenancy.forms import clean_text
from portal.tenancy.models import Department
from portal.web.forms import CheckedByCSRFProtectForm

ROLE_LABELS = {
    Role.CLERK: _l("Clerk: works the department's requests"),
    Role.SUPERVISOR: _l("Supervisor: a clerk who also assigns the department's requests"),
    Role.ADMIN: _l("Municipality admin: departments, counters and staff"),
}


class SubjectForm(CheckedByCSRFProtectForm):
    """Who: the subject the staff sign-in provider gives the person."""

    subject = StringField(
        _l("Staff ID at the sign-in provider (subject)"),
        description=_l(
            "The identifier the staff sign-in provider gives this person (the sub of its ID"
            " token). Someone who has not signed in yet gets the role at their first sign-in."
        ),
        validators=[clean_text(255), DataRequired(_l("Enter the person's staff ID."))],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


class GrantForm(SubjectForm):
    role = SelectField(_l("Role"), validate_choice=True)
    departments = SelectMultipleField(_l("Departments"), coerce=int, validate_choice=False)
    submit = SubmitField(_l("Grant the role"))

    def __init__(self, *args: Any, departments: list[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = [(role.value, label) for role, label in ROLE_LABELS.items()]
        self.departments.choices = [(d.id, d.name) for d in departments]
        self._departments = {d.id: d for d in departments}

    @property
    def chosen_role(self) -> Role:
        return Role(self.role.data)

    @property
    def chosen_departments(self) -> list[Department]:
        return [self._departments[i] for i in self.departments.data or [] if i in self._departments]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.role.errors:  # WTForms' own words for a value not offered: ours instead
            self.role.errors = [ErrorMessage(_l("Choose a role."))]
        ticked = self.departments.data or []
        if self.departments.errors or len(self.chosen_departments) != len(ticked):
            self.departments.errors = [ErrorMessage(_l("Tick departments from the list."))]
            return False
        if self.role.data in (Role.CLERK.value, Role.SUPERVISOR.value) and not ticked:
            first = f"{self.departments.id}-0"
            message = _l("Tick at least one department for a clerk or a supervisor.")
            self.departments.errors = [ErrorMessage(message, first)]
            return False
        return valid


class PortalAdminForm(SubjectForm):
    submit = SubmitField(_l("Make a portal admin"))


class RevokeForm(CheckedByCSRFProtectForm):
    submit = SubmitField(_l("Yes, revoke the role"))
