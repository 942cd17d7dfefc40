"""The dashboard's figures as a person reads them: the chart, and numbers written out."""

from __future__ import annotations

from flask_babel import format_decimal
from flask_babel import gettext as _

from portal.kpis.chart import BarChart, Series, grouped_bars
from portal.kpis.queries import Dashboard


def life_event_chart(figures: Dashboard) -> BarChart:
    """Started, submitted and abandoned cases of each life event, as grouped bars."""
    series = [
        Series(_("Started"), "#0017c1"),
        Series(_("Submitted"), "#197a4b"),
        Series(_("Abandoned"), "#ce0000"),
    ]
    rows = [(row.title, (row.started, row.submitted, row.abandoned)) for row in figures.life_events]
    first, last = figures.period.first, figures.period.last
    return grouped_bars(
        title=_("Cases started, submitted and abandoned, by life event"),
        description=_(
            "From %(first)s to %(last)s. The same figures are in the table below the chart.",
            first=f"{first:%Y-%m}",
            last=f"{last:%Y-%m}",
        ),
        series=series,
        rows=rows,
    )


def number(value: float | None, digits: int = 1) -> str:
    """A figure with ``digits`` decimals in the reader's locale; "—" for none."""
    if value is None:
        return "—"
    return format_decimal(round(value, digits), format="#,##0." + "0" * digits)
