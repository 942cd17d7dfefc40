"""The admin pages of department kinds (the portal's) and of a municipality's departments
and counters (its admins'), each behind ``portal.access``; every change goes through
``portal.tenancy.management`` or ``portal.bookings.services``."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import access
from portal.accounts.queries import staff_roles_in
from portal.bookings import services as bookings
from portal.bookings.models import CounterSettings
from portal.japan.clock import today_in_japan
from portal.tenancy import management
from portal.tenancy.forms import (
    ClosedDateForm,
    CounterForm,
    DeleteForm,
    DepartmentForm,
    EditKindForm,
    NewKindForm,
    ReopenForm,
    format_periods,
)
from portal.tenancy.models import Department, DepartmentKind, Municipality

bp = Blueprint("tenancy", __name__, url_prefix="/admin")

Page = Response | str | tuple[str, int]


# Department kinds (the portal's) ---------------------------------------------------------


@bp.route("/department-kinds", methods=["GET", "POST"])
@access.requires(access.PORTAL_ADMIN)
def kinds() -> Page:
    """Every kind, and a form to add one."""
    access.portal_admin_or_404()
    form = NewKindForm.for_languages()(request.form if request.method == "POST" else None)
    if request.method == "POST":
        if form.validate():
            try:
                kind = management.add_kind(form.key.data, form.labels, current_user)
            except management.KindTaken:
                form.key.errors = [_("A kind with this key exists already.")]
            else:
                flash(_("Added the kind %(name)s.", name=kind.label), "success")
                return redirect(url_for("tenancy.kinds"), 303)
        return _kinds_page(form), 422
    return _kinds_page(form)


def _kinds_page(form: NewKindForm) -> str:
    return render_template("tenancy/kinds.html", kinds=management.department_kinds(), form=form)


@bp.route("/department-kinds/<kind_key>", methods=["GET", "POST"])
@access.requires(access.PORTAL_ADMIN)
def kind(kind_key: str) -> Page:
    found = access.department_kind_or_404(kind_key)
    form = EditKindForm.for_languages()(request.form if request.method == "POST" else None)
    if request.method == "GET":
        form.fill(found)
    elif form.validate():
        management.relabel_kind(found, form.labels, current_user)
        flash(_("Saved the names of %(key)s.", key=found.key), "success")
        return redirect(url_for("tenancy.kinds"), 303)
    page = render_template("tenancy/kind.html", kind=found, form=form)
    return (page, 422) if form.errors else page


# A municipality's departments -------------------------------------------------------------


@bp.route("/municipalities/<int:municipality_id>/departments", methods=["GET", "POST"])
@access.requires(access.MUNICIPALITY_ADMIN)
def departments(municipality_id: int) -> Page:
    """Its departments, which kind each handles, and a form to add one."""
    municipality = access.municipality_or_404(municipality_id)
    kinds = management.department_kinds()
    form = DepartmentForm(request.form if request.method == "POST" else None, kinds=kinds)
    if request.method == "POST":
        if form.validate():
            try:
                department = management.add_department(
                    municipality,
                    form.kind.data,
                    form.name_ja.data,
                    form.name_en.data or "",
                    current_user,
                )
            except management.KindHandled as taken:
                form.kind.errors = [_handled_message(taken)]
            else:
                flash(_("Added %(name)s.", name=department.name), "success")
                return redirect(
                    url_for(
                        "tenancy.department",
                        municipality_id=municipality.id,
                        department_id=department.id,
                    ),
                    303,
                )
        return _departments_page(municipality, form, kinds), 422
    return _departments_page(municipality, form, kinds)


def _departments_page(
    municipality: Municipality, form: DepartmentForm, kinds: list[DepartmentKind]
) -> str:
    handled = {d.kind for d in municipality.departments}
    return render_template(
        "tenancy/departments.html",
        municipality=municipality,
        form=form,
        unhandled=[k for k in kinds if k.key not in handled],
        roles=staff_roles_in(municipality),
    )


def _handled_message(taken: management.KindHandled) -> str:
    return _(
        "%(department)s handles this kind already: change its kind first.",
        department=taken.department.name,
    )


@bp.route(
    "/municipalities/<int:municipality_id>/departments/<int:department_id>",
    methods=["GET", "POST"],
)
@access.requires(access.MUNICIPALITY_DEPARTMENT_ADMIN)
def department(municipality_id: int, department_id: int) -> Page:
    """The department's names and kind, its counter and its closed days."""
    department = access.managed_department_or_404(municipality_id, department_id)
    if request.method == "GET":
        return _department_page(department)
    form = DepartmentForm(request.form, kinds=management.department_kinds())
    if form.validate():
        try:
            management.change_department(
                department,
                name_ja=form.name_ja.data,
                name_en=form.name_en.data or "",
                kind=form.kind.data,
                by=current_user,
            )
        except management.KindHandled as taken:
            form.kind.errors = [_handled_message(taken)]
        else:
            flash(_("Saved %(name)s.", name=department.name), "success")
            return _back_to(department)
    return _department_page(department, edit=form), 422


@bp.post("/municipalities/<int:municipality_id>/departments/<int:department_id>/counter")
@access.requires(access.MUNICIPALITY_DEPARTMENT_ADMIN)
def counter(municipality_id: int, department_id: int) -> Page:
    department = access.managed_department_or_404(municipality_id, department_id)
    form = CounterForm(request.form)
    if not form.validate():
        return _department_page(department, counter=form), 422
    bookings.configure_counter(
        department,
        hours=form.hours,
        slot_minutes=form.slot_minutes.data,
        capacity=form.capacity.data,
        bookable_days=form.bookable_days.data,
        open_on_holidays=form.open_on_holidays.data,
        by=current_user,
    )
    flash(_("Saved the counter of %(name)s.", name=department.name), "success")
    return _back_to(department)


@bp.post("/municipalities/<int:municipality_id>/departments/<int:department_id>/closed-days")
@access.requires(access.MUNICIPALITY_DEPARTMENT_ADMIN)
def close_day(municipality_id: int, department_id: int) -> Page:
    department = access.managed_department_or_404(municipality_id, department_id)
    form = ClosedDateForm(request.form)
    if form.validate() and form.day.data < today_in_japan():
        form.day.errors = [_("Choose today or a later day.")]
    if form.errors:
        return _department_page(department, closing=form), 422
    try:
        bookings.close_day(department, form.day.data, form.reason.data or "", by=current_user)
    except bookings.NoCounter:
        form.day.errors = [_("Set the counter's hours first.")]
        return _department_page(department, closing=form), 422
    flash(_("The counter is closed on %(day)s.", day=form.day.data.isoformat()), "success")
    return _back_to(department)


@bp.post("/municipalities/<int:municipality_id>/departments/<int:department_id>/closed-days/reopen")
@access.requires(access.MUNICIPALITY_DEPARTMENT_ADMIN)
def reopen_day(municipality_id: int, department_id: int) -> Page:
    department = access.managed_department_or_404(municipality_id, department_id)
    form = ReopenForm(request.form)
    if not form.validate():
        return _department_page(department, problem=form.day.errors[0]), 422
    if bookings.reopen_day(department, form.day.data, by=current_user):
        flash(_("The counter opens again on %(day)s.", day=form.day.data.isoformat()), "success")
    return _back_to(department)


@bp.route(
    "/municipalities/<int:municipality_id>/departments/<int:department_id>/delete",
    methods=["GET", "POST"],
)
@access.requires(access.MUNICIPALITY_DEPARTMENT_ADMIN)
def delete(municipality_id: int, department_id: int) -> Page:
    """Asks first; a department with requests is never deleted (they stay with it)."""
    department = access.managed_department_or_404(municipality_id, department_id)
    form = DeleteForm(request.form if request.method == "POST" else None)
    # A POST counts them itself, in the transaction that would delete it.
    in_use = management.request_count(department) if request.method == "GET" else 0
    refused = False
    if request.method == "POST":
        try:
            management.delete_department(department, current_user)
        except management.DepartmentInUse as refusal:
            in_use, refused = refusal.count, True
        else:
            flash(_("Deleted %(name)s.", name=department.name), "success")
            return redirect(url_for("tenancy.departments", municipality_id=municipality_id), 303)
    page = render_template(
        "tenancy/delete.html",
        department=department,
        form=form,
        in_use=in_use,
        refused=refused,
        in_use_message=_in_use_message(in_use),
    )
    return (page, 422) if refused else page


def _in_use_message(count: int) -> str:
    return _(
        "This department has %(num)d requests or certificates: it cannot be deleted. Give its"
        " kind to another department instead, or rename it.",
        num=count,
    )


def _back_to(department: Department) -> Response:
    return redirect(
        url_for(
            "tenancy.department",
            municipality_id=department.municipality_id,
            department_id=department.id,
        ),
        303,
    )


def _department_page(
    department: Department,
    *,
    edit: DepartmentForm | None = None,
    counter: CounterForm | None = None,
    closing: ClosedDateForm | None = None,
    problem: str | None = None,
) -> str:
    """The page with a fresh form for each part; the posted one as it was sent."""
    settings = bookings.counter_of(department)
    if edit is None:
        edit = DepartmentForm(kinds=management.department_kinds(), obj=department)
    if counter is None:
        counter = _counter_form(settings)
    return render_template(
        "tenancy/department.html",
        department=department,
        municipality=department.municipality,
        edit=edit,
        counter=counter,
        closing=closing or ClosedDateForm(),
        settings=settings,
        problem=problem,
        posted=next((f for f in (edit, counter, closing) if f is not None and f.errors), None),
    )


def _counter_form(settings: CounterSettings | None) -> CounterForm:
    form = CounterForm()
    if settings is None:
        form.slot_minutes.data, form.capacity.data, form.bookable_days.data = 30, 3, 30
        return form
    form.slot_minutes.data = settings.slot_minutes
    form.capacity.data = settings.capacity
    form.bookable_days.data = settings.bookable_days
    form.open_on_holidays.data = settings.open_on_holidays
    for day, field in enumerate(form.hour_fields):
        field.data = format_periods(
            [(h.opens, h.closes) for h in settings.hours if h.weekday == day]
        )
    return form
