"""Every change an admin makes to department kinds and to a municipality's departments,
each written to the audit log as it is made (flush only: the request commits)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import Account
from portal.audit.services import append, municipality_chain
from portal.db import db
from portal.journey.models import ProcedureRequest
from portal.tenancy.models import Department, DepartmentKind, Municipality

#: The chain of changes that are the whole portal's, not one municipality's.
PORTAL_CHAIN = "portal"


class KindTaken(ValueError):
    """A kind of this key exists already."""


class KindHandled(ValueError):
    """Another department of the municipality handles this kind already."""

    def __init__(self, department: Department) -> None:
        super().__init__(f"department {department.id} handles {department.kind}")
        self.department = department


class DepartmentInUse(ValueError):
    """The department has requests: deleting it would take them with it."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} request(s)")
        self.count = count


# Kinds ----------------------------------------------------------------------------------


def department_kinds() -> list[DepartmentKind]:
    """Every kind, in the order lists show them."""
    query = select(DepartmentKind).order_by(DepartmentKind.position, DepartmentKind.key)
    return list(db.session.scalars(query))


def add_kind(key: str, labels: Mapping[str, str], by: Account) -> DepartmentKind:
    """A new kind after the others; two admins adding one key at once make one (the second
    is told it is taken)."""
    if db.session.get(DepartmentKind, key) is not None:
        raise KindTaken(key)
    last = db.session.scalar(select(func.max(DepartmentKind.position))) or 0
    kind = DepartmentKind(key=key, labels=_clean(labels), position=last + 10)
    try:
        with db.session.begin_nested():
            db.session.add(kind)
    except IntegrityError as exc:
        raise KindTaken(key) from exc
    append(
        PORTAL_CHAIN,
        actor=by,
        action="department_kind.added",
        subject=f"department_kind:{key}",
        details={"labels": kind.labels},
    )
    return kind


def relabel_kind(kind: DepartmentKind, labels: Mapping[str, str], by: Account) -> None:
    before = dict(kind.labels)
    kind.labels = _clean(labels)
    db.session.flush()
    if before != kind.labels:
        append(
            PORTAL_CHAIN,
            actor=by,
            action="department_kind.relabelled",
            subject=f"department_kind:{kind.key}",
            details={"before": before, "after": kind.labels},
        )


def _clean(labels: Mapping[str, str]) -> dict[str, str]:
    """The labels given, trimmed, without empty ones (Japanese is checked by the form)."""
    return {lang: text.strip() for lang, text in labels.items() if text and text.strip()}


# Departments ----------------------------------------------------------------------------


def add_department(
    municipality: Municipality, kind: str, name_ja: str, name_en: str, by: Account
) -> Department:
    """A new department handling ``kind`` here: one per kind and municipality (the unique
    constraint settles two admins adding the same kind at once)."""
    _refuse_handled(municipality, kind, None)
    department = Department(
        municipality_id=municipality.id,
        kind=kind,
        name_ja=name_ja.strip(),
        name_en=name_en.strip(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(department)
    except IntegrityError:
        _refuse_handled(municipality, kind, None)
        raise
    db.session.expire(municipality, ["departments"])
    audit_department(
        department, by, "department.added", {"kind": kind, "name_ja": department.name_ja}
    )
    return department


def change_department(
    department: Department, *, name_ja: str, name_en: str, kind: str, by: Account
) -> None:
    """Rename it, and make it handle another kind (which no other department here handles)."""
    changes: dict[str, list[str]] = {}
    if kind != department.kind:
        _refuse_handled(department.municipality, kind, department)
        changes["kind"] = [department.kind, kind]
    for field, value in (("name_ja", name_ja.strip()), ("name_en", name_en.strip())):
        if getattr(department, field) != value:
            changes[field] = [getattr(department, field), value]
    if not changes:
        return
    before = (department.kind, department.name_ja, department.name_en)
    department.kind = kind
    department.name_ja = name_ja.strip()
    department.name_en = name_en.strip()
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        # Another admin gave this kind to another department meanwhile: as it was, and say so.
        department.kind, department.name_ja, department.name_en = before
        _refuse_handled(department.municipality, kind, department)
        raise
    audit_department(department, by, "department.changed", changes)


def request_count(department: Department) -> int:
    """Its requests, and any certificate it issued outside one: what keeps it from deletion."""
    from portal.certificates.models import Certificate

    requests = select(func.count()).where(ProcedureRequest.department_id == department.id)
    issued = select(func.count()).where(Certificate.department_id == department.id)
    return (db.session.scalar(requests) or 0) + (db.session.scalar(issued) or 0)


def delete_department(department: Department, by: Account) -> None:
    """Delete a department that never had a request (its counter, bookings grid and staff
    roles go with it); one with requests is refused: they must stay with who handled them."""
    count = request_count(department)
    if count:
        raise DepartmentInUse(count)
    audit_department(
        department,
        by,
        "department.deleted",
        {"kind": department.kind, "name_ja": department.name_ja, "name_en": department.name_en},
    )
    municipality = department.municipality
    municipality.departments.remove(department)
    db.session.delete(department)
    db.session.flush()


def _refuse_handled(municipality: Municipality, kind: str, itself: Department | None) -> None:
    query = select(Department).where(
        Department.municipality_id == municipality.id, Department.kind == kind
    )
    if itself is not None:
        query = query.where(Department.id != itself.id)
    other = db.session.scalar(query)
    if other is not None:
        raise KindHandled(other)


def audit_department(
    department: Department, by: Account, action: str, details: dict[str, object]
) -> None:
    """A change to a department or its counter, in its municipality's audit chain."""
    append(
        municipality_chain(department.municipality),
        actor=by,
        action=action,
        subject=f"department:{department.id}",
        details=details,
    )
