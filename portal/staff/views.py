"""Staff home, a department's queue, a request's page and a municipality's overview, each
behind ``portal.access``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import access
from portal.accounts.queries import staff_roles_in
from portal.casework import queue
from portal.casework import services as casework
from portal.casework.lifecycle import Action
from portal.certificates import services as certificates
from portal.japan.clock import today_in_japan
from portal.replica import reads_from_replica
from portal.staff.forms import (
    FORMS,
    ActionForm,
    AssignForm,
    BulkAssignForm,
    CorrectionForm,
    posted_action,
)
from portal.staff.presenter import RequestPage
from portal.tenancy.models import Department

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.get("/")
@access.requires(access.STAFF)
def home() -> str:
    departments = access.workable_departments(current_user)
    return render_template(
        "staff/home.html",
        departments=departments,
        open_counts=queue.open_counts(departments),
        municipalities=access.managed_municipalities(current_user),
        portal_admin=access.is_portal_admin(current_user),
        administers_definitions=access.administers_definitions(current_user),
    )


@bp.get("/departments/<int:department_id>")
@access.requires(access.DEPARTMENT_STAFF)
@reads_from_replica
def department(department_id: int) -> str:
    """The department's queue: counts per state, then its requests by adjusted deadline,
    narrowed by the GET parameters (a bad one is ignored, and the page says so)."""
    return _queue(access.department_or_404(department_id))


@bp.post("/departments/<int:department_id>/claim-next")
@access.requires(access.DEPARTMENT_STAFF)
def claim_next(department_id: int) -> Response:
    department = access.department_or_404(department_id)
    back = redirect(url_for("staff.department", department_id=department.id), 303)
    try:
        claimed = casework.claim_next(department, current_user)
    except casework.NotAllowed as refusal:
        flash(refusal.message, "error")
        return back
    except casework.StaleRequest:
        flash(_("Another clerk claimed that request first. Try again."), "error")
        return back
    if claimed is None:
        flash(_("No new request is waiting to be claimed."), "info")
        return back
    flash(_("You now hold %(receipt)s.", receipt=claimed.case.receipt_number), "success")
    return redirect(url_for("staff.request", request_id=claimed.id), 303)


@bp.post("/departments/<int:department_id>/assign")
@access.requires(access.DEPARTMENT_SUPERVISOR)
def assign_bulk(department_id: int) -> Response | tuple[str, int]:
    """A supervisor assigns the ticked requests to a clerk, with a reason; each request that
    could not be is named by its receipt number, the others are assigned. Invalid: the
    queue again (422), with what was ticked and typed."""
    department = access.supervised_department_or_404(department_id)
    form = BulkAssignForm(request.form, clerks=queue.department_clerks(department))
    if not form.validate():
        return _queue(department, form), 422
    assignee = form.assignee_account
    assert assignee is not None  # the form's choices are the department's clerks
    try:
        assigned, refused = casework.assign_many(
            department, form.chosen, assignee, current_user, form.reason.data or ""
        )
    except casework.StaleRequest:
        form.submit.errors = [_("A request changed while they were assigned: none was. Try again.")]
        return _queue(department, form), 409
    if assigned:
        flash(
            ngettext(
                "Assigned %(num)d request to %(name)s.",
                "Assigned %(num)d requests to %(name)s.",
                len(assigned),
                name=assignee.staff_name,
            ),
            "success",
        )
    for refusal in refused:
        flash(
            _(
                "%(receipt)s was not assigned: %(why)s",
                receipt=refusal.receipt_number,
                why=refusal.message,
            ),
            "error",
        )
    if not assigned and not refused:
        flash(_("None of the ticked requests is in this queue any more."), "error")
    return redirect(
        url_for("staff.department", department_id=department.id, **_filter_args(department)), 303
    )


def _filter_args(department: Department) -> dict[str, str]:
    """The queue's filters of this URL, to show the same queue again after a POST."""
    choices = [form_id for form_id, _title in queue.form_choices(department)]
    return queue.read_filters(request.args, choices).filters.as_args()


def _queue(department: Department, assign: BulkAssignForm | None = None) -> str:
    form_choices = queue.form_choices(department)
    read = queue.read_filters(request.args, [form_id for form_id, _title in form_choices])
    today = today_in_japan()
    supervising = access.may_supervise(current_user, department)
    if supervising and assign is None:
        assign = BulkAssignForm(clerks=queue.department_clerks(department))
    return render_template(
        "staff/department.html",
        department=department,
        counts=queue.state_counts(department, current_user),
        count_cap=queue.COUNT_CAP,
        page=queue.page(department, current_user, read.filters, today),
        filters=read.filters,
        ignored=read.ignored,
        form_choices=form_choices,
        states=queue.QUEUE_STATES,
        assign=assign if supervising else None,
        due_soon_days=queue.DUE_SOON_DAYS,
    )


@bp.get("/municipalities/<int:municipality_id>")
@access.requires(access.MUNICIPALITY_ADMIN)
def municipality(municipality_id: int) -> str:
    municipality = access.municipality_or_404(municipality_id)
    return render_template(
        "staff/municipality.html",
        municipality=municipality,
        roles=staff_roles_in(municipality),
    )


@bp.route("/requests/<int:request_id>", methods=["GET", "POST"], endpoint="request")
@access.requires(access.REQUEST_WORKER)
def request_page(request_id: int) -> Response | str | tuple[str, int]:
    """The request, its history and the actions offered; a POST carries out one of them
    through the casework service and comes back here. Refused: 422, what was typed kept;
    changed since the page was drawn: 409, with what changed and what was typed."""
    filed = access.request_or_404(request_id)
    page = RequestPage(filed, current_user)
    if request.method == "GET":
        casework.opened_by(filed, current_user)
        return _render(page)
    action = posted_action(request.form)
    if action is None:
        return _render(page, problem=_("Choose one of the actions on this page.")), 422
    form = _form(page, action, request.form)
    if not form.validate():
        return _render(page, posted=form), 422
    try:
        casework.act(
            filed,
            action,
            current_user,
            expected_version=form.posted_version,
            reason=form.reason_text,
            **_targets(form),
        )
    except casework.StaleRequest as stale:
        since = stale.events or casework.events_since(filed, form.posted_version)
        form.show_version(filed.version)
        return _render(page, posted=form, changed=page.history(since)), 409
    except casework.NotAllowed as refusal:
        form.refuse(refusal.message)
        return _render(page, posted=form), 422
    flash(_("Done: %(action)s.", action=action.label), "success")
    return redirect(url_for("staff.request", request_id=filed.id), 303)


def _form(page: RequestPage, action: Action, formdata: Any = None) -> ActionForm:
    version = page.request.version
    if action is Action.ASK_CORRECTION:
        return CorrectionForm(
            version,
            formdata,
            answer_choices=page.answer_choices,
            document_choices=page.document_choices,
        )
    if action is Action.ASSIGN and page.request.department is not None:
        return AssignForm(
            version, formdata, clerks=queue.department_clerks(page.request.department)
        )
    return FORMS[action](version, formdata)


def _targets(form: ActionForm) -> dict[str, Any]:
    if isinstance(form, CorrectionForm):
        return {"fields": form.answers.data or [], "documents": form.documents.data or []}
    if isinstance(form, AssignForm):
        return {"assignee": form.assignee_account}
    return {}


def _render(
    page: RequestPage,
    *,
    posted: ActionForm | None = None,
    changed: list[Any] | None = None,
    problem: str | None = None,
) -> str:
    """The page with a fresh form for each action offered; the posted one as it was sent
    (offered or not any more, so that nothing typed is lost)."""
    forms = {action: _form(page, action) for action in page.offered}
    if posted is not None:
        forms[posted.action] = posted
    return render_template(
        "staff/request.html",
        page=page,
        filed=page.request,
        forms=forms,
        posted=posted,
        changed=changed,
        problem=problem,
        certificates=certificates.of_request(page.request),
    )
