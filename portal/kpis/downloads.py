"""The downloads: the dashboard's figures as CSV, and the public open data as JSON and CSV.

CSV files start with a byte-order mark: Excel, as used in Japan, reads a file without one
as Shift_JIS and garbles every Japanese name.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence

from flask_babel import gettext as _

from portal.kpis.period import Period
from portal.kpis.queries import SUPPRESS_BELOW, Dashboard, OpenDataCell

BOM = "\ufeff"


def _csv(rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return out.getvalue()


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def dashboard_csv(figures: Dashboard) -> str:
    """Every figure of the dashboard, one a line (table, row, figure, value), so that its
    three tables fit under one header row, in the reader's language."""
    period = f"{figures.period.first:%Y-%m}/{figures.period.last:%Y-%m}"
    lines: list[Sequence[object]] = [(_("Period"), _("Table"), _("Row"), _("Figure"), _("Value"))]
    events, forms, departments = _("Life events"), _("Forms"), _("Departments (today)")
    for row in figures.life_events:
        lines += [
            (period, events, row.title, _("Started"), row.started),
            (period, events, row.title, _("Submitted"), row.submitted),
            (period, events, row.title, _("Abandoned"), row.abandoned),
            (period, events, row.title, _("Online completion rate (%)"),
             _rounded(row.completion_rate, 1)),
        ]  # fmt: skip
    for form in figures.forms:
        name = f"{form.life_event} / {form.title}"
        lines += [
            (period, forms, name, _("Requests filed"), form.filed),
            (period, forms, name, _("Decided"), form.decided),
            (period, forms, name, _("Withdrawn"), form.withdrawn),
            (period, forms, name, _("Median days to decision"),
             _rounded(form.decision_days(50), 2)),
            (period, forms, name, _("90th percentile days to decision"),
             _rounded(form.decision_days(90), 2)),
            (period, forms, name, _("Corrections asked"), form.corrections),
            (period, forms, name, _("Corrections per 100 requests"),
             _rounded(form.corrections_per_100, 1)),
        ]  # fmt: skip
    today = f"{figures.today:%Y-%m-%d}"
    for department in figures.departments:
        lines += [
            (today, departments, department.name, _("Open requests"), department.open),
            (today, departments, department.name, _("Overdue requests"), department.overdue),
        ]
    return _csv(lines)


#: The open data's columns, in English for any program that reads them.
OPEN_DATA_COLUMNS = (
    "municipality_code",
    "life_event",
    "month",
    "cases_submitted",
    "requests_filed",
    "requests_decided",
    "suppressed",
)

OPEN_DATA_NOTE = (
    "Counts per municipality (local government code), life event and month of submission "
    "(Japan time), of the cases submitted on Madoguchi and their requests filed online and "
    f"decided (approved or rejected) since. A count under {SUPPRESS_BELOW} is published as "
    "null (blank in the CSV) and named in 'suppressed'. No totals are published, so that no "
    "suppressed count can be worked out from them; a month is published once it is over. "
    "A move between two municipalities counts at both; follow-up cases are not counted."
)


def open_data_json(period: Period, cells: Sequence[OpenDataCell]) -> str:
    document = {
        "title": "Madoguchi: life-event cases per municipality and month",
        "note": OPEN_DATA_NOTE,
        "period": {"first_month": f"{period.first:%Y-%m}", "last_month": f"{period.last:%Y-%m}"},
        "suppressed_below": SUPPRESS_BELOW,
        "columns": list(OPEN_DATA_COLUMNS),
        "rows": [
            {
                "municipality_code": cell.municipality_code,
                "life_event": cell.life_event,
                "month": cell.month,
                "cases_submitted": cell.cases_submitted,
                "requests_filed": cell.requests_filed,
                "requests_decided": cell.requests_decided,
                "suppressed": cell.suppressed,
            }
            for cell in cells
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=1)


def open_data_csv(cells: Sequence[OpenDataCell]) -> str:
    return _csv(
        [
            OPEN_DATA_COLUMNS,
            *(
                (
                    cell.municipality_code,
                    cell.life_event,
                    cell.month,
                    cell.cases_submitted,
                    cell.requests_filed,
                    cell.requests_decided,
                    " ".join(cell.suppressed),
                )
                for cell in cells
            ),
        ]
    )
