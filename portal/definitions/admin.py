"""``/admin/definitions``: the versions of every form and workflow, one version's YAML and its
diff with another, a draft's raw YAML edited, published or discarded, and a published one
retired. Who may do what is in ``portal.access``; what happens is in ``versions``."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from portal import access
from portal.db import db
from portal.definitions import editor, editor_forms, preview, services, versions
from portal.definitions.diff import diff
from portal.definitions.forms import YAML_MAX, DraftForm, ImportForm, NewDraftForm
from portal.definitions.models import DefinitionVersion, VersionState
from portal.definitions.sources import Problem, to_yaml
from portal.japan.clock import utcnow
from portal.journey import flow
from portal.journey.fields.page import page_form
from portal.tenancy.models import Municipality

bp = Blueprint("definitions_admin", __name__, url_prefix="/admin/definitions")

#: Publishing asks for a sign-in this recent.
FRESH_SIGN_IN = timedelta(minutes=15)
STATE_LABELS = {
    VersionState.DRAFT: _l("Draft"),
    VersionState.PUBLISHED: _l("Published"),
    VersionState.RETIRED: _l("Retired"),
}
ACTION_LABELS = {
    "added": _l("Added"),
    "removed": _l("Removed"),
    "moved": _l("Moved"),
    "changed": _l("Changed"),
}


@bp.app_template_global()
def state_label(state: VersionState) -> str:
    return str(STATE_LABELS[state])


@bp.app_template_global()
def change_label(action: str) -> str:
    return str(ACTION_LABELS[action])


@bp.app_template_filter()
def definition_value(value: Any) -> str:
    """A part of a definition as its JSON, Japanese as written (``tojson`` escapes it)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@bp.get("/")
@access.requires(access.DEFINITIONS_ADMIN)
def index() -> str:
    return _index(access.definitions_admin_or_404())


def _index(account: Any, import_form: ImportForm | None = None) -> str:
    """Forms by ministry, workflows and the vocabulary, national first, then the overrides of
    the municipalities this admin manages, each key with its versions newest first."""
    scopes = _scopes(account)
    local_ids = [m.id for m in scopes if m is not None]
    query = select(DefinitionVersion).where(
        DefinitionVersion.municipality_id.is_(None)
        | DefinitionVersion.municipality_id.in_(local_ids)
    )
    groups: dict[tuple[int, str], dict[str, list[DefinitionVersion]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in db.session.scalars(query.order_by(DefinitionVersion.version.desc())):
        groups[(row.municipality_id or 0, _group(row))][row.key].append(row)
    municipalities = {m.id: m for m in scopes if m is not None}
    return render_template(
        "definitions/index.html",
        groups=sorted(groups.items()),
        municipalities=municipalities,
        import_form=import_form or ImportForm(scopes, formdata=None),
    )


def _group(row: DefinitionVersion) -> str:
    if row.kind == "form":
        return "form:" + row.key.split(".", 1)[0]
    return row.kind


@bp.get("/versions/<int:version_id>")
@access.requires(access.DEFINITION_VERSION_ADMIN)
def version(version_id: int) -> str:
    found = access.definition_version_or_404(version_id)
    return _version_page(found)


def _version_page(
    found: DefinitionVersion,
    draft_form: DraftForm | None = None,
    status: int = 200,
    refusal: Any = None,
    problems: list[Problem] | None = None,
) -> Any:
    account = current_user._get_current_object()
    scope = versions.scope_of(found)
    may_change = access.may_change_scope(account, scope.municipality)
    if draft_form is None and found.state == VersionState.DRAFT:
        draft_form = DraftForm(formdata=None, text=found.source_text or to_yaml(found.content))
    if draft_form is not None and found.state == VersionState.DRAFT and status == 200:
        _show_problems(draft_form, versions.problems_of(found))
    others = versions.versions_of(found.kind, found.key, scope)
    page = render_template(
        "definitions/version.html",
        version=found,
        municipality=scope.municipality,
        yaml_text=found.source_text or to_yaml(found.content),
        draft_form=draft_form if may_change else None,
        new_draft_form=_new_draft_form(account, found),
        may_change=may_change,
        others=[v for v in others if v.id != found.id],
        refusal=refusal,
        problems=problems or [],
    )
    return (page, status) if status != 200 else page


def _show_problems(form: DraftForm, problems: list[Problem]) -> None:
    for problem in problems:
        form.refuse(problem.localized())


def _scopes(account: Any) -> list[Municipality | None]:
    """Where this admin may make drafts: national (a portal admin), and each municipality
    it manages (a portal admin: those that already have versions of their own)."""
    if access.is_portal_admin(account):
        ids = select(DefinitionVersion.municipality_id).where(
            DefinitionVersion.municipality_id.is_not(None)
        )
        local = db.session.scalars(select(Municipality).where(Municipality.id.in_(ids))).all()
        return [None, *local]
    return list(access.managed_municipalities(account))


def _new_draft_form(account: Any, found: DefinitionVersion) -> NewDraftForm | None:
    if found.state == VersionState.DRAFT:
        return None
    scopes = _scopes(account)
    if found.municipality_id is not None:
        scopes = [m for m in scopes if m is not None and m.id == found.municipality_id]
    if not scopes:
        return None
    default = str(found.municipality_id) if found.municipality_id else ""
    return NewDraftForm(scopes, default=default, formdata=None)


@bp.post("/versions/<int:version_id>")
@access.requires(access.DEFINITION_VERSION_ADMIN)
def save(version_id: int) -> Any:
    """Save a draft's YAML, faults and all; a draft with faults is shown again (422), its
    text as typed, each fault beside the textarea and in the summary."""
    found = access.definition_version_or_404(version_id, change=True)
    form = DraftForm()
    if found.state != VersionState.DRAFT:
        return _version_page(found, status=422, refusal=_("A published version never changes"))
    if not form.validate():
        return _version_page(found, form, 422)
    seen = request.form.get("digest")
    if seen is not None and seen != found.digest:  # changed in another tab since drawn
        return _version_page(found, form, 409, refusal=STALE_YAML)
    problems = versions.save_draft(found, form.text.data, actor=current_user)
    if problems:
        _show_problems(form, problems)
        return _version_page(found, form, 422)
    flash(_("Draft saved. It is not live until it is published."), "success")
    return redirect(url_for(".version", version_id=found.id), 303)


@bp.post("/versions/<int:version_id>/publish")
@access.requires(access.DEFINITION_VERSION_ADMIN)
def publish(version_id: int) -> Any:
    """Publish a draft; an admin who signed in more than 15 minutes ago signs in again first
    and comes back to the version's page."""
    found = access.definition_version_or_404(version_id, change=True)
    page = url_for(".version", version_id=found.id)
    signed_in = current_user.last_signed_in_at
    if signed_in is None or utcnow() - signed_in > FRESH_SIGN_IN:
        flash(_("Sign in again to publish: your last sign-in was over 15 minutes ago."), "info")
        return redirect(url_for("auth.staff_login", next=page), 303)
    try:
        versions.publish(found, actor=current_user)
    except versions.VersionRefused as refused:
        form = None
        if found.state == VersionState.DRAFT:
            form = DraftForm(formdata=None, text=found.source_text or to_yaml(found.content))
            _show_problems(form, refused.problems)
        return _version_page(found, form, 422, refusal=refused.message)
    flash(_("Published: new cases use %(label)s.", label=found.label), "success")
    return redirect(page, 303)


@bp.post("/versions/<int:version_id>/draft")
@access.requires(access.DEFINITION_VERSION_ADMIN)
def new_draft(version_id: int) -> Any:
    """A draft of this version's key, for the national definitions or one municipality."""
    found = access.definition_version_or_404(version_id)
    account = current_user._get_current_object()
    choice = request.form.get("scope", str(found.municipality_id or ""))
    scope_id = int(choice) if choice.isdecimal() and len(choice) < 10 else None
    if choice and scope_id is None:
        return _version_page(found, status=422, refusal=_("Choose where the draft is for"))
    municipality = access.definition_scope_or_404(scope_id)
    try:
        draft = versions.create_draft(
            found.kind, found.key, actor=account, scope=versions.Scope(municipality)
        )
    except versions.VersionRefused as refused:
        flash(refused.message, "error")
        return redirect(url_for(".version", version_id=found.id), 303)
    return redirect(url_for(".version", version_id=draft.id), 303)


@bp.post("/versions/<int:version_id>/discard")
@access.requires(access.DEFINITION_VERSION_ADMIN)
def discard(version_id: int) -> Response:
    found = access.definition_version_or_404(version_id, change=True)
    try:
        versions.discard(found, actor=current_user)
    except versions.VersionRefused as refused:
        flash(refused.message, "error")
        return redirect(url_for(".version", version_id=found.id), 303)
    flash(_("Draft discarded."), "success")
    return redirect(url_for(".index"), 303)


@bp.post("/versions/<int:version_id>/retire")
@access.requires(access.DEFINITION_VERSION_ADMIN)
def retire(version_id: int) -> Any:
    found = access.definition_version_or_404(version_id, change=True)
    try:
        versions.retire(found, actor=current_user)
    except versions.VersionRefused as refused:
        return _version_page(found, status=422, refusal=refused.message, problems=refused.problems)
    flash(_("Retired: new cases use the version published before it."), "success")
    return redirect(url_for(".version", version_id=found.id), 303)


@bp.get("/versions/<int:version_id>/diff")
@access.requires(access.DEFINITION_VERSION_ADMIN)
def compare(version_id: int) -> str:
    """What changed from another version of the same key (``?against=``; by default the one
    numbered before it) to this one."""
    found = access.definition_version_or_404(version_id)
    scope = versions.scope_of(found)
    others = [v for v in versions.versions_of(found.kind, found.key, scope) if v.id != found.id]
    if scope.municipality is not None:
        others += versions.versions_of(found.kind, found.key)
    asked = request.args.get("against", "")
    against = next((v for v in others if str(v.id) == asked), None)
    if against is None:
        against = next((v for v in others if v.version < found.version), None)
    changes = diff(found.kind, against.content, found.content) if against is not None else []
    return render_template(
        "definitions/diff.html", version=found, against=against, others=others, changes=changes
    )


@bp.get("/versions/<int:version_id>/export")
@access.requires(access.DEFINITION_VERSION_ADMIN)
def export(version_id: int) -> Response:
    """The version as its file in the repository's tree (``definitions export`` writes the
    same), to keep, commit or import elsewhere."""
    found = access.definition_version_or_404(version_id)
    response = Response(to_yaml(found.content), mimetype="application/yaml")
    name = found.source_file.rsplit("/", 1)[-1]
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.post("/import")
@access.requires(access.DEFINITIONS_ADMIN)
def import_file() -> Any:
    """One exported file made a draft, for the national definitions or one municipality."""
    account = access.definitions_admin_or_404()
    form = ImportForm(_scopes(account))
    text = form.text() if form.validate() else None
    if text is None:
        return _index(account, form), 422
    choice = form.scope.data or ""
    municipality = access.definition_scope_or_404(int(choice) if choice else None)
    try:
        draft = versions.import_text(text, actor=account, scope=versions.Scope(municipality))
    except versions.VersionRefused as refused:
        form.refuse(refused.message)
        return _index(account, form), 422
    flash(
        _("Imported as %(label)s, a draft: check it, then publish it.", label=draft.label),
        "success",
    )
    return redirect(url_for(".version", version_id=draft.id), 303)


# Preview ---------------------------------------------------------------------------------


@bp.route("/versions/<int:version_id>/preview", methods=["GET", "POST"])
@access.requires(access.DEFINITION_VERSION_ADMIN)
def preview_page(version_id: int) -> Any:
    """A version's pages as a resident sees them (``?page=``, the first by default), with no
    case made and nothing stored: what is posted is checked as the journey checks it, then
    the next page is shown; errors show on the page (422), nothing typed lost."""
    found = access.definition_version_or_404(version_id)
    try:
        shown = preview.preview_of(found)
    except preview.NotPreviewable as refused:
        return render_template(
            "definitions/preview.html", version=found, refusal=refused, preview=None
        )
    answers = preview.answers_from(request.args.get("answers"))
    slug = request.args.get("page", "")
    current = shown.page(slug) if slug else next(iter(shown.pages_for(answers)), None)
    if current is None:
        abort(404)
    if current.kind == flow.PROCEDURES:
        return _preview_render(found, shown, current, None, answers)
    form = page_form(current.fields, answers)
    status = 200
    if request.method == "POST":
        if (lookup := form.lookup_request()) is not None:
            form.fill_from_postal_code(lookup)
        elif form.group_action() is None:
            if form.validate():
                answers = {**answers, **form.answers()}
                following = shown.next_after(current, answers) or current
                if following is current:
                    done = _("Every answer on the last page is valid. Nothing was saved.")
                    flash(done, "success")
                target = url_for(
                    ".preview_page",
                    version_id=found.id,
                    page=following.slug,
                    answers=preview.answers_token(answers),
                )
                return redirect(target, 303)
            status = 422
    return _preview_render(found, shown, current, form, answers), status


def _preview_render(
    found: DefinitionVersion,
    shown: preview.Preview,
    current: flow.Page,
    form: Any,
    answers: dict[str, Any],
) -> str:
    pages = shown.pages_for(answers)
    if current not in pages:  # a page these answers skip, opened by its link
        pages = shown.pages
    position = pages.index(current)
    carried = preview.answers_token(answers)
    before = pages[position - 1] if position > 0 else None
    return render_template(
        "definitions/preview.html",
        version=found,
        preview=shown,
        pages=pages,
        page=current,
        form=form,
        position=position + 1,
        carried=carried,
        applies=shown.applies(answers) if answers else {},
        back=url_for(".preview_page", version_id=found.id, page=before.slug, answers=carried)
        if before
        else None,
    )


# The structured editor ----------------------------------------------------------------------
# Beside the raw YAML: the common changes, made on the draft's content and saved through
# ``versions.save_draft`` (``portal.definitions.editor``). A published version is never
# edited: its editor page sends back to the version (302), a change to it is refused (409).


STALE_YAML = _l(
    "This draft was changed (in another tab, or by another admin) after this page was drawn: "
    "nothing was saved. Your YAML is kept below: copy what you need, then open the draft again."
)


def _editor_form(found: DefinitionVersion, content: dict[str, Any], formdata: Any = None) -> Any:
    catalog = services.current_catalog()
    if found.kind == "form":
        form, layout = editor_forms.form_editor(content, dict(catalog.vocabulary), formdata)
    else:
        form, layout = editor_forms.workflow_editor(
            content, dict(catalog.vocabulary), dict(catalog.forms), formdata
        )
    if formdata is None:
        form.digest.data = found.digest
    return form, layout


def _editor_page(
    found: DefinitionVersion,
    form: Any,
    layout: Any,
    status: int = 200,
    refusal: Any = None,
    unsaved: list[tuple[str, str]] | None = None,
) -> Any:
    page = render_template(
        "definitions/editor.html",
        version=found,
        municipality=versions.scope_of(found).municipality,
        form=form,
        layout=layout,
        languages=editor_forms.languages(),
        operators=editor.OPERATORS,
        refusal=refusal,
        unsaved=unsaved or [],
        drops_comments=editor.has_comments(found.source_text),
    )
    return (page, status) if status != 200 else page


@bp.get("/versions/<int:version_id>/editor")
@access.requires(access.DEFINITION_VERSION_ADMIN)
def structured(version_id: int) -> Any:
    """The structured editor of a form's or a workflow's draft, its faults beside each row."""
    found = access.definition_version_or_404(version_id, change=True)
    if not editor.editable(found):
        flash(_("Only a draft of a form or a workflow has a structured editor."), "info")
        return redirect(url_for(".version", version_id=found.id))
    form, layout = _editor_form(found, found.content)
    form.place(versions.problems_of(found))
    return _editor_page(found, form, layout)


@bp.post("/versions/<int:version_id>/editor")
@access.requires(access.DEFINITION_VERSION_ADMIN)
def structured_save(version_id: int) -> Any:
    """Apply what was typed and the button pressed (``action``), then save as the raw YAML
    is saved. Faults: 422, each beside its row, what was typed kept. A draft changed since
    the page was drawn, or one no longer a draft: 409, nothing overwritten."""
    found = access.definition_version_or_404(version_id, change=True)
    if not editor.editable(found):
        refusal = _("A published version never changes: make a new draft")
        if found.state == VersionState.DRAFT:
            refusal = _("Edit this definition in its YAML")
        return _version_page(found, status=409, refusal=refusal)
    base = _pending(request.form.get("pending", ""))
    if base is None:
        return _version_page(
            found, status=422, refusal=_("The editor's page was damaged: open it again")
        )
    form, layout = _editor_form(found, base or found.content, request.form)
    if form.digest.data != found.digest:
        return _stale(found, form)
    action = request.form.get("action", "save")[:40]
    if not form.validate():
        return _editor_page(found, form, layout, 422)
    if found.kind == "form":
        data = editor_forms.apply_form(form, base or found.content, layout)
        acted = editor_forms.act_on_form(form, data, action)
    else:
        vocabulary = dict(services.current_catalog().vocabulary)
        types = editor_forms.condition_items(base or found.content, vocabulary)
        data = editor_forms.apply_workflow(form, base or found.content, layout, types)
        acted = editor_forms.act_on_workflow(form, data, action)
    if form.errors or not acted:
        return _editor_page(found, form, layout, 422)
    seen = form.digest.data or ""
    try:
        problems = editor.save(found, data, seen=seen, actor=current_user)
    except editor.StaleDraft:
        return _stale(found, form)
    if problems:  # the 422 rolls the save back: the page carries the changed content on
        shown_form, shown_layout = _editor_form(found, data)
        shown_form.digest.data = seen
        shown_form.pending.data = json.dumps(data, ensure_ascii=False)
        shown_form.place(problems)
        return _editor_page(found, shown_form, shown_layout, 422)
    flash(_("Draft saved. It is not live until it is published."), "success")
    return redirect(url_for(".structured", version_id=found.id), 303)


def _pending(text: str) -> dict[str, Any] | None:
    """The content a page with faults carries ({} when none); None when it is not one."""
    if not text:
        return {}
    if len(text) > YAML_MAX:
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # a 100,000-deep list
        return None
    return data if isinstance(data, dict) and data else None


def _stale(found: DefinitionVersion, typed: Any) -> Any:
    """The draft as it is now, and what this admin typed beside it, unsaved, to redo."""
    form, layout = _editor_form(found, found.content)
    unsaved = []
    for bound in typed:
        comparable = bound.type in ("StringField", "SelectField") and bound.name in form
        if comparable and (bound.data or "") != (form[bound.name].data or ""):
            unsaved.append((str(bound.label.text), str(bound.data or "")))
    refusal = _(
        "This draft was changed (in another tab, or by another admin) after this page was "
        "drawn: nothing was saved. It is shown as it is now; what you typed is listed below."
    )
    return _editor_page(found, form, layout, 409, refusal=refusal, unsaved=unsaved)
