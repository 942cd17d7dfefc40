"""Staff home, a department's queue and a municipality's overview, each behind ``portal.access``."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from portal import access
from portal.accounts.queries import staff_roles_in

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
