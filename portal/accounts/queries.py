"""Read-only questions about accounts and roles."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from portal.accounts.models import Account, Role, StaffRole
from portal.db import db
from portal.tenancy.models import Municipality


def staff_roles_in(municipality: Municipality) -> list[StaffRole]:
    """A municipality's roles with their accounts (one query: the pages name each holder)."""
    query = (
        select(StaffRole)
        .join(StaffRole.account)
        .options(contains_eager(StaffRole.account))
        .where(StaffRole.municipality_id == municipality.id)
        .order_by(StaffRole.role, StaffRole.department_id, Account.display_name)
    )
    return list(db.session.scalars(query))


def portal_admin_roles() -> list[StaffRole]:
    """The whole portal's admin roles with their accounts, by name."""
    query = (
        select(StaffRole)
        .join(StaffRole.account)
        .options(contains_eager(StaffRole.account))
        .where(StaffRole.role == Role.ADMIN, StaffRole.municipality_id.is_(None))
        .order_by(Account.display_name, StaffRole.id)
    )
    return list(db.session.scalars(query))


def all_staff_roles() -> list[StaffRole]:
    return list(db.session.scalars(select(StaffRole).order_by(StaffRole.account_id, StaffRole.id)))
