"""Granting and revoking staff roles from the admin pages, audited and safe to race.

Who: an account of the staff provider, named by the subject that provider gives the person
(the same pair ``(issuer, subject)`` a sign-in records), found if it signed in already, else
made now and filled in at its first sign-in. A name would not do: names are not unique, a
resident could bear a colleague's, and the provider may change one, never the subject.

Every change takes locks first, in one order (the municipality's row, then the account's),
so two admins acting at once take turns: a grant made twice makes one role, a role revoked
twice is revoked once, and two admins revoking each other cannot leave a municipality with
no admin. Each is written to the audit log: the municipality's chain, or the portal's.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from portal.accounts.models import Account, Role, StaffRole
from portal.accounts.services import RoleConflict, account_for, grant_admin, grant_clerk
from portal.audit.services import append, municipality_chain
from portal.db import db
from portal.tenancy.management import PORTAL_CHAIN
from portal.tenancy.models import Department, Municipality


class RevocationRefused(ValueError):
    """A revocation that would leave no one in charge, or that takes the revoker's own
    admin role (another admin must do that)."""


class LastAdmin(RevocationRefused):
    pass


class OwnAdminRole(RevocationRefused):
    pass


def staff_account(issuer: str, subject: str) -> Account:
    """The staff provider's account of this subject: found, or registered before its first
    sign-in (its name comes then)."""
    return account_for(issuer, subject.strip())


def grant(
    by: Account | None,
    account: Account,
    role: Role,
    municipality: Municipality,
    departments: Sequence[Department] = (),
) -> list[StaffRole]:
    """Grant a clerk's or supervisor's role in these departments, or the municipality's
    admin role; roles held already are kept as they are (and not audited again)."""
    _lock_municipality(municipality)
    _lock_account(account)
    before = {r.id for r in account.roles}
    if role is Role.ADMIN:
        granted = [grant_admin(account, municipality, granted_by=by)]
    else:
        granted = grant_clerk(account, departments, granted_by=by, as_role=role)
    for new in (r for r in granted if r.id not in before):
        _audit(by, new, "staff_role.granted")
    return granted


def grant_portal_admin(by: Account | None, account: Account) -> StaffRole:
    _lock_account(account)
    existing = next((r for r in account.roles if r.is_portal_admin), None)
    if existing is not None:
        return existing
    role = grant_admin(account, None, granted_by=by)
    _audit(by, role, "staff_role.granted")
    return role


def revoke(by: Account, role: StaffRole) -> bool:
    """Revoke one role. False when another admin revoked it first (nothing left to do)."""
    if role.municipality is not None:
        _lock_municipality(role.municipality)
    account = role.account
    _lock_account(account)
    current = db.session.scalar(
        select(StaffRole).where(StaffRole.id == role.id).execution_options(populate_existing=True)
    )
    if current is None:
        return False
    if current.role is Role.ADMIN:
        if current.account_id == by.id:
            raise OwnAdminRole("another admin must revoke your own admin role")
        if current.municipality_id is not None and _admin_count(current.municipality_id) <= 1:
            raise LastAdmin("the municipality's last admin")
        if current.municipality_id is None and _admin_count(None) <= 1:
            raise LastAdmin("the portal's last admin")
    _audit(by, current, "staff_role.revoked")
    account.roles.remove(current)
    db.session.flush()
    return True


def _admin_count(municipality_id: int | None) -> int:
    """Admins of the municipality (or of the portal), their rows locked: a concurrent
    revocation waits, then counts without the one revoked here."""
    scope = (
        StaffRole.municipality_id.is_(None)
        if municipality_id is None
        else StaffRole.municipality_id == municipality_id
    )
    query = (
        select(StaffRole.id)
        .where(StaffRole.role == Role.ADMIN, scope)
        .order_by(StaffRole.id)
        .with_for_update()
    )
    return len(db.session.scalars(query).all())


def _lock_municipality(municipality: Municipality) -> None:
    db.session.execute(
        select(Municipality.id).where(Municipality.id == municipality.id).with_for_update()
    )


def _lock_account(account: Account) -> None:
    """Lock the account, then read its roles as they are now (another admin may have
    granted or revoked one since they were loaded)."""
    db.session.execute(select(Account.id).where(Account.id == account.id).with_for_update())
    db.session.expire(account, ["roles"])


def revoke_all(account: Account) -> int:
    """An operator's revocation of every role of an account (``flask staff revoke``): no
    admin is left out of it, so it is the way out when the last admin leaves; audited."""
    _lock_account(account)
    roles = list(account.roles)
    for role in roles:
        _audit(None, role, "staff_role.revoked")
    account.roles.clear()
    db.session.flush()
    return len(roles)


def _audit(by: Account | None, role: StaffRole, action: str) -> None:
    municipality = role.municipality or (
        db.session.get(Municipality, role.municipality_id) if role.municipality_id else None
    )
    department = role.department or (
        db.session.get(Department, role.department_id) if role.department_id else None
    )
    append(
        municipality_chain(municipality) if municipality is not None else PORTAL_CHAIN,
        actor=by,
        action=action,
        subject=f"account:{role.account_id}",
        details={
            "role": role.role.value,
            "municipality": municipality.code if municipality is not None else None,
            "department": department.kind if department is not None else None,
            "department_id": role.department_id,
            "issuer": role.account.issuer,
            "subject": role.account.subject,
        },
    )


__all__ = [
    "LastAdmin",
    "OwnAdminRole",
    "RevocationRefused",
    "RoleConflict",
    "grant",
    "grant_portal_admin",
    "revoke",
    "revoke_all",
    "staff_account",
]
