"""Municipalities and departments."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import db, text_enum
from portal.i18n import current_language, localized


class MunicipalityKind(StrEnum):
    """What the local government code names: its English suffix, and whether it has wards."""

    CITY = "city"
    #: 政令指定都市: works through ward offices; its wards are rows of their own.
    DESIGNATED_CITY = "designated_city"
    #: 行政区: a ward of a designated city, not a municipality in law, but the counter.
    WARD = "ward"
    #: 特別区: Tokyo's 23 wards, municipalities in law ("Chiyoda City").
    SPECIAL_WARD = "special_ward"
    TOWN = "town"
    VILLAGE = "village"


class Municipality(db.Model):
    """A city, ward, town or village, known by its local government code.

    Every one in Japan is a row; it is *served* on this portal when it has departments.
    A ward of a designated city points to its city: the ward office is the counter, and the
    departments are the ward's own if it has them, else the city's.
    """

    __tablename__ = "municipalities"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 全国地方公共団体コード, six digits including the check digit (e.g. 131016).
    code: Mapped[str] = mapped_column(String(6), unique=True)
    kind: Mapped[MunicipalityKind] = mapped_column(
        text_enum(MunicipalityKind, 20),
        default=MunicipalityKind.CITY,
    )
    #: The designated city of a ward; None for every other kind.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE"), index=True
    )
    prefecture_ja: Mapped[str] = mapped_column(String(10))
    name_ja: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))

    parent: Mapped[Municipality | None] = relationship(remote_side=[id])
    departments: Mapped[list[Department]] = relationship(
        back_populates="municipality", order_by="Department.id", cascade="all, delete-orphan"
    )

    def department_of_kind(self, kind: str) -> Department | None:
        return next((d for d in self.departments if d.kind == kind), None)

    @property
    def is_served(self) -> bool:
        """Files online here: it has departments (a ward also through its city's)."""
        return bool(self.departments) or bool(self.parent and self.parent.departments)

    @property
    def seat(self) -> Municipality:
        """The municipality in law: the designated city for a ward, else itself."""
        return self.parent or self

    @property
    def names(self) -> dict[str, str]:
        """Its name in each language (for a message read later, in either)."""
        return {"ja": self.prefecture_ja + self.name_ja, "en": self.name_en}

    @property
    def name(self) -> str:
        return localized(self.names["ja"], self.names["en"])

    @property
    def office_name(self) -> str:
        """The office whose counter a resident visits: a ward's is 横浜市中区役所."""
        if self.kind is not MunicipalityKind.WARD:
            return self.name
        ward, _, city = self.name_en.partition(", ")
        return localized(f"{self.name_ja}役所", f"{ward} Office, {city}" if city else "")

    def __repr__(self) -> str:
        return f"<Municipality {self.code} {self.name_ja}>"


def counter_name(office: Municipality, department: Department | None = None) -> str:
    """Office and department as one name a person reads: "横浜市中区役所 戸籍課" and, in
    English, where the department comes first, "Family Register Division, Naka Ward Office,
    Yokohama City, Kanagawa"."""
    if department is None:
        return office.office_name
    if current_language() == "en" and department.name_en:
        return f"{department.name}, {office.office_name}"
    return f"{office.office_name} {department.name}"


class DepartmentKind(db.Model):
    """A kind of procedure a department handles, as definitions name it (``department_kind``).

    Data a portal admin manages; the built-in kinds (``portal.tenancy.kinds``) are its seed.
    The key never changes once made (definitions and departments are written with it); the
    labels do, one per configured language, Japanese required.
    """

    __tablename__ = "department_kinds"
    __table_args__ = (CheckConstraint("length(key) BETWEEN 2 AND 40", name="key_length"),)

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: ``{"ja": "保育", "en": "Childcare"}``: any configured language, ``ja`` always.
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Where it comes in lists (then by key).
    position: Mapped[int] = mapped_column(default=0)

    @property
    def label(self) -> str:
        """In the language in force; Japanese where that language has none."""
        return str(self.labels.get(current_language()) or self.labels.get("ja") or self.key)

    def __repr__(self) -> str:
        return f"<DepartmentKind {self.key}>"


class Department(db.Model):
    """A division of a municipality that owns the queue for one kind of procedure."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("municipality_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE"), index=True
    )
    #: The key of its :class:`DepartmentKind`: the kind of procedure it handles here.
    kind: Mapped[str] = mapped_column(
        ForeignKey("department_kinds.key", ondelete="RESTRICT"), index=True
    )
    name_ja: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))

    municipality: Mapped[Municipality] = relationship(back_populates="departments")
    kind_entry: Mapped[DepartmentKind] = relationship()

    @property
    def kind_label(self) -> str:
        return self.kind_entry.label

    @property
    def name(self) -> str:
        return localized(self.name_ja, self.name_en)

    @property
    def full_name(self) -> str:
        """With its municipality, separated as the language separates them."""
        return counter_name(self.municipality, self)

    def __repr__(self) -> str:
        return f"<Department {self.municipality_id}:{self.kind}>"
