"""The resident's journey, page by page. Thin: load and check access, then call a service."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from portal import access
from portal.definitions.services import current_catalog
from portal.journey import flow, services
from portal.journey.fields.page import page_form
from portal.journey.forms import DiscardForm, ProceduresForm, StartForm, SubmitForm
from portal.journey.models import Case
from portal.journey.presenter import Journey

bp = Blueprint("journey", __name__, url_prefix="/cases")

Page = Response | str | tuple[str, int]


@bp.post("/")
@access.requires(access.SIGNED_IN)
def start() -> Response:
    form = StartForm()
    workflow = current_catalog().workflow(form.workflow.data or "") if form.validate() else None
    if workflow is None:
        abort(404)
    case = services.start_case(current_user, workflow.id)
    return redirect(url_for("journey.resume", case_id=case.id))


@bp.get("/<int:case_id>")
@access.requires(access.FILER)
def resume(case_id: int) -> Response:
    case = access.case_or_404(case_id)
    if not case.is_draft:
        return redirect(url_for("journey.receipt", case_id=case.id))
    journey = Journey(case)
    page = flow.first_unfinished(journey.pages, case.completed_pages)
    return redirect(journey.url(page))


@bp.route("/<int:case_id>/<slug>", methods=["GET", "POST"])
@access.requires(access.FILER)
def page(case_id: int, slug: str) -> Page:
    case = access.case_or_404(case_id, for_update=request.method == "POST")
    if not case.is_draft:
        return redirect(url_for("journey.receipt", case_id=case.id))
    journey = Journey(case)
    current = journey.page(slug)
    if current is None:
        abort(404)
    reachable = flow.first_unfinished(journey.pages, case.completed_pages)
    if journey.index(current) > journey.index(reachable):
        return redirect(journey.url(reachable))
    if current.kind == flow.PROCEDURES:
        return _procedures_page(journey)
    if current.kind == flow.CHECK:
        return _check_page(journey, SubmitForm())
    return _question_page(journey, current)


def _question_page(journey: Journey, current: flow.Page) -> Page:
    case = journey.case
    form = page_form(
        current.fields,
        case.answers,
        locked=set(case.locked_keys),
        files=(
            {a.field_key: a.filename for a in case.attachments}
            if any(f.item.type == "file" for f in current.fields)
            else {}
        ),
    )
    if request.method == "POST":
        if (lookup := form.lookup_request()) is not None:
            if not form.fill_from_postal_code(lookup):
                return journey.render("journey/page.html", current, form=form), 422
        elif form.group_action() is not None:
            pass  # an entry was added or removed: show the page again
        elif form.validate() and _store_uploads(case, form):
            correction = services.save_page(case, current, form.answers())
            if correction is not None:
                flash(correction.message, "info")
            return redirect(journey.after(current))
        else:
            return journey.render("journey/page.html", current, form=form), 422
    return journey.render("journey/page.html", current, form=form)


def _store_uploads(case: Case, form: Any) -> bool:
    """Attach each chosen file; a refused one gets its message beside its field."""
    stored = True
    for key, upload in form.uploads().items():
        try:
            services.attach(case, key, upload)
        except services.InvalidUpload as refused:
            form.field_for(key).errors.append(refused.message)
            stored = False
    return stored


def _procedures_page(journey: Journey) -> Page:
    case = journey.case
    optional = [p for p in journey.procedures if p.entry.optional]
    form = ProceduresForm()
    form.included.choices = [SelectChoice(p.form_id, str(p.form.title)) for p in optional]
    if request.method == "GET":
        form.included.data = [p.form_id for p in optional if p.included]
    elif form.validate():
        chosen = set(form.included.data or [])
        services.choose_procedures(case, [p.form_id for p in optional if p.form_id not in chosen])
        return redirect(journey.after(journey.page("procedures")))
    return journey.render(
        "journey/procedures.html", journey.page("procedures"), form=form, rows=journey.rows()
    )


def _check_page(journey: Journey, form: SubmitForm) -> Page:
    return journey.render(
        "journey/check.html",
        journey.page("check"),
        form=form,
        groups=journey.summary(),
        missing=journey.missing(),
        rows=journey.rows(),
    )


@bp.post("/<int:case_id>/submit")
@access.requires(access.FILER)
def submit(case_id: int) -> Page:
    case = access.case_or_404(case_id, for_update=True)
    if not case.is_draft:
        return redirect(url_for("journey.receipt", case_id=case.id))
    journey = Journey(case)
    form = SubmitForm()
    if journey.missing() or not form.validate():
        return _check_page(journey, form), 422
    services.submit(case)
    return redirect(url_for("journey.receipt", case_id=case.id))


@bp.get("/<int:case_id>/receipt")
@access.requires(access.FILER)
def receipt(case_id: int) -> Page:
    case = access.case_or_404(case_id)
    if case.is_draft:
        return redirect(url_for("journey.resume", case_id=case.id))
    return render_template(
        "journey/receipt.html",
        case=case,
        journey=Journey(case),
        sent=[r for r in case.requests if r.online],
        at_counter=[r for r in case.requests if not r.online],
    )


@bp.post("/<int:case_id>/discard")
@access.requires(access.FILER)
def discard(case_id: int) -> Response:
    case = access.case_or_404(case_id, for_update=True)
    if case.is_draft and DiscardForm().validate():
        services.discard(case)
    return redirect(url_for("dashboard.home"))


@bp.get("/<int:case_id>/attachments/<int:attachment_id>")
@access.requires(access.DOCUMENT_READER)
def attachment(case_id: int, attachment_id: int) -> Response:
    found = access.attachment_or_404(case_id, attachment_id)
    return send_file(
        services.attachment_path(found),
        mimetype=found.content_type,
        as_attachment=True,
        download_name=found.filename,
    )
