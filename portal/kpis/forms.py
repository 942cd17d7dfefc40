"""The dashboard's period selector: a GET form (it changes nothing, so it carries no CSRF
token), read from the query string. A bad month is refused beside its field and the page
shows the default period meanwhile, with what was typed kept in the field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import Field, SelectField, StringField
from wtforms.validators import ValidationError

from portal.kpis.period import DEFAULT_MONTHS, MAX_MONTHS, Period, parse_month
from portal.tenancy.models import Municipality


def selector_args(args: Mapping[str, str]) -> MultiDict[str, str]:
    """The selector's own parameters of a query string, each named here (so that the route
    sweep of tests/test_every_route.py sends them hostile values)."""
    given = {
        "start": args.get("start"),
        "end": args.get("end"),
        "municipality": args.get("municipality"),
    }
    return MultiDict({name: value for name, value in given.items() if value is not None})


_MONTH_HINT = _l("Year and month, for example 2026-04.")


def _month(form: FlaskForm, field: Field) -> None:
    if field.data and parse_month(field.data) is None:
        raise ValidationError(_l("Enter a month as year and month, for example 2026-04."))


class PeriodForm(FlaskForm):
    class Meta:
        csrf = False

    start = StringField(_l("From (month)"), validators=[_month], description=_MONTH_HINT)
    end = StringField(_l("To (month)"), validators=[_month], description=_MONTH_HINT)

    def __init__(self, formdata: Any, today: Any, **kwargs: Any) -> None:
        super().__init__(formdata=formdata, **kwargs)
        self._default = Period.ending(today, DEFAULT_MONTHS)
        self._valid = False
        if not self.start.data and not self.end.data:
            self.start.data, self.end.data = (
                self._default.as_args()["start"],
                self._default.as_args()["end"],
            )

    def validate(self, extra_validators: Any = None) -> bool:
        self._valid = self._validate_period(extra_validators)
        self._errors = None  # errors set below are read afresh
        return self._valid

    def _validate_period(self, extra_validators: Any) -> bool:
        if not super().validate(extra_validators):
            return False
        first = parse_month(self.start.data or "") or self._default.first
        last = parse_month(self.end.data or "") or self._default.last
        if first > last:
            self.end.errors = [_l("The end month must not be before the start month.")]
            return False
        if len(Period(first, last).months) > MAX_MONTHS:
            self.end.errors = [_l("A period can be at most %(months)d months.", months=MAX_MONTHS)]
            return False
        return True

    @property
    def period(self) -> Period:
        """The period asked for, once valid; the default one otherwise."""
        if not self._valid:
            return self._default
        return Period(
            parse_month(self.start.data or "") or self._default.first,
            parse_month(self.end.data or "") or self._default.last,
        )


class PortalPeriodForm(PeriodForm):
    """The portal admin's: the period, and one municipality or the whole portal."""

    municipality = SelectField(_l("Municipality"), choices=[], validate_choice=False)

    def __init__(
        self, formdata: Any, today: Any, municipalities: Sequence[Municipality], **kwargs: Any
    ) -> None:
        super().__init__(formdata, today, **kwargs)
        self.municipality.choices = [("", str(_l("The whole portal")))] + [
            (str(m.id), f"{m.name} ({m.code})") for m in municipalities
        ]
        self._municipalities = {str(m.id): m for m in municipalities}
        if self.municipality.data is None:
            self.municipality.data = ""

    def validate_municipality(self, field: Field) -> None:
        if field.data and field.data not in self._municipalities:
            raise ValidationError(_l("Choose a municipality from the list."))

    @property
    def chosen(self) -> Municipality | None:
        if self.municipality.errors:
            return None
        return self._municipalities.get(self.municipality.data or "")
