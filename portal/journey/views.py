"""The resident's journey, page by page. Thin: load and check access, then call a service."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from portal import access
from portal.audit.models import AccessPurpose
from portal.bookings import services as bookings
from portal.casework import lifecycle
from portal.casework import services as casework
from portal.casework.lifecycle import Action, Actor, RequestStatus
from portal.certificates import services as certificates
from portal.definitions.services import current_catalog
from portal.japan.clock import today_in_japan
from portal.journey import corrections, files, flow, services
from portal.journey.fields.page import FROM_REQUEST, PageForm, page_form
from portal.journey.forms import ProceduresForm, StartForm, SubmitForm, WithdrawForm
from portal.journey.models import Attachment, Case, ProcedureRequest
from portal.journey.presenter import Journey
from portal.web.forms import ConfirmForm

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
        return _check_page(journey)
    return _question_page(journey, current)


def _question_page(journey: Journey, current: flow.Page) -> Page:
    """A page of questions. A POST that cannot be saved (errors, "Find address", an entry
    added or removed) keeps what was typed with the draft and redirects to this page's GET,
    which shows it again: Back and reload never ask to resubmit a form."""
    case = journey.case
    unsaved = services.unsaved_for(case, current) if request.method == "GET" else None
    form = page_form(
        current.fields,
        case.answers,
        formdata=_replayed(unsaved) if unsaved else FROM_REQUEST,
        locked=set(case.locked_keys),
        files=(
            {a.field_key: a.filename for a in case.attachments}
            if any(f.item.type == "file" for f in current.fields)
            else {}
        ),
    )
    if request.method == "POST":

        def save() -> Response:
            correction = services.save_page(case, current, form.answers())
            if correction is not None:
                flash(correction.message, "info")
            return redirect(journey.after(current))

        again = journey.url(current, **request.args.to_dict())
        return _posted_page(case, current, form, save, again)
    refused_again = _shown_again(form, unsaved)
    return journey.render("journey/page.html", current, form=form), 422 if refused_again else 200


def _posted_page(
    case: Case,
    current: flow.Page,
    form: PageForm,
    save: Callable[[], Response],
    again: str,
    replacing: dict[str, Attachment] | None = None,
) -> Response:
    """A page's POST, for a journey page and a correction alike: ``save`` it when it is
    valid and its uploads are stored; else (errors, "Find address", an entry added or
    removed) keep what was typed with the case and redirect to ``again``, its GET."""
    refused: dict[str, list[str]] = {}
    if form.lookup_request() is None and form.group_action() is None:
        if form.validate():
            refused = _store_uploads(case, form, replacing=replacing)
            if not refused:
                return save()
        else:
            refused = form.file_errors()
    services.keep_unsaved(case, current, request.form.items(multi=True), refused)
    return redirect(again)


def _shown_again(form: PageForm, unsaved: dict[str, Any] | None) -> bool:
    """Show what was posted again as the POST would have shown it (the address found, the
    errors); whether it shows errors: the page says so in its status too, as the POST did."""
    if unsaved is None:
        return False
    if (lookup := form.lookup_request()) is not None:
        form.fill_from_postal_code(lookup)
    elif form.group_action() is None:
        form.validate()
        for key, messages in unsaved.get("refused", {}).items():
            form.field_for(key).errors = list(messages)
    return any(field.errors for field in form)


def _replayed(unsaved: dict[str, Any]) -> MultiDict[str, str]:
    """The form as it was posted, with this session's CSRF token."""
    formdata = MultiDict([(name, value) for name, value in unsaved["formdata"]])
    formdata["csrf_token"] = generate_csrf()
    return formdata


def _store_uploads(
    case: Case, form: Any, replacing: dict[str, Attachment] | None = None
) -> dict[str, list[str]]:
    """Attach each chosen file; the messages of those refused, by key. ``replacing``: only
    these attachments are replaced (a correction keeps the documents filed)."""
    refused: dict[str, list[str]] = {}
    for key, upload in form.uploads().items():
        replaces = None if replacing is None else [replacing[key]] if key in replacing else []
        try:
            services.attach(case, key, upload, replaces=replaces)
        except services.InvalidUpload as invalid:
            refused[key] = [str(invalid.message)]
    return refused


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
    else:
        return redirect(journey.url(journey.page("procedures")))  # a choice not offered
    return journey.render(
        "journey/procedures.html", journey.page("procedures"), form=form, rows=journey.rows()
    )


def _check_page(journey: Journey) -> Page:
    check = journey.page("check")
    unsaved = services.unsaved_for(journey.case, check)
    form = SubmitForm(formdata=_replayed(unsaved) if unsaved else None)
    if unsaved:
        form.validate()
    return journey.render(
        "journey/check.html",
        check,
        form=form,
        groups=journey.summary(),
        missing=journey.missing(),
        rows=journey.rows(),
    )


@bp.post("/<int:case_id>/submit")
@access.requires(access.FILER)
def submit(case_id: int) -> Response:
    case = access.case_or_404(case_id, for_update=True)
    if not case.is_draft:
        return redirect(url_for("journey.receipt", case_id=case.id))
    journey = Journey(case)
    if journey.missing() or not SubmitForm().validate():
        services.keep_unsaved(case, journey.page("check"), request.form.items(multi=True))
        return redirect(journey.url(journey.page("check")))
    services.submit(case)
    return redirect(url_for("journey.receipt", case_id=case.id))


@bp.get("/<int:case_id>/receipt")
@access.requires(access.FILER)
def receipt(case_id: int) -> Page:
    case = access.case_or_404(case_id)
    if case.is_draft:
        return redirect(url_for("journey.resume", case_id=case.id))
    sent = [r for r in case.requests if r.online]
    return render_template(
        "journey/receipt.html",
        case=case,
        journey=Journey(case),
        sent=sent,
        at_counter=[r for r in case.requests if not r.online],
        visits=bookings.visits(case),
        withdrawable={r.id for r in sent if _may_withdraw(r)},
        today=today_in_japan(),
        certificates=certificates.of_case(case),
    )


def _may_withdraw(filed: ProcedureRequest) -> bool:
    return lifecycle.allowed(Action.WITHDRAW, filed.status, Actor.RESIDENT)


@bp.route("/<int:case_id>/requests/<int:request_id>/correction", methods=["GET", "POST"])
@access.requires(access.REQUEST_FILER)
def correction(case_id: int, request_id: int) -> Page:
    """Answer a clerk's correction: only the answers and documents named, filled from the
    request's own answers. Like a journey page, a POST that cannot be sent keeps what was
    typed and redirects to the GET that shows it again."""
    filed = access.filed_request_or_404(case_id, request_id, for_update=request.method == "POST")
    case = filed.case
    asked = filed.open_correction
    if filed.status is not RequestStatus.WAITING_FOR_RESIDENT or asked is None:
        return _not_waiting(filed)
    current = corrections.page_of(filed, asked)
    uploaded = corrections.uploads_for(filed, asked)
    unsaved = services.unsaved_for(case, current) if request.method == "GET" else None
    form = page_form(
        current.fields,
        filed.answers,
        formdata=_replayed(unsaved) if unsaved else FROM_REQUEST,
        locked=set(case.locked_keys),
        files={key: attachment.filename for key, attachment in uploaded.items()},
    )
    here = url_for("journey.correction", case_id=case.id, request_id=filed.id)
    if request.method == "POST":
        send = partial(_send_correction, filed, form)
        return _posted_page(case, current, form, send, here, replacing=uploaded)
    refused_again = _shown_again(form, unsaved)
    page = render_template(
        "journey/correction.html",
        case=case,
        journey=Journey(case),
        filed=filed,
        correction=asked,
        page=current,
        form=form,
        today=today_in_japan(),
    )
    return page, 422 if refused_again else 200


def _send_correction(filed: ProcedureRequest, form: PageForm) -> Response:
    receipt = url_for("journey.receipt", case_id=filed.case_id)
    try:
        corrections.send(filed, current_user, form.answers())
    except casework.StaleRequest:
        return _not_waiting(filed)
    except casework.NotAllowed as refused:
        flash(refused.message, "error")
        return redirect(receipt)
    title = filed.form_definition.title
    flash(
        _(
            "Your correction to “%(form)s” was sent to %(office)s.",
            form=title,
            office=filed.counter,
        ),
        "success",
    )
    return redirect(receipt)


def _not_waiting(filed: ProcedureRequest) -> Response:
    """A correction page for a request that waits for none (sent twice, or asked by no
    one): say so kindly, and show the receipt with the request's status."""
    last = filed.corrections[-1] if filed.corrections else None
    if last is not None and not last.is_open:
        flash(_("Your correction has been sent already. You do not need to send it again."), "info")
    else:
        flash(
            _(
                "This application does not need a correction from you. Its status is “%(status)s”.",
                status=filed.status.label,
            ),
            "info",
        )
    return redirect(url_for("journey.receipt", case_id=filed.case_id))


@bp.route("/<int:case_id>/requests/<int:request_id>/withdraw", methods=["GET", "POST"])
@access.requires(access.REQUEST_FILER)
def withdraw(case_id: int, request_id: int) -> Page:
    """Withdrawing an application before it is decided is asked first: the GET says what
    it means, its POST withdraws."""
    filed = access.filed_request_or_404(case_id, request_id, for_update=request.method == "POST")
    receipt = url_for("journey.receipt", case_id=filed.case_id)
    title = filed.form_definition.title
    if not _may_withdraw(filed):
        flash(
            _(
                "“%(form)s” can no longer be withdrawn here: its status is “%(status)s”.",
                form=title,
                status=filed.status.label,
            ),
            "info",
        )
        return redirect(receipt)
    form = WithdrawForm()
    if form.validate_on_submit():
        try:
            casework.act(filed, Action.WITHDRAW, current_user, reason=form.reason.data or "")
        except (casework.NotAllowed, casework.StaleRequest):
            flash(
                _(
                    "“%(form)s” could not be withdrawn: its status changed. Check it below.",
                    form=title,
                ),
                "error",
            )
            return redirect(receipt)
        flash(_("You withdrew “%(form)s”.", form=title), "success")
        return redirect(receipt)
    page = render_template(
        "journey/withdraw.html",
        case=filed.case,
        journey=Journey(filed.case),
        filed=filed,
        form=form,
    )
    return page, 422 if form.errors else 200


@bp.route("/<int:case_id>/discard", methods=["GET", "POST"])
@access.requires(access.FILER)
def discard(case_id: int) -> Page:
    """Deleting a draft is asked first: the GET says what will go, its POST deletes."""
    case = access.case_or_404(case_id, for_update=request.method == "POST")
    if not case.is_draft:
        return redirect(url_for("journey.receipt", case_id=case.id))
    form = ConfirmForm()
    if form.validate_on_submit():
        title = Journey(case).workflow.title
        services.discard(case)
        flash(_("Your draft “%(event)s” was deleted.", event=title), "success")
        return redirect(url_for("dashboard.home"))
    return render_template("journey/discard.html", case=case, journey=Journey(case), form=form)


@bp.post("/<int:case_id>/follow-ups/<form_key>")
@access.requires(access.FILER)
def follow_up(case_id: int, form_key: str) -> Response:
    """File a follow-up of a submitted case (after the funeral): resume it, or start it."""
    case = access.case_or_404(case_id, for_update=True)
    if case.is_draft or form_key not in {
        row["procedure"].form_id for row in Journey(case).follow_ups()
    }:
        abort(404)
    follow_up = services.start_follow_up(case, form_key)
    return redirect(url_for("journey.resume", case_id=follow_up.id))


@bp.get("/<int:case_id>/attachments/<int:attachment_id>")
@access.requires(access.DOCUMENT_READER)
def attachment(case_id: int, attachment_id: int) -> Response:
    document = access.document_or_404(case_id, attachment_id)
    if document.read_through is not None:
        casework.opened_by(document.read_through, current_user, AccessPurpose.VIEWED_DOCUMENT)
    found = document.attachment
    return send_file(
        services.attachment_path(found),
        mimetype=found.content_type,
        as_attachment=True,
        # Cleaned again: a name stored before names were cleaned must not break the headers.
        download_name=files.clean_filename(found.filename, found.storage_name.rpartition(".")[2]),
    )
