"""The forms of a request's page: one per action, each posted with the version it was shown.

Every form has a prefix (its action), so that several sit on one page with their own ids;
the page's one CSRF token is checked for every POST by ``CSRFProtect``. What the service
refuses lands beside the form's main field (the reason, else its button), like a
validation error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    Field,
    IntegerField,
    SelectField,
    SelectMultipleField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length
from wtforms.widgets import HiddenInput

from portal.accounts.models import Account
from portal.casework.lifecycle import Action
from portal.casework.models import REASON_MAX
from portal.db import MAX_ID
from portal.journey.fields.base import ErrorMessage


class ActionForm(FlaskForm):
    """An action with no field of its own: claim, release, approve."""

    class Meta:
        csrf = False

    action: ClassVar[Action]
    version = IntegerField(widget=HiddenInput())
    submit = SubmitField()

    def __init__(self, version: int, formdata: Any = None, **kwargs: Any) -> None:
        super().__init__(formdata=formdata, prefix=self.action.value, **kwargs)
        self.submit.label.text = self.action.label
        if formdata is None:
            self.version.data = version

    @property
    def main_field(self) -> Field:
        return self.submit

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.version.data is None or self.version.errors:
            # Hidden: said beside the button, where the clerk looks.
            self.version.errors = []
            self.refuse(_l("Reload the page: it did not say which version of the request you saw."))
            return False
        return valid

    def refuse(self, message: Any) -> None:
        """Show the service's refusal (or any problem) beside the main field."""
        field = self.main_field
        field.errors = [*field.errors, ErrorMessage(message)]

    def show_version(self, version: int) -> None:
        """After a stale post: what was typed stays, the version becomes the current one."""
        self.version.data = version
        self.version.raw_data = None

    @property
    def posted_version(self) -> int:
        return self.version.data or 0

    @property
    def reason_text(self) -> str:
        return ""


class ReasonForm(ActionForm):
    """An action that needs a reason: reject, note, withdraw."""

    reason_label: ClassVar[Any]
    reason_hint: ClassVar[Any] = None
    reason = TextAreaField(
        validators=[
            DataRequired(_l("Give a reason.")),
            Length(max=REASON_MAX, message=_l("The answer must be %(max)d characters or fewer")),
        ],
    )

    def __init__(self, version: int, formdata: Any = None, **kwargs: Any) -> None:
        super().__init__(version, formdata, **kwargs)
        self.reason.label.text = self.reason_label

    @property
    def main_field(self) -> Field:
        return self.reason

    @property
    def reason_text(self) -> str:
        return self.reason.data or ""


class ClaimForm(ActionForm):
    action = Action.CLAIM


class ReleaseForm(ActionForm):
    action = Action.RELEASE


class ApproveForm(ActionForm):
    action = Action.APPROVE


class RejectForm(ReasonForm):
    action = Action.REJECT
    reason_label = _l("Reason for rejecting")
    reason_hint = _l("The resident is told this reason.")


class NoteForm(ReasonForm):
    action = Action.NOTE
    reason_label = _l("Note")
    reason_hint = _l("Only staff read internal notes.")


class WithdrawForm(ReasonForm):
    action = Action.WITHDRAW
    reason_label = _l("How and why the resident asked to withdraw")


class ClerkChoice:
    """The "Assign to" choice of both assignment forms: one of the department's clerks."""

    assignee: SelectField

    def offer(self, clerks: Sequence[Account]) -> None:
        self._clerks = {clerk.id: clerk for clerk in clerks}
        self.assignee.choices = [
            (0, _l("Choose a clerk")),
            *((clerk.id, clerk.staff_name) for clerk in clerks),
        ]

    def clerk_chosen(self) -> bool:
        """Whether one was (else the field says so)."""
        if self.assignee.errors or not self.assignee.data:
            self.assignee.errors = [ErrorMessage(_l("Choose a clerk."))]
            return False
        return True

    @property
    def assignee_account(self) -> Account | None:
        return self._clerks.get(self.assignee.data or 0)


class AssignForm(ClerkChoice, ReasonForm):
    """A supervisor gives the request to one of the department's clerks, saying why."""

    action = Action.ASSIGN
    reason_label = _l("Reason for the assignment")
    reason_hint = _l("Kept in the request's history.")
    assignee = SelectField(_l("Assign to"), coerce=int, validate_choice=True)

    def __init__(
        self, version: int, formdata: Any = None, *, clerks: Sequence[Account] = (), **kwargs: Any
    ) -> None:
        super().__init__(version, formdata, **kwargs)
        self.offer(clerks)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        return self.clerk_chosen() and valid


class CorrectionForm(ReasonForm):
    """Which of this form's answers and documents the resident is to correct, and why."""

    action = Action.ASK_CORRECTION
    reason_label = _l("What the resident should correct")
    reason_hint = _l("The resident reads this with the answers you ticked.")
    answers = SelectMultipleField(_l("Answers to correct"), choices=[])
    documents = SelectMultipleField(_l("Documents to upload again"), choices=[])

    def __init__(
        self,
        version: int,
        formdata: Any = None,
        *,
        answer_choices: Sequence[tuple[str, str]] = (),
        document_choices: Sequence[tuple[str, str]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(version, formdata, **kwargs)
        self.answers.choices = list(answer_choices)
        self.documents.choices = list(document_choices)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        chosen = self.answers.data or self.documents.data
        if not chosen and not self.answers.errors and not self.documents.errors:
            first = f"{self.answers.id}-0" if self.answers.choices else f"{self.documents.id}-0"
            self.answers.errors = [
                ErrorMessage(_l("Name at least one answer or document to correct."), first)
            ]
            return False
        return valid


FORMS: dict[Action, type[ActionForm]] = {
    form.action: form
    for form in (
        ClaimForm,
        ReleaseForm,
        AssignForm,
        ApproveForm,
        RejectForm,
        CorrectionForm,
        NoteForm,
        WithdrawForm,
    )
}


def posted_action(formdata: Any) -> Action | None:
    """Which action's button was pressed (its form's prefixed submit)."""
    return next((action for action in FORMS if f"{action.value}-submit" in formdata), None)


class BulkAssignForm(ClerkChoice, FlaskForm):
    """A supervisor's assignment from the queue: the ticked requests, a clerk, a reason.

    The ticked boxes sit in the queue's table and belong to this form by their ``form``
    attribute; an id that is not a number a request could have is refused, not sent on."""

    class Meta:
        csrf = False  # ``CSRFProtect`` checks every POST's token

    requests = SelectMultipleField(_l("Requests"), coerce=int, validate_choice=False)
    assignee = SelectField(_l("Assign to"), coerce=int, validate_choice=True)
    reason = TextAreaField(
        _l("Reason for the assignment"),
        validators=[
            DataRequired(_l("Give a reason.")),
            Length(max=REASON_MAX, message=_l("The answer must be %(max)d characters or fewer")),
        ],
    )
    submit = SubmitField(_l("Assign the chosen requests"))

    def __init__(
        self, formdata: Any = None, *, clerks: Sequence[Account] = (), **kwargs: Any
    ) -> None:
        super().__init__(formdata=formdata, prefix="assign", **kwargs)
        self.offer(clerks)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        ticked = self.requests.data or []
        if self.requests.errors or not ticked or len(ticked) != len(self.chosen):
            # The boxes are in the table: the summary's link goes there.
            message = _l("Tick at least one request to assign.")
            self.requests.errors = [ErrorMessage(message, "queue-rows")]
            valid = False
        return self.clerk_chosen() and valid

    @property
    def chosen(self) -> set[int]:
        """The ids as ticked, for the page shown again (valid ones only)."""
        return {i for i in self.requests.data or [] if 0 < i <= MAX_ID}
