"""Changes to municipalities and departments, and which counter an address goes to."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload, selectinload

from portal.db import db
from portal.tenancy.kinds import BUILTIN_KINDS
from portal.tenancy.models import Department, DepartmentKind, Municipality, MunicipalityKind
from portal.tenancy.official import OfficialMunicipality, official_municipalities, seat_code


def load_official(codes: Iterable[str] | None = None) -> int:
    """Create or update every municipality and ward of Japan (or only ``codes``, with a ward's
    city and a designated city's wards); keyed by code, so loading again changes nothing.
    Names of a municipality that has departments are its own and are kept. Returns how many
    rows were created."""
    wanted = _with_relatives(set(codes)) if codes is not None else None
    official = [m for m in official_municipalities() if wanted is None or m.code in wanted]
    query = select(Municipality).options(selectinload(Municipality.departments))
    if wanted is not None:
        query = query.where(Municipality.code.in_(wanted))
    existing = {m.code: m for m in db.session.scalars(query)}
    created = 0
    for entry in official:
        municipality = existing.get(entry.code)
        if municipality is None:
            municipality = Municipality(code=entry.code)
            db.session.add(municipality)
            existing[entry.code] = municipality
            created += 1
        _apply(municipality, entry, keep_names=bool(municipality.departments))
    db.session.flush()
    for entry in official:
        parent = existing[entry.parent_code] if entry.parent_code else None
        if existing[entry.code].parent_id != (parent.id if parent else None):
            existing[entry.code].parent = parent
    db.session.flush()
    return created


def _apply(municipality: Municipality, entry: OfficialMunicipality, keep_names: bool) -> None:
    municipality.kind = entry.kind
    municipality.prefecture_ja = entry.prefecture_ja
    if not keep_names:
        municipality.name_ja = entry.name_ja
        municipality.name_en = entry.name_en


def _with_relatives(codes: set[str]) -> set[str]:
    official = official_municipalities()
    parents = {m.parent_code for m in official if m.code in codes and m.parent_code}
    cities = codes | parents
    return cities | {m.code for m in official if m.parent_code in cities}


def ensure_municipality(code: str, name_ja: str, name_en: str) -> Municipality:
    """The municipality of this code, from the official data, with the names it uses."""
    municipality = municipality_by_code(code)
    if municipality is None:
        load_official([code])
        municipality = municipality_by_code(code)
    if municipality is None:
        raise LookupError(f"no municipality or ward has the code {code}")
    municipality.name_ja = name_ja
    municipality.name_en = name_en
    db.session.flush()
    return municipality


def ensure_unlisted(code: str, prefecture_ja: str, name_ja: str) -> Municipality:
    """A municipality the official list lacks, named as the address names it (no reading,
    so no romanized English name); ``municipalities load`` completes it once listed."""
    municipality = municipality_by_code(code)
    if municipality is None:
        kinds = {"町": MunicipalityKind.TOWN, "村": MunicipalityKind.VILLAGE}
        municipality = Municipality(
            code=code,
            kind=kinds.get(name_ja[-1:], MunicipalityKind.CITY),
            prefecture_ja=prefecture_ja,
            name_ja=name_ja,
            name_en=name_ja,
        )
        db.session.add(municipality)
        db.session.flush()
    return municipality


def ensure_department(
    municipality: Municipality, kind: str, name_ja: str, name_en: str
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
    """The municipality with this code, its departments and its city's with it. Remembered
    for the rest of the transaction: a page routes every procedure through here, most of
    them to the same one or two municipalities (reference data, written only by loads)."""
    transaction = db.session().get_transaction()
    remembered = db.session.info.get(_BY_CODE)
    if remembered is None or remembered[0] is not transaction:
        remembered = (transaction, {})
        db.session.info[_BY_CODE] = remembered
    found: Municipality | None = remembered[1].get(code)
    if found is None:
        found = db.session.scalar(_by_code(), {"code": code})
        if found is not None:
            remembered[1][code] = found
    return found


_BY_CODE = "tenancy.municipality_by_code"


@cache
def _by_code() -> Select[tuple[Municipality]]:
    return (
        select(Municipality)
        .where(Municipality.code == bindparam("code"))
        .options(
            selectinload(Municipality.departments),
            joinedload(Municipality.parent).selectinload(Municipality.departments),
        )
    )


def office_at(code: str, load_missing: bool = True) -> Municipality | None:
    """The office an address with this 6-digit code belongs to: its ward in a designated
    city, else its municipality. Loaded from the official data if this database lacks it
    (a deployment that skipped ``municipalities load``); None for a code no list has."""
    found = municipality_by_code(code)
    if found is None and load_missing and load_official([code]):
        found = municipality_by_code(code)
    return found


def department_for(office: Municipality, kind: str) -> Department | None:
    """Who handles this kind of procedure for the office's residents online: the ward's own
    department where a city works by ward, else the city's; None where not served here."""
    own = office.department_of_kind(kind)
    if own is not None or office.parent is None:
        return own
    return office.parent.department_of_kind(kind)


def municipality_serving(code: str) -> Municipality | None:
    """The tenant whose departments take addresses with this code, if it is served here."""
    office = municipality_by_code(code)
    if office is None:
        return None
    if office.departments or office.parent is None:
        return office if office.departments else None
    return office.parent if office.parent.departments else None


def same_municipality(first: str, second: str) -> bool:
    """Whether two addresses' codes are one municipality in law (two wards of a city are).

    Asks the database first: reading the official list takes seconds the first time."""
    seats = []
    for code in (first, second):
        office = municipality_by_code(code)
        seats.append(office.seat.code if office else seat_code(code))
    return seats[0] == seats[1]


def seed_builtin_kinds() -> int:
    """Add the built-in department kinds a database lacks (its migration seeds them; an
    emptied database, as between tests, gets them back here). Returns how many were added."""
    present = set(db.session.scalars(select(DepartmentKind.key)))
    missing = [kind for kind in BUILTIN_KINDS if kind.key not in present]
    for position, kind in enumerate(BUILTIN_KINDS, start=1):
        if kind in missing:
            db.session.add(
                DepartmentKind(key=kind.key, labels=dict(kind.labels), position=position * 10)
            )
    db.session.flush()
    return len(missing)
