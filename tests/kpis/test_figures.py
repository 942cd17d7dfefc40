"""The KPI figures against a data set with known answers (``seed``), on SQLite and
PostgreSQL: every figure of a municipality's and of the whole portal's dashboard, the
percentiles against ``statistics.quantiles``, and the open data's suppression at 9 and 10."""

from __future__ import annotations

import statistics
from datetime import date, timedelta

import pytest
from flask import Flask

from portal.casework.lifecycle import RequestStatus
from portal.definitions.services import current_catalog
from portal.extensions import db
from portal.japan.clock import as_of
from portal.kpis import queries
from portal.kpis.period import Period
from portal.tenancy.kinds import BUILTIN_KEYS
from portal.tenancy.models import DepartmentKind, Municipality
from tests.factories import CaseFactory, MunicipalityFactory, RequestFactory
from tests.kpis.seed import MEDIAN_DAYS, NOW, P90_DAYS, TODAY, at, seed
from tests.support.sql import counted_statements

OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 1))
DAY = 86400


@pytest.fixture
def seeded(app: Flask, definitions: None):  # noqa: ANN201
    with app.app_context():
        found = seed()
        db.session.commit()
    return found


def _dashboard(app: Flask, municipality_id: int | None) -> queries.Dashboard:
    municipality = db.session.get(Municipality, municipality_id) if municipality_id else None
    return queries.dashboard(OCTOBER, municipality, NOW, TODAY)


def test_a_municipalitys_life_events(app: Flask, seeded) -> None:
    with app.test_request_context():
        events = {row.workflow_key: row for row in _dashboard(app, seeded.a_id).life_events}
        moving = events.pop("moving")
        assert moving.title == str(current_catalog().workflow("moving").title)
    assert (moving.started, moving.submitted, moving.abandoned, moving.in_progress) == (7, 5, 1, 1)
    assert moving.completion_rate == pytest.approx(100 * 5 / 7)
    # Every other life event is listed, with nothing started.
    assert set(events) == {"birth", "childcare", "death"}
    assert all(r.started == r.submitted == r.abandoned == 0 for r in events.values())
    assert all(r.completion_rate is None for r in events.values())


def test_a_municipalitys_forms(app: Flask, seeded) -> None:
    with app.app_context():
        (row,) = _dashboard(app, seeded.a_id).forms
    assert (row.workflow_key, row.form_id) == ("moving", "mic.tenshutsu")
    assert (row.filed, row.decided, row.withdrawn, row.corrections) == (5, 4, 1, 3)
    assert row.corrections_per_100 == pytest.approx(60.0)
    assert row.decision_days(50) == pytest.approx(MEDIAN_DAYS, abs=1e-6)
    assert row.decision_days(90) == pytest.approx(P90_DAYS, abs=1e-6)


def test_a_municipalitys_open_and_overdue_requests_today(app: Flask, seeded) -> None:
    with app.app_context():
        rows = _dashboard(app, seeded.a_id).departments
        residents = db.session.get(Municipality, seeded.a_id).department_of_kind(
            "resident_registration"
        )
        name = residents.name
        count = len(db.session.get(Municipality, seeded.a_id).departments)
    by_name = {row.name: (row.open, row.overdue) for row in rows}
    assert len(rows) == count  # every department of A, none of B's
    assert by_name.pop(name) == (3, 1)
    assert set(by_name.values()) == {(0, 0)}


def test_the_whole_portal(app: Flask, seeded) -> None:
    with app.app_context():
        figures = _dashboard(app, None)
    moving = next(r for r in figures.life_events if r.workflow_key == "moving")
    assert (moving.started, moving.submitted, moving.abandoned) == (9, 6, 1)
    (form,) = figures.forms
    assert (form.filed, form.decided, form.withdrawn, form.corrections) == (6, 4, 1, 3)
    assert form.corrections_per_100 == pytest.approx(50.0)
    assert form.decision_days(50) == pytest.approx(MEDIAN_DAYS, abs=1e-6)
    by_kind = {row.name: (row.open, row.overdue) for row in figures.departments}
    assert len(figures.departments) == len(BUILTIN_KEYS)
    with app.test_request_context():
        assert by_kind[db.session.get(DepartmentKind, "resident_registration").label] == (4, 2)


def test_a_period_without_cases_counts_nothing(app: Flask, seeded) -> None:
    with app.app_context():
        figures = queries.dashboard(
            Period(date(2025, 1, 1), date(2025, 6, 1)),
            db.session.get(Municipality, seeded.a_id),
            NOW,
            TODAY,
        )
    assert figures.forms == []
    assert all(row.started == 0 for row in figures.life_events)


@pytest.mark.parametrize("days", [[5], [3, 1], [1, 2, 3], [7, 1, 3, 2, 9], list(range(1, 21))])
def test_percentiles_are_those_of_statistics_quantiles(app: Flask, definitions, days) -> None:
    """Interpolated between ranks in SQL as ``quantiles(method="inclusive")`` does."""
    with app.app_context():
        here = MunicipalityFactory()
        for n, count in enumerate(days):
            submitted = at(1 + n, hour=9)
            with as_of(submitted):
                case = CaseFactory(filed=True, municipality=here, forms=[], submitted_at=submitted)
                RequestFactory(
                    case=case,
                    form_id="mic.tenshutsu",
                    municipality=here,
                    status=RequestStatus.APPROVED,
                    decided_at=submitted + timedelta(days=count, hours=n),
                )
        db.session.commit()
        (row,) = queries.forms(OCTOBER, here.id, current_catalog())
    seconds = [(count * 24 + n) * 3600 for n, count in enumerate(days)]
    if len(seconds) == 1:
        expected = {50: seconds[0], 90: seconds[0]}
    else:
        deciles = statistics.quantiles(seconds, n=10, method="inclusive")
        expected = {50: statistics.median(seconds), 90: deciles[8]}
    assert row.decision_seconds == pytest.approx(expected, abs=0.01)


def test_months_are_counted_in_japan(app: Flask, definitions) -> None:
    """A case sent at 23:30 on 31 October in Japan (14:30 UTC) is October's; at 00:30 on
    1 November in Japan (15:30 UTC on 31 October), November's."""
    with app.app_context():
        here = MunicipalityFactory()
        for moment in (
            at(31, hour=23) + timedelta(minutes=30),
            at(1, 11, 0) + timedelta(minutes=30),
        ):
            with as_of(moment):
                CaseFactory(filed=True, municipality=here, forms=["mic.tenshutsu"])
        db.session.commit()
        october = queries.forms(OCTOBER, here.id, current_catalog())
        cells = queries.open_data(Period(date(2026, 10, 1), date(2026, 11, 1)))
    assert [row.filed for row in october] == [1]
    months = [cell.month for cell in cells if cell.municipality_code == here.code]
    assert months == ["2026-10", "2026-11"]


def test_open_data_suppresses_every_cell_under_ten(app: Flask, definitions) -> None:
    with app.app_context():
        ten, nine = MunicipalityFactory(), MunicipalityFactory()
        for municipality, cases in ((ten, 10), (nine, 9)):
            for n in range(cases):
                submitted = at(1 + n)
                decided = n < 9  # ten's: 9 decided of 10
                with as_of(submitted):
                    case = CaseFactory(
                        filed=True, municipality=municipality, forms=[], submitted_at=submitted
                    )
                    RequestFactory(
                        case=case,
                        form_id="mic.tenshutsu",
                        municipality=municipality,
                        status=RequestStatus.APPROVED if decided else RequestStatus.SUBMITTED,
                        decided_at=submitted + timedelta(days=1) if decided else None,
                    )
        db.session.commit()
        with as_of(NOW):
            period = queries.open_data_period(TODAY)
        cells = {c.municipality_code: c for c in queries.open_data(period)}
        codes = ten.code, nine.code
    assert (period.first, period.last) == (date(2024, 12, 1), date(2026, 11, 1))
    at_ten, at_nine = cells[codes[0]], cells[codes[1]]
    assert (at_ten.life_event, at_ten.month) == ("moving", "2026-10")
    assert (at_ten.cases_submitted, at_ten.requests_filed, at_ten.requests_decided) == (
        10,
        10,
        None,
    )
    assert at_ten.suppressed == ["requests_decided"]
    assert (at_nine.cases_submitted, at_nine.requests_filed, at_nine.requests_decided) == (
        None,
        None,
        None,
    )
    assert at_nine.suppressed == ["cases_submitted", "requests_filed", "requests_decided"]


def test_open_data_leaves_out_the_month_under_way(app: Flask, definitions) -> None:
    with app.app_context():
        here = MunicipalityFactory()
        for n in range(12):
            with as_of(NOW - timedelta(hours=n)):
                CaseFactory(filed=True, municipality=here, forms=["mic.tenshutsu"])
        db.session.commit()
        cells = queries.open_data(queries.open_data_period(TODAY))
    assert [c for c in cells if c.municipality_code == here.code] == []


def test_a_dashboard_costs_the_same_statements_however_many_cases(app: Flask, definitions) -> None:
    """Aggregates only: no statement per case, per request or per form."""
    sent_for = []
    with app.app_context():
        here = MunicipalityFactory()
        db.session.commit()
        for cases in (1, 6):
            for n in range(cases):
                with as_of(at(1 + n)):
                    CaseFactory(filed=True, municipality=here, forms=["mic.tenshutsu"])
            db.session.commit()
            current_catalog()  # parsed once per load, as in a warm worker
            assert here.code  # loaded, as the view's guard loads it
            with counted_statements(app) as sent:
                queries.dashboard(OCTOBER, here, NOW, TODAY)
            sent_for.append(len(sent))
            db.session.rollback()
    assert sent_for[0] == sent_for[1] == 7
