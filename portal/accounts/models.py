"""Accounts and staff roles."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import gettext as _
from flask_login import UserMixin
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import db, text_enum, utcnow
from portal.tenancy.models import Department, Municipality


class Role(StrEnum):
    CLERK = "clerk"
    #: A clerk who also assigns and reassigns the department's requests.
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Account(UserMixin, db.Model):
    """Someone who signed in, known by the provider's (issuer, subject) pair.

    No password and no national number is stored: the subject is the provider's pseudonymous
    identifier for this portal.
    """

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    #: The identity attributes the provider verified at the last sign-in (kana name, birth
    #: date, sex, address), kept to prefill forms.
    identity: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The authentication context class of the last sign-in.
    last_acr: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_signed_in_at: Mapped[datetime | None]
    #: Where the mailbox's messages are also e-mailed (see portal/notifications): the address
    #: the resident gave, e-mailed only once confirmed and while notifications are on.
    notification_email: Mapped[str | None] = mapped_column(String(254))
    #: When the address was confirmed (by its link, or by the provider's ``email_verified``).
    notification_email_confirmed_at: Mapped[datetime | None]
    #: When its confirmation link was sent, and the random value the link is bound to: a new
    #: address or a new link replaces it, so only the latest link works, and only once.
    notification_email_requested_at: Mapped[datetime | None]
    notification_email_nonce: Mapped[str | None] = mapped_column(String(64))
    email_notifications: Mapped[bool] = mapped_column(default=False, server_default=false())

    roles: Mapped[list[StaffRole]] = relationship(
        back_populates="account",
        cascade="all, delete-orphan",
        foreign_keys="StaffRole.account_id",
    )

    @property
    def staff_name(self) -> str:
        """A colleague as staff pages list them: by name, or as not signed in yet (an account
        granted a role before its first sign-in has no name)."""
        return self.display_name or _("(not signed in yet)")

    @property
    def is_staff(self) -> bool:
        return bool(self.roles)

    def __repr__(self) -> str:
        return f"<Account {self.id}>"


class StaffRole(db.Model):
    """A role granted inside the portal, never taken from a token claim.

    A clerk works in one department, a supervisor too and assigns its work; an admin manages
    one municipality, or the whole portal when no municipality is set.
    """

    __tablename__ = "staff_roles"
    __table_args__ = (
        CheckConstraint(
            "(role IN ('clerk', 'supervisor')"
            " AND department_id IS NOT NULL AND municipality_id IS NOT NULL)"
            " OR (role = 'admin' AND department_id IS NULL)",
            name="scope_fits_role",
        ),
        UniqueConstraint("account_id", "role", "municipality_id", "department_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(text_enum(Role, 20))
    municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE"), index=True
    )
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), index=True
    )
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )

    account: Mapped[Account] = relationship(back_populates="roles", foreign_keys=[account_id])
    municipality: Mapped[Municipality | None] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")

    @property
    def is_portal_admin(self) -> bool:
        return self.role is Role.ADMIN and self.municipality_id is None
