"""Every change to accounts and staff roles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import Account, Role, StaffRole
from portal.db import db, utcnow
from portal.tenancy.models import Department, Municipality

#: Identity claims kept for prefilling forms; everything else in the ID token is dropped.
KEPT_CLAIMS = (
    "name",
    "family_name",
    "given_name",
    "name#ja-Kana-JP",
    "family_name#ja-Kana-JP",
    "given_name#ja-Kana-JP",
    "birthdate",
    "gender",
    "address",
    # Where the mailbox's messages are also e-mailed: kept only when the provider verified it.
    "email",
)


class RoleConflict(ValueError):
    """A grant that would break a rule, e.g. a clerk in two municipalities."""


def account_for(issuer: str, subject: str) -> Account:
    """The account of this identity, created when it is new (e.g. before a first sign-in).

    Two first sign-ins of one person at once (two tabs, a double click) make one account:
    the loser of the race finds the winner's row.
    """
    query = select(Account).filter_by(issuer=issuer, subject=subject)
    account = db.session.scalar(query)
    if account is not None:
        return account
    try:
        with db.session.begin_nested():
            account = Account(issuer=issuer, subject=subject, identity={})
            db.session.add(account)
    except IntegrityError:
        account = db.session.scalar(query)
        if account is None:
            raise
    return account


#: Claims that are a plain string when present; any other shape is dropped.
_TEXT_CLAIMS = tuple(key for key in KEPT_CLAIMS if key not in ("address", "email"))
#: Address claim members (OpenID Connect Core 5.1.1), all strings.
_ADDRESS_MEMBERS = ("formatted", "street_address", "locality", "region", "postal_code", "country")


def record_sign_in(issuer: str, subject: str, claims: Mapping[str, Any]) -> Account:
    """Create or refresh the account from the verified claims (ID token and userinfo)."""
    account = account_for(issuer, subject)
    account.identity = identity_from_claims(claims)
    account.display_name = str(account.identity.get("name") or account.display_name or "")
    account.last_acr = claims.get("acr")
    account.last_signed_in_at = utcnow()
    db.session.flush()
    return account


def identity_from_claims(claims: Mapping[str, Any]) -> dict[str, Any]:
    """The claims kept for prefilling, in one shape whatever the provider sent.

    Providers differ: a ``name`` missing beside ``family_name`` and ``given_name``, an
    ``address`` with only ``formatted``, a birth date of only a year (OpenID Connect allows
    ``0000`` or ``YYYY``). What cannot be read is left out, for the resident to fill in.
    """
    identity: dict[str, Any] = {
        key: claims[key].strip()
        for key in _TEXT_CLAIMS
        if isinstance(claims.get(key), str) and claims[key].strip()
    }
    for suffix in ("", "#ja-Kana-JP"):
        family, given = identity.get("family_name" + suffix), identity.get("given_name" + suffix)
        if "name" + suffix not in identity and family and given:
            identity["name" + suffix] = f"{family} {given}"  # family name first, as in Japan
    if "birthdate" in identity and not _is_full_date(identity["birthdate"]):
        del identity["birthdate"]
    if address := _address(claims.get("address")):
        identity["address"] = address
    email = claims.get("email")
    if claims.get("email_verified") is True and isinstance(email, str) and email.strip():
        identity["email"] = email.strip()
    return identity


def _is_full_date(value: str) -> bool:
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10 and parsed.year > 1


def _address(claim: Any) -> dict[str, str] | None:
    if isinstance(claim, str):  # some providers send the formatted address alone
        claim = {"formatted": claim}
    if not isinstance(claim, Mapping):
        return None
    address = {
        key: claim[key].strip()
        for key in _ADDRESS_MEMBERS
        if isinstance(claim.get(key), str) and claim[key].strip()
    }
    if address and "formatted" not in address:
        parts = [address.get(k, "") for k in ("region", "locality", "street_address")]
        postal = f"〒{address['postal_code']} " if "postal_code" in address else ""
        address["formatted"] = (postal + "".join(parts)).strip()
    return address or None


def grant_clerk(
    account: Account,
    departments: Iterable[Department],
    granted_by: Account | None = None,
    *,
    as_role: Role = Role.CLERK,
) -> list[StaffRole]:
    """Make the account a clerk (or, ``as_role``, a supervisor, who also assigns the work)
    of these departments, all of one municipality."""
    departments = list(departments)
    municipality_ids = {d.municipality_id for d in departments} | {
        r.municipality_id for r in account.roles if r.role in (Role.CLERK, Role.SUPERVISOR)
    }
    if len(municipality_ids) > 1:
        raise RoleConflict("a clerk works for the departments of one municipality only")
    granted = []
    for department in departments:
        role = _find_role(account, as_role, department.municipality_id, department.id)
        if role is None:
            role = StaffRole(
                account=account,
                role=as_role,
                municipality_id=department.municipality_id,
                department_id=department.id,
                granted_by_id=granted_by.id if granted_by else None,
            )
            db.session.add(role)
        granted.append(role)
    db.session.flush()
    return granted


def grant_admin(
    account: Account, municipality: Municipality | None, granted_by: Account | None = None
) -> StaffRole:
    """Make the account an admin of a municipality, or of the whole portal when None."""
    municipality_id = municipality.id if municipality else None
    role = _find_role(account, Role.ADMIN, municipality_id, None)
    if role is None:
        role = StaffRole(
            account=account,
            role=Role.ADMIN,
            municipality_id=municipality_id,
            granted_by_id=granted_by.id if granted_by else None,
        )
        db.session.add(role)
        db.session.flush()
    return role


def revoke_roles(account: Account) -> int:
    """Remove every staff role of the account; returns how many there were."""
    count = len(account.roles)
    account.roles.clear()
    db.session.flush()
    return count


def _find_role(
    account: Account, role: Role, municipality_id: int | None, department_id: int | None
) -> StaffRole | None:
    for existing in account.roles:
        if (existing.role, existing.municipality_id, existing.department_id) == (
            role,
            municipality_id,
            department_id,
        ):
            return existing
    return None
