"""The dashboard's figures and the open data's counts, each an aggregate SQL query that runs
alike on SQLite and PostgreSQL: a page costs a fixed number of statements, whatever the
number of cases behind it.

Definitions, as the dashboard states them:

- A case is *started* in the period when it was created in it (a follow-up case, such as
  the funeral allowance after a death, is no new life event and is not counted). It is
  *submitted* if it has been sent since, and *abandoned* if it is still a draft nobody has
  touched for ``ABANDONED_AFTER_DAYS`` days. The online completion rate is submitted over
  started. A draft the resident discarded is deleted, and counts nowhere; one retention
  anonymised (untouched for ``DRAFT_RETENTION_DAYS``) still counts, as abandoned.
- A municipality's cases are those that filed a request with it; a draft, which has filed
  nothing yet, is its by the address its workflow's first municipality reads (the
  ``current`` address: 住所 of the person concerned), ward addresses counting for their city.
- Requests are those filed online in the period (the case's submission in it); *decided*
  ones were approved or rejected since. Time to decision runs from the case's submission to
  the decision; its median and 90th percentile are interpolated between ranks as
  PostgreSQL's ``percentile_cont`` does (and ``statistics.quantiles(method="inclusive")``).
- Open and overdue requests are counted today, whatever the period: overdue ones are open,
  their clock running (no correction out), past their adjusted deadline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    String,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from portal.casework.lifecycle import OPEN, RequestStatus
from portal.casework.models import Correction
from portal.db import db
from portal.definitions.model import Text, Workflow
from portal.definitions.services import Catalog, current_catalog
from portal.journey.models import REQUEST_DUE_ON, Case, CaseStatus, ProcedureRequest
from portal.kpis.period import Period, add_months
from portal.tenancy.management import department_kinds
from portal.tenancy.models import Department, Municipality

#: A draft nobody touched for this many days is abandoned.
ABANDONED_AFTER_DAYS = 30
#: The percentiles of the time to decision the dashboard shows.
PERCENTILES = (50, 90)
#: Open data: a cell counting fewer than this many is published blank, and flagged.
SUPPRESS_BELOW = 10
#: Open data covers this many whole months before the current one.
OPEN_DATA_MONTHS = 24

_DECISIONS = (RequestStatus.APPROVED, RequestStatus.REJECTED)


# SQL the two databases write differently -------------------------------------------------


class seconds_between(FunctionElement[float]):  # noqa: N801 - used as an SQL function
    """``seconds_between(earlier, later)``: the seconds from one timestamp to the other."""

    type = Float()
    name = "seconds_between"
    inherit_cache = True


@compiles(seconds_between, "postgresql")
def _seconds_postgresql(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    earlier, later = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later}) - ({earlier}))"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    earlier, later = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


class japan_month(FunctionElement[str]):  # noqa: N801 - used as an SQL function
    """``japan_month(instant)``: the month in Japan (``2026-04``) of a UTC timestamp."""

    type = String()
    name = "japan_month"
    inherit_cache = True


@compiles(japan_month, "postgresql")
def _month_postgresql(element: japan_month, compiler: SQLCompiler, **kw: Any) -> str:
    (instant,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"to_char(({instant}) AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM')"


@compiles(japan_month, "sqlite")
def _month_sqlite(element: japan_month, compiler: SQLCompiler, **kw: Any) -> str:
    (instant,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"strftime('%Y-%m', {instant}, '+9 hours')"


# What the dashboard shows -----------------------------------------------------------------


@dataclass(frozen=True)
class LifeEventRow:
    workflow_key: str
    title: str
    started: int
    submitted: int
    abandoned: int

    @property
    def in_progress(self) -> int:
        """Drafts still being filled in (touched within the last days)."""
        return self.started - self.submitted - self.abandoned

    @property
    def completion_rate(self) -> float | None:
        """Submitted over started, in per cent (None: nothing started)."""
        return 100 * self.submitted / self.started if self.started else None


@dataclass(frozen=True)
class FormRow:
    workflow_key: str
    life_event: str
    form_id: str
    title: str
    filed: int
    decided: int
    withdrawn: int
    corrections: int
    #: Seconds from submission to decision, by percentile (None: nothing decided).
    decision_seconds: dict[int, float | None]

    @property
    def corrections_per_100(self) -> float | None:
        return 100 * self.corrections / self.filed if self.filed else None

    def decision_days(self, percentile: int) -> float | None:
        seconds = self.decision_seconds.get(percentile)
        return None if seconds is None else seconds / 86400


@dataclass(frozen=True)
class DepartmentRow:
    name: str
    open: int
    overdue: int


@dataclass(frozen=True)
class Dashboard:
    period: Period
    #: None: the whole portal.
    municipality: Municipality | None
    life_events: list[LifeEventRow]
    forms: list[FormRow]
    departments: list[DepartmentRow]
    today: date


def dashboard(
    period: Period, municipality: Municipality | None, now: datetime, today: date
) -> Dashboard:
    """Every figure of one dashboard: seven statements, whatever the number of cases (the
    definitions' stamp, one for the life events, three for the forms, two for the
    departments)."""
    catalog = current_catalog()
    municipality_id = municipality.id if municipality is not None else None
    return Dashboard(
        period=period,
        municipality=municipality,
        life_events=life_events(period, municipality_id, now, catalog),
        forms=forms(period, municipality_id, catalog),
        departments=departments(municipality_id, today),
        today=today,
    )


def served_municipalities() -> list[Municipality]:
    """The municipalities with departments here, for the portal admin's filter: of the 1,900
    rows of the official list only these have anything to count."""
    served = exists().where(Department.municipality_id == Municipality.id)
    return list(db.session.scalars(select(Municipality).where(served).order_by(Municipality.code)))


def _workflow_titles(catalog: Catalog) -> dict[str, str]:
    return {key: str(w.title) for key, w in catalog.parsed_workflows.items()}


def _form_titles(catalog: Catalog) -> dict[str, str]:
    titles = {}
    for form_id, data in catalog.forms.items():
        title = Text.of(data.get("title"))
        titles[form_id] = str(title) if title is not None else form_id
    return titles


def draft_address_key(workflow: Workflow) -> str | None:
    """The answer whose municipality a draft counts for: the ``current`` address (住所 of the
    person concerned). Retention keeps its code when it anonymises a draft."""
    return workflow.municipalities.get("current")


def _draft_municipality_code(catalog: Catalog) -> ColumnElement[Any] | None:
    """The municipality code a draft's ``current`` address answer names, by its workflow."""
    whens = []
    for key, workflow in catalog.parsed_workflows.items():
        address_key = draft_address_key(workflow)
        if address_key:
            code = Case.answers[(address_key, "municipality_code")].as_string()
            whens.append((Case.workflow_key == key, code))
    return case(*whens, else_=None) if whens else None


def _case_of_municipality(municipality_id: int, catalog: Catalog) -> ColumnElement[bool]:
    """The case filed a request with the municipality, or is a draft whose address is in it."""
    filed_with = exists().where(
        ProcedureRequest.case_id == Case.id, ProcedureRequest.municipality_id == municipality_id
    )
    code = _draft_municipality_code(catalog)
    if code is None:
        return filed_with
    lives_in = exists().where(
        Municipality.code == code,
        or_(Municipality.id == municipality_id, Municipality.parent_id == municipality_id),
    )
    return or_(filed_with, and_(Case.status == CaseStatus.DRAFT, lives_in))


def life_events(
    period: Period, municipality_id: int | None, now: datetime, catalog: Catalog
) -> list[LifeEventRow]:
    """Started, submitted and abandoned cases of each life event: one GROUP BY."""
    stale = and_(
        Case.status == CaseStatus.DRAFT,
        Case.updated_at < now - timedelta(days=ABANDONED_AFTER_DAYS),
    )
    query = (
        select(
            Case.workflow_key,
            func.count(),
            func.sum(case((Case.status == CaseStatus.SUBMITTED, 1), else_=0)),
            func.sum(case((stale, 1), else_=0)),
        )
        .where(
            Case.created_at >= period.starts_at,
            Case.created_at < period.ends_at,
            Case.follows_case_id.is_(None),
        )
        .group_by(Case.workflow_key)
    )
    if municipality_id is not None:
        query = query.where(_case_of_municipality(municipality_id, catalog))
    counts = {key: (started, submitted, abandoned) for key, started, submitted, abandoned in
              db.session.execute(query)}  # fmt: skip
    titles = _workflow_titles(catalog)
    return [
        LifeEventRow(key, titles.get(key, key), *(int(n or 0) for n in counts.get(key, (0, 0, 0))))
        for key in [*titles, *sorted(set(counts) - set(titles))]
    ]


def _filed_requests(period: Period, municipality_id: int | None) -> list[ColumnElement[bool]]:
    """Requests filed online in the period (their case submitted in it)."""
    conditions = [
        Case.submitted_at >= period.starts_at,
        Case.submitted_at < period.ends_at,
        ProcedureRequest.department_id.is_not(None),
    ]
    if municipality_id is not None:
        conditions.append(ProcedureRequest.municipality_id == municipality_id)
    return conditions


def forms(period: Period, municipality_id: int | None, catalog: Catalog) -> list[FormRow]:
    """Each life event's forms: requests filed, decided, withdrawn, corrections asked, and
    the time to decision (three statements)."""
    conditions = _filed_requests(period, municipality_id)
    group = (Case.workflow_key, ProcedureRequest.form_id)
    counted = (
        select(
            *group,
            func.count(),
            func.sum(case((ProcedureRequest.status.in_(_DECISIONS), 1), else_=0)),
            func.sum(case((ProcedureRequest.status == RequestStatus.WITHDRAWN, 1), else_=0)),
        )
        .join(Case, ProcedureRequest.case_id == Case.id)
        .where(*conditions)
        .group_by(*group)
    )
    corrected = (
        select(*group, func.count(Correction.id))
        .select_from(Correction)
        .join(ProcedureRequest, Correction.request_id == ProcedureRequest.id)
        .join(Case, ProcedureRequest.case_id == Case.id)
        .where(*conditions)
        .group_by(*group)
    )
    corrections = {(key, form): n for key, form, n in db.session.execute(corrected)}
    durations = decision_percentiles(conditions)
    workflows, titles = _workflow_titles(catalog), _form_titles(catalog)
    rows = [
        FormRow(
            workflow_key=key,
            life_event=workflows.get(key, key),
            form_id=form_id,
            title=titles.get(form_id, form_id),
            filed=int(filed),
            decided=int(decided or 0),
            withdrawn=int(withdrawn or 0),
            corrections=int(corrections.get((key, form_id), 0)),
            decision_seconds={p: durations.get((key, form_id), {}).get(p) for p in PERCENTILES},
        )
        for key, form_id, filed, decided, withdrawn in db.session.execute(counted)
    ]
    order = {key: n for n, key in enumerate(workflows)}
    return sorted(rows, key=lambda r: (order.get(r.workflow_key, len(order)), r.form_id))


def decision_percentiles(
    conditions: Iterable[ColumnElement[bool]],
) -> dict[tuple[str, str], dict[int, float]]:
    """The percentiles of the time to decision of each (life event, form), in SQL on both
    databases: each decided request is ranked by its duration within its group (a window
    function), and only the rows on either side of each percentile's position come back,
    at most four a group, however many requests were decided. Between them the value is
    interpolated as ``percentile_cont`` does: position ``1 + p(n - 1)``."""
    seconds = seconds_between(Case.submitted_at, ProcedureRequest.decided_at)
    group = (Case.workflow_key, ProcedureRequest.form_id)
    ranked = (
        select(
            *group,
            seconds.label("seconds"),
            func.row_number().over(partition_by=group, order_by=seconds).label("rank"),
            func.count().over(partition_by=group).label("size"),
        )
        .join(Case, ProcedureRequest.case_id == Case.id)
        .where(
            *conditions,
            ProcedureRequest.status.in_(_DECISIONS),
            ProcedureRequest.decided_at.is_not(None),
        )
        .subquery()
    )
    wanted = []
    for p in PERCENTILES:
        steps = p * (ranked.c.size - 1)
        wanted += [ranked.c.rank == 1 + steps // 100, ranked.c.rank == 1 + (steps + 99) // 100]
    query = select(
        ranked.c.workflow_key, ranked.c.form_id, ranked.c.rank, ranked.c.size, ranked.c.seconds
    ).where(or_(*wanted))
    at_rank: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    sizes: dict[tuple[str, str], int] = {}
    for key, form_id, rank, size, value in db.session.execute(query):
        at_rank[(key, form_id)][int(rank)] = float(value)
        sizes[(key, form_id)] = int(size)
    return {
        group_key: {p: _interpolated(at_rank[group_key], sizes[group_key], p) for p in PERCENTILES}
        for group_key in sizes
    }


def _interpolated(values: dict[int, float], size: int, percentile: int) -> float:
    """``percentile_cont``'s value between the ranks either side of the position."""
    steps = percentile * (size - 1)
    lower, remainder = 1 + steps // 100, steps % 100
    low = values[lower]
    if remainder == 0:
        return low
    return low + (values[lower + 1] - low) * remainder / 100


def departments(municipality_id: int | None, today: date) -> list[DepartmentRow]:
    """Open and overdue requests today: each department of a municipality, or each kind of
    department over the whole portal (one GROUP BY)."""
    overdue = and_(literal(today) > REQUEST_DUE_ON, ProcedureRequest.paused_since.is_(None))
    counts = (
        func.count(),
        func.sum(case((overdue, 1), else_=0)),
    )
    where = ProcedureRequest.status.in_(sorted(OPEN))
    if municipality_id is None:
        query = (
            select(Department.kind, *counts)
            .join(Department, ProcedureRequest.department_id == Department.id)
            .where(where)
            .group_by(Department.kind)
        )
        found = {kind: (n, late) for kind, n, late in db.session.execute(query)}
        return [
            DepartmentRow(kind.label, *(int(v or 0) for v in found.get(kind.key, (0, 0))))
            for kind in department_kinds()
        ]
    query = (
        select(ProcedureRequest.department_id, *counts)
        .where(where, ProcedureRequest.municipality_id == municipality_id)
        .group_by(ProcedureRequest.department_id)
    )
    found = {department_id: (n, late) for department_id, n, late in db.session.execute(query)}
    listed = db.session.scalars(
        select(Department)
        .where(Department.municipality_id == municipality_id)
        .order_by(Department.id)
    )
    return [DepartmentRow(d.name, *(int(v or 0) for v in found.get(d.id, (0, 0)))) for d in listed]


# Open data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenDataCell:
    """One municipality, life event and month: counts, or None where suppressed."""

    municipality_code: str
    life_event: str
    month: str
    cases_submitted: int | None
    requests_filed: int | None
    requests_decided: int | None

    COUNTS = ("cases_submitted", "requests_filed", "requests_decided")

    @property
    def suppressed(self) -> list[str]:
        return [name for name in self.COUNTS if getattr(self, name) is None]


def suppressed(count: int) -> int | None:
    """A count under ``SUPPRESS_BELOW`` is not published: with so few, a neighbour could
    tell who it is."""
    return count if count >= SUPPRESS_BELOW else None


def open_data_period(today: date) -> Period:
    """The whole months before this one: a month is published once it is over, so that its
    counts never change from one day to the next (two days' downloads of a month still
    under way would give away each case filed in between)."""
    return Period.ending(add_months(today.replace(day=1), -1), OPEN_DATA_MONTHS)


def open_data(period: Period) -> list[OpenDataCell]:
    """Cases submitted, and their online requests filed and decided since, per municipality
    (each one the case filed with: a move between two counts at both), life event and month
    of submission; every cell under ``SUPPRESS_BELOW`` suppressed. No totals are published
    (neither per row nor per column), so no suppressed cell can be worked back from them.
    One GROUP BY."""
    month = japan_month(Case.submitted_at)
    decided = case((ProcedureRequest.status.in_(_DECISIONS), 1), else_=0)
    query = (
        select(
            Municipality.code,
            Case.workflow_key,
            month,
            func.count(Case.id.distinct()),
            func.count(ProcedureRequest.id),
            func.sum(decided),
        )
        .select_from(ProcedureRequest)
        .join(Case, ProcedureRequest.case_id == Case.id)
        .join(Municipality, ProcedureRequest.municipality_id == Municipality.id)
        .where(
            Case.submitted_at >= period.starts_at,
            Case.submitted_at < period.ends_at,
            ProcedureRequest.department_id.is_not(None),
            Case.follows_case_id.is_(None),
        )
        .group_by(Municipality.code, Case.workflow_key, month)
        .order_by(Municipality.code, Case.workflow_key, month)
    )
    return [
        OpenDataCell(
            municipality_code=code,
            life_event=key,
            month=str(when),
            cases_submitted=suppressed(int(cases)),
            requests_filed=suppressed(int(filed)),
            requests_decided=suppressed(int(decided_count or 0)),
        )
        for code, key, when, cases, filed, decided_count in db.session.execute(query)
    ]
