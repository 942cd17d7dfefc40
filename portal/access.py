"""Who may see or change what: the one place that answers it.

Every view that loads an object by id goes through a ``*_or_404`` function here. A denied
object answers 404, exactly like a missing one, so that ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from portal.accounts.models import Account, Role
from portal.db import db
from portal.definitions.services import parsed_snapshot
from portal.journey.models import Attachment, Case
from portal.tenancy.models import Department, Municipality

P = ParamSpec("P")
R = TypeVar("R")


def is_portal_admin(account: Account) -> bool:
    return any(role.is_portal_admin for role in account.roles)


def may_manage_municipality(account: Account, municipality: Municipality) -> bool:
    """Admins of the municipality and of the whole portal manage it."""
    return any(
        role.role is Role.ADMIN and role.municipality_id in (None, municipality.id)
        for role in account.roles
    )


def may_work_in_department(account: Account, department: Department) -> bool:
    """Its clerks work its queue; so may the admins above it."""
    return any(
        role.role is Role.CLERK and role.department_id == department.id for role in account.roles
    ) or may_manage_municipality(account, department.municipality)


def workable_departments(account: Account) -> list[Department]:
    """The departments whose queues this account may open, for the staff home page."""
    if is_portal_admin(account):
        return list(db.session.scalars(select(Department).order_by(Department.id)))
    managed = {r.municipality_id for r in account.roles if r.role is Role.ADMIN}
    clerk_of = {r.department_id for r in account.roles if r.role is Role.CLERK}
    query = select(Department).where(
        Department.municipality_id.in_(managed) | Department.id.in_(clerk_of)
    )
    return list(db.session.scalars(query.order_by(Department.id)))


def managed_municipalities(account: Account) -> list[Municipality]:
    if is_portal_admin(account):
        return list(db.session.scalars(select(Municipality).order_by(Municipality.id)))
    managed = {r.municipality_id for r in account.roles if r.role is Role.ADMIN}
    query = select(Municipality).where(Municipality.id.in_(managed)).order_by(Municipality.id)
    return list(db.session.scalars(query))


def department_or_404(department_id: int) -> Department:
    department = db.session.get(Department, department_id)
    if department is None or not may_work_in_department(_account(), department):
        abort(404)
    return department


def municipality_or_404(municipality_id: int) -> Municipality:
    municipality = db.session.get(Municipality, municipality_id)
    if municipality is None or not may_manage_municipality(_account(), municipality):
        abort(404)
    return municipality


def case_or_404(case_id: int, *, for_update: bool = False) -> Case:
    """A resident's case: only its filer sees or changes it.

    ``for_update`` locks the row (on PostgreSQL) so two tabs saving at once do not lose
    each other's answers.
    """
    query = select(Case).where(Case.id == case_id)
    if for_update:
        query = query.with_for_update(of=Case, key_share=True)  # FOR NO KEY UPDATE
    case = db.session.scalar(query)
    if case is None or case.account_id != _account().id:
        abort(404)
    return case


def may_see_attachment(account: Account, attachment: Attachment) -> bool:
    """The filer, and clerks of the departments whose forms ask for this document."""
    case = attachment.case
    if case.account_id == account.id:
        return True
    snapshot = parsed_snapshot(case.snapshot_digest, lambda: case.snapshot)
    for request in case.requests:
        keys = {field.key for field in snapshot.form(request.form_id).attachments}
        department = request.department
        if (
            attachment.field_key in keys
            and department
            and may_work_in_department(account, department)
        ):
            return True
    return False


def attachment_or_404(case_id: int, attachment_id: int) -> Attachment:
    attachment = db.session.get(Attachment, attachment_id)
    if (
        attachment is None
        or attachment.case_id != case_id
        or not may_see_attachment(_account(), attachment)
    ):
        abort(404)
    return attachment


def staff_only(view: Callable[P, R]) -> Callable[P, R]:
    """For staff pages that load no object: others get the same 404 as for an unknown URL."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        if not _account().is_staff:
            abort(404)
        return view(*args, **kwargs)

    return wrapped


def _account() -> Account:
    """The signed-in account; views reach here behind ``login_required``."""
    if not current_user.is_authenticated:
        abort(404)
    return current_user._get_current_object()
