"""The KPI dashboards (a municipality's, for its admins; the whole portal's, for the
portal's admins), their CSV, and the public open data."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal import access
from portal.japan.clock import today_in_japan, utcnow
from portal.kpis import downloads, queries
from portal.kpis.chart import BarChart
from portal.kpis.forms import PeriodForm, PortalPeriodForm, selector_args
from portal.kpis.period import Period
from portal.kpis.presenter import life_event_chart, number
from portal.replica import reads_from_replica
from portal.tenancy.models import Municipality
from portal.web.security import publicly_cacheable

bp = Blueprint("kpis", __name__)

#: Open data changes once a month; a day's caching spares the database every download.
OPEN_DATA_MAX_AGE = 24 * 3600


@bp.get("/admin/kpis")
@access.requires(access.PORTAL_ADMIN)
@reads_from_replica
def portal() -> Response | tuple[str, int] | str:
    access.portal_admin_or_404()
    form = _portal_form()
    valid = form.validate()
    figures = _figures(form, form.chosen)
    csv_url = url_for("kpis.portal_csv", **_args(form))
    return _page(form, figures, csv_url, valid)


@bp.get("/admin/kpis.csv")
@access.requires(access.PORTAL_ADMIN)
@reads_from_replica
def portal_csv() -> Response | tuple[str, int]:
    access.portal_admin_or_404()
    form = _portal_form()
    if not form.validate():
        return _page(form, _figures(form, None), None, valid=False)
    return _csv(_figures(form, form.chosen))


@bp.get("/admin/municipalities/<int:municipality_id>/kpis")
@access.requires(access.MUNICIPALITY_ADMIN)
@reads_from_replica
def municipality(municipality_id: int) -> tuple[str, int] | str:
    found = access.municipality_or_404(municipality_id)
    form = PeriodForm(selector_args(request.args), today_in_japan())
    valid = form.validate()
    figures = _figures(form, found)
    csv_url = url_for("kpis.municipality_csv", municipality_id=found.id, **_args(form))
    return _page(form, figures, csv_url, valid)


@bp.get("/admin/municipalities/<int:municipality_id>/kpis.csv")
@access.requires(access.MUNICIPALITY_ADMIN)
@reads_from_replica
def municipality_csv(municipality_id: int) -> Response | tuple[str, int]:
    found = access.municipality_or_404(municipality_id)
    form = PeriodForm(selector_args(request.args), today_in_japan())
    if not form.validate():
        return _page(form, _figures(form, found), None, valid=False)
    return _csv(_figures(form, found))


@bp.get("/open-data/kpis.json")
@access.requires(access.ANYONE)
@publicly_cacheable
@reads_from_replica
def open_data_json() -> Response:
    """Counts per municipality, life event and month; small cells suppressed. No sign-in."""
    period = queries.open_data_period(today_in_japan())
    body = downloads.open_data_json(period, queries.open_data(period))
    return _public(Response(body, 200, content_type="application/json"))


@bp.get("/open-data/kpis.csv")
@access.requires(access.ANYONE)
@publicly_cacheable
@reads_from_replica
def open_data_csv() -> Response:
    period = queries.open_data_period(today_in_japan())
    body = downloads.open_data_csv(queries.open_data(period))
    response = Response(body, 200, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = "attachment; filename=madoguchi-open-data.csv"
    return _public(response)


def _public(response: Response) -> Response:
    response.headers["Cache-Control"] = f"public, max-age={OPEN_DATA_MAX_AGE}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _portal_form() -> PortalPeriodForm:
    return PortalPeriodForm(
        selector_args(request.args), today_in_japan(), queries.served_municipalities()
    )


def _figures(form: PeriodForm, municipality: Municipality | None) -> queries.Dashboard:
    return queries.dashboard(form.period, municipality, utcnow(), today_in_japan())


def _args(form: PeriodForm) -> dict[str, str]:
    args = form.period.as_args()
    if isinstance(form, PortalPeriodForm) and form.chosen is not None:
        args["municipality"] = str(form.chosen.id)
    return args


def _presets(form: PeriodForm) -> list[tuple[str, dict[str, str]]]:
    """Links to the usual periods, keeping the municipality chosen."""
    today = today_in_japan()
    extra = {k: v for k, v in _args(form).items() if k == "municipality"}
    return [
        (label, {**Period.ending(today, months).as_args(), **extra})
        for label, months in (
            (_("this month"), 1),
            (_("the last 3 months"), 3),
            (_("the last 12 months"), 12),
        )
    ]


def _page(
    form: PeriodForm, figures: queries.Dashboard, csv_url: str | None, valid: bool
) -> tuple[str, int] | str:
    """The dashboard; with a refused field, the default period's figures and 422."""
    chart: BarChart = life_event_chart(figures)
    page = render_template(
        "kpis/dashboard.html",
        title=page_title(figures),
        form=form,
        figures=figures,
        chart=chart,
        csv_url=csv_url,
        presets=_presets(form),
        number=number,
        abandoned_after=queries.ABANDONED_AFTER_DAYS,
        action=request.path.removesuffix(".csv"),
    )
    return page if valid else (page, 422)


def _csv(figures: queries.Dashboard) -> Response:
    response = Response(
        downloads.dashboard_csv(figures), 200, content_type="text/csv; charset=utf-8"
    )
    name = figures.municipality.code if figures.municipality is not None else "portal"
    period = f"{figures.period.first:%Y%m}-{figures.period.last:%Y%m}"
    response.headers["Content-Disposition"] = f"attachment; filename=kpis-{name}-{period}.csv"
    return response


def page_title(figures: queries.Dashboard) -> str:
    if figures.municipality is None:
        return _("KPIs of the whole portal")
    return _("KPIs of %(municipality)s", municipality=figures.municipality.name)
