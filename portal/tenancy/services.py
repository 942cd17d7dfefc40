"""Changes to municipalities and departments."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from portal.db import db
from portal.tenancy.kinds import DepartmentKind
from portal.tenancy.models import Department, Municipality, MunicipalityArea


def ensure_municipality(
    code: str,
    prefecture_ja: str,
    name_ja: str,
    name_en: str,
    ward_codes: Iterable[str] = (),
) -> Municipality:
    """Create the municipality or update its names; keyed by its government code. It serves
    addresses carrying its own code and, for a designated city, its wards' codes."""
    municipality = db.session.scalar(select(Municipality).filter_by(code=code))
    if municipality is None:
        municipality = Municipality(code=code)
        db.session.add(municipality)
    municipality.prefecture_ja = prefecture_ja
    municipality.name_ja = name_ja
    municipality.name_en = name_en
    served = {area.code for area in municipality.areas}
    for area_code in {code, *ward_codes} - served:
        municipality.areas.append(MunicipalityArea(code=area_code))
    db.session.flush()
    return municipality


def municipality_serving(area_code: str) -> Municipality | None:
    """The tenant that handles addresses with this 6-digit code, if it is on this portal."""
    area = db.session.get(MunicipalityArea, area_code)
    return area.municipality if area else None


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
