"""The job queue's page for its operators (what failed for good, its figures, a retry) and
its figures for a monitoring system, each behind ``portal.access``."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from prometheus_client import CONTENT_TYPE_LATEST
from werkzeug.wrappers import Response

from portal import access
from portal.db import on_postgresql
from portal.extensions import csrf
from portal.jobs import failures, metrics, monitoring, operations
from portal.jobs.forms import JobForm
from portal.jobs.queue import STALLED_AFTER_SECONDS

bp = Blueprint("jobs_admin", __name__)

#: procrastinate's statuses as an operator reads them.
STATUS_NAMES = {
    "todo": _l("Waiting"),
    "doing": _l("Running"),
    "succeeded": _l("Succeeded"),
    "failed": _l("Failed"),
    "cancelled": _l("Cancelled"),
    "aborted": _l("Aborted"),
}


@bp.get("/admin/jobs")
@access.requires(access.JOBS_OPERATOR)
def index() -> str:
    access.jobs_operator_or_404()
    if not on_postgresql():
        return render_template(
            "jobs/index.html",
            in_process=True,
            failed=failures.in_process(),
            shown=failures.SHOWN_IN_PROCESS,
            subjects=monitoring.subjects,
        )
    dead = monitoring.dead_jobs()
    return render_template(
        "jobs/index.html",
        in_process=False,
        dead=dead,
        errors=failures.latest_errors(job.id for job in dead),
        figures=monitoring.figures(),
        statuses=monitoring.STATUSES,
        status_names=STATUS_NAMES,
        shown=monitoring.SHOWN_FAILURES,
        stalled_after=STALLED_AFTER_SECONDS,
    )


@bp.post("/admin/jobs/retry")
@access.requires(access.JOBS_OPERATOR)
def retry() -> Response:
    access.jobs_operator_or_404()
    form = JobForm(request.form)
    try:
        if not (on_postgresql() and form.validate()):
            raise operations.NotRetryable(form.job_id.data)
        job = operations.retry(form.job_id.data, current_user)
    except operations.NotRetryable:  # ran again meanwhile, removed, or never one listed
        flash(_("That job is not among the failed ones (any more): nothing was changed."), "info")
    else:
        done = _("Job %(id)d (%(task)s) is back in the queue.", id=job.id, task=job.task_name)
        flash(done, "success")
    return redirect(url_for("jobs_admin.index"), 303)


@bp.get("/metrics")
@access.requires(access.METRICS_SCRAPER)
@csrf.exempt
def metrics_endpoint() -> Response:
    """The queue's figures in Prometheus' text format, for ``PORTAL_METRICS_TOKEN``'s holder."""
    access.metrics_scraper_or_404()
    if not on_postgresql():
        abort(404)  # jobs run in the web process: there is no queue to measure
    body = metrics.exposition(monitoring.figures())
    return Response(body, 200, content_type=CONTENT_TYPE_LATEST)
