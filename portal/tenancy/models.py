"""Municipalities and departments."""

from __future__ import annotations

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import db
from portal.i18n import localized
from portal.tenancy.kinds import DepartmentKind


class Municipality(db.Model):
    """A tenant: one city, ward, town or village, known by its local government code."""

    __tablename__ = "municipalities"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 全国地方公共団体コード, six digits including the check digit (e.g. 131016).
    code: Mapped[str] = mapped_column(String(6), unique=True)
    prefecture_ja: Mapped[str] = mapped_column(String(10))
    name_ja: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))

    departments: Mapped[list[Department]] = relationship(
        back_populates="municipality", order_by="Department.id", cascade="all, delete-orphan"
    )
    areas: Mapped[list[MunicipalityArea]] = relationship(
        back_populates="municipality", cascade="all, delete-orphan"
    )

    def department_of_kind(self, kind: str) -> Department | None:
        return next((d for d in self.departments if d.kind.value == kind), None)

    @property
    def name(self) -> str:
        return localized(self.prefecture_ja + self.name_ja, self.name_en)

    def __repr__(self) -> str:
        return f"<Municipality {self.code} {self.name_ja}>"


class MunicipalityArea(db.Model):
    """An area code an address can carry that this municipality serves: its own, and for a
    designated city each ward's (an address in 横浜市中区 carries 141046, not 141003)."""

    __tablename__ = "municipality_areas"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE"), index=True
    )

    municipality: Mapped[Municipality] = relationship(back_populates="areas")


class Department(db.Model):
    """A division of a municipality that owns the queue for one kind of procedure."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("municipality_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[DepartmentKind] = mapped_column(
        Enum(
            DepartmentKind,
            native_enum=False,
            length=40,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    name_ja: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))

    municipality: Mapped[Municipality] = relationship(back_populates="departments")

    @property
    def name(self) -> str:
        return localized(self.name_ja, self.name_en)

    def __repr__(self) -> str:
        return f"<Department {self.municipality_id}:{self.kind}>"
