"""Staff home, a department's queue, a request's page and a municipality's overview, each
behind ``portal.access``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import access
from portal.accounts.queries import staff_roles_in
from portal.casework import services as casework
from portal.casework.lifecycle import Action
from portal.staff.forms import FORMS, ActionForm, CorrectionForm, posted_action
from portal.staff.presenter import RequestPage

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.get("/")
@access.requires(access.STAFF)
def home() -> str:
    return render_template(
        "staff/home.html",
        departments=access.workable_departments(current_user),
        municipalities=access.managed_municipalities(current_user),
    )


@bp.get("/departments/<int:department_id>")
@access.requires(access.DEPARTMENT_STAFF)
def department(department_id: int) -> str:
    return render_template(
        "staff/department.html", department=access.department_or_404(department_id)
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
    return FORMS[action](version, formdata)


def _targets(form: ActionForm) -> dict[str, Any]:
    if isinstance(form, CorrectionForm):
        return {"fields": form.answers.data or [], "documents": form.documents.data or []}
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
    )
