"""Changes to municipalities and departments."""

from __future__ import annotations

from sqlalchemy import select

from portal.db import db
from portal.tenancy.kinds import DepartmentKind
from portal.tenancy.models import Department, Municipality


def ensure_municipality(code: str, prefecture_ja: str, name_ja: str, name_en: str) -> Municipality:
    """Create the municipality or update its names; keyed by its government code."""
    municipality = db.session.scalar(select(Municipality).filter_by(code=code))
    if municipality is None:
        municipality = Municipality(code=code)
        db.session.add(municipality)
    municipality.prefecture_ja = prefecture_ja
    municipality.name_ja = name_ja
    municipality.name_en = name_en
    db.session.flush()
    return municipality


def ensure_department(
    municipality: Municipality, kind: DepartmentKind, name_ja: str, name_en: str
) -> Department:
    department = db.session.scalar(
        select(Department).filter_by(municipality_id=municipality.id, kind=kind)
    )
    if department is None:
        department = Department(municipality=municipality, kind=kind)
        db.session.add(department)
    department.name_ja = name_ja
    department.name_en = name_en
    db.session.flush()
    return department


def municipality_by_code(code: str) -> Municipality | None:
    return db.session.scalar(select(Municipality).filter_by(code=code))
