"""The admin forms for department kinds, departments and their counters.

Each has no CSRF field of its own: ``CSRFProtect`` checks the page's one token on every POST,
so that several forms sit on one page without repeating an id.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Regexp,
    StopValidation,
    ValidationError,
)

from portal.japan.values import InvalidValue, normalize_text
from portal.tenancy.kinds import KEY_PATTERN
from portal.tenancy.models import DepartmentKind
from portal.web.forms import CheckedByCSRFProtectForm
from portal.web.templating import LANGUAGE_NAMES

#: Weekdays as ``OpeningHours`` numbers them (0 is Monday).
WEEKDAYS = (
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
)
_TOO_LONG = _l("The answer must be %(max)d characters or fewer")


def clean_text(max_length: int) -> Any:
    """A validator that keeps the text as the portal keeps free text (one clean line, no
    control characters that could hide what staff read), or says why it cannot."""

    def validate(form: FlaskForm, field: Field) -> None:
        try:
            field.data = normalize_text(field.data, max_length)
        except InvalidValue as exc:
            raise StopValidation(str(exc.message)) from exc

    return validate


def _whole_numbers(*fields: Field) -> None:
    """WTForms' own words for a number it cannot read: ours instead."""
    for field in fields:
        if field.errors and field.data is None and field.raw_data and field.raw_data[0]:
            field.errors = [str(_l("Enter a whole number."))]


def _label_fields(form: FlaskForm) -> list[Field]:
    return [getattr(form, f"label_{language}") for language in form.languages]


class KindLabelsForm(CheckedByCSRFProtectForm):
    """A kind's labels: one per configured language, Japanese required. The fields are
    made per language when the form is (``label_ja``, ``label_en``, ...)."""

    languages: tuple[str, ...] = ()

    @classmethod
    def for_languages(cls, languages: tuple[str, ...] | None = None) -> type[KindLabelsForm]:
        languages = tuple(languages or current_app.config["LANGUAGES"])
        if "ja" not in languages:
            languages = ("ja", *languages)
        fields: dict[str, Any] = {"languages": languages}
        for language in languages:
            validators: list[Any] = [clean_text(100)]
            if language == "ja":
                validators.append(DataRequired(_l("Enter the kind's name in Japanese.")))
            fields[f"label_{language}"] = StringField(
                _l("Name (%(language)s)", language=LANGUAGE_NAMES.get(language, language)),
                validators=validators,
            )
        return type(f"{cls.__name__}_{'_'.join(languages)}", (cls,), fields)

    def fill(self, kind: DepartmentKind) -> None:
        for language in self.languages:
            getattr(self, f"label_{language}").data = kind.labels.get(language, "")

    @property
    def label_fields(self) -> list[Field]:
        return _label_fields(self)

    @property
    def labels(self) -> dict[str, str]:
        return {lang: getattr(self, f"label_{lang}").data or "" for lang in self.languages}


class NewKindForm(KindLabelsForm):
    key = StringField(
        _l("Key"),
        description=_l(
            "Lower-case letters, digits and _, starting with a letter, as definitions name it"
            " (department_kind). It cannot be changed later."
        ),
        validators=[
            DataRequired(_l("Enter the kind's key.")),
            Regexp(KEY_PATTERN, message=_l("Use 2 to 40 lower-case letters, digits and _.")),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    submit = SubmitField(_l("Add the kind"))


class EditKindForm(KindLabelsForm):
    submit = SubmitField(_l("Save the names"))


class DepartmentForm(CheckedByCSRFProtectForm):
    name_ja = StringField(
        _l("Name in Japanese"),
        validators=[clean_text(100), DataRequired(_l("Enter the department's name in Japanese."))],
    )
    name_en = StringField(_l("Name in English"), validators=[clean_text(100)])
    kind = SelectField(
        _l("Procedures it handles"),
        description=_l("Each kind of procedure goes to one department of the municipality."),
        validate_choice=False,  # checked below, with our words
    )
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: Any, kinds: list[DepartmentKind], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = [(k.key, k.label) for k in kinds]

    def validate_kind(self, field: Field) -> None:
        if field.data not in {key for key, _label in field.choices}:
            raise ValidationError(_l("Choose the kind of procedures it handles."))


#: "08:30-12:00, 13:00-17:15": a weekday's opening periods, a comma between two.
_PERIOD = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)\s*[-–~〜]\s*([01]?\d|2[0-3]):([0-5]\d)$")


def parse_periods(text: str) -> list[tuple[time, time]]:
    """The periods typed for one weekday, in order; raise ValueError saying what is wrong."""
    periods = []
    for part in (p.strip() for p in re.split(r"[,、，]", text or "") if p.strip()):
        match = _PERIOD.match(part)
        if match is None:
            raise ValueError(str(_l("Write each period as 08:30-17:15, a comma between two.")))
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        opens, closes = time(h1, m1), time(h2, m2)
        if opens >= closes:
            raise ValueError(str(_l("A period must close after it opens.")))
        if periods and opens < periods[-1][1]:
            raise ValueError(str(_l("Periods must come in order and not overlap.")))
        periods.append((opens, closes))
    return periods


def format_periods(periods: list[tuple[time, time]]) -> str:
    return ", ".join(f"{o:%H:%M}-{c:%H:%M}" for o, c in periods)


class CounterForm(CheckedByCSRFProtectForm):
    """The counter's hours per weekday, its slot length, capacity and how far ahead."""

    slot_minutes = IntegerField(
        _l("Length of a visit slot (minutes)"),
        validators=[
            InputRequired(_l("Enter the slot length in minutes.")),
            NumberRange(5, 240, _l("Enter a number from %(min)s to %(max)s.")),
        ],
    )
    capacity = IntegerField(
        _l("Residents served at once"),
        description=_l("The counter's staffed windows: visits booked into one slot."),
        validators=[
            InputRequired(_l("Enter how many residents are served at once.")),
            NumberRange(1, 100, _l("Enter a number from %(min)s to %(max)s.")),
        ],
    )
    bookable_days = IntegerField(
        _l("Days ahead a visit may be booked"),
        validators=[
            InputRequired(_l("Enter how many days ahead a visit may be booked.")),
            NumberRange(1, 366, _l("Enter a number from %(min)s to %(max)s.")),
        ],
    )
    open_on_holidays = BooleanField(_l("Open on national holidays and 29 December to 3 January"))
    hours_0 = StringField(WEEKDAYS[0], validators=[Length(max=100, message=_TOO_LONG)])
    hours_1 = StringField(WEEKDAYS[1], validators=[Length(max=100, message=_TOO_LONG)])
    hours_2 = StringField(WEEKDAYS[2], validators=[Length(max=100, message=_TOO_LONG)])
    hours_3 = StringField(WEEKDAYS[3], validators=[Length(max=100, message=_TOO_LONG)])
    hours_4 = StringField(WEEKDAYS[4], validators=[Length(max=100, message=_TOO_LONG)])
    hours_5 = StringField(WEEKDAYS[5], validators=[Length(max=100, message=_TOO_LONG)])
    hours_6 = StringField(WEEKDAYS[6], validators=[Length(max=100, message=_TOO_LONG)])
    submit = SubmitField(_l("Save the counter"))

    @property
    def hour_fields(self) -> list[Field]:
        return [getattr(self, f"hours_{day}") for day in range(7)]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        _whole_numbers(self.slot_minutes, self.capacity, self.bookable_days)
        self.hours: dict[int, list[tuple[time, time]]] = {}
        for day, field in enumerate(self.hour_fields):
            if field.errors:
                continue
            try:
                self.hours[day] = parse_periods(field.data or "")
            except ValueError as exc:
                field.errors = [str(exc)]
                valid = False
        return valid


class ClosedDateForm(CheckedByCSRFProtectForm):
    day = DateField(
        _l("Closed on"),
        validators=[InputRequired(_l("Enter the date, e.g. 2026-12-28."))],
    )
    reason = StringField(_l("Why (residents read this)"), validators=[clean_text(200)])
    submit = SubmitField(_l("Add the closed day"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, prefix="closed", **kwargs)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.day.errors:  # WTForms' own words for a date it cannot read: ours instead
            self.day.errors = [str(_l("Enter the date, e.g. 2026-12-28."))]
        return valid


class ReopenForm(CheckedByCSRFProtectForm):
    """Take a day off the closed days: its date, posted by the button beside it."""

    day = HiddenField()

    def validate_day(self, field: Field) -> None:
        try:
            field.data = date.fromisoformat(field.data or "")
        except ValueError:
            raise ValidationError(_l("Choose a closed day from the list.")) from None


class DeleteForm(CheckedByCSRFProtectForm):
    submit = SubmitField(_l("Yes, delete this department"))
