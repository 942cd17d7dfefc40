"""Read-only questions about accounts and roles."""

from __future__ import annotations

from sqlalchemy import select

from portal.accounts.models import Account, StaffRole
from portal.db import db
from portal.tenancy.models import Municipality


def staff_roles_in(municipality: Municipality) -> list[StaffRole]:
    query = (
        select(StaffRole)
        .join(StaffRole.account)
        .where(StaffRole.municipality_id == municipality.id)
        .order_by(StaffRole.role, StaffRole.department_id, Account.display_name)
    )
    return list(db.session.scalars(query))


def all_staff_roles() -> list[StaffRole]:
    return list(db.session.scalars(select(StaffRole).order_by(StaffRole.account_id, StaffRole.id)))
