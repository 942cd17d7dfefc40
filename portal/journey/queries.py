"""Read-only questions about cases, for the dashboard."""

from __future__ import annotations

from sqlalchemy.orm import selectinload

from portal.access import own_cases
from portal.accounts.models import Account
from portal.db import db
from portal.journey.models import Case, CaseStatus


def cases_of(account: Account) -> tuple[list[Case], list[Case]]:
    """The account's drafts (newest first) and submitted cases (newest first)."""
    query = (
        own_cases(account)
        .options(selectinload(Case.requests), selectinload(Case.follow_ups))
        .order_by(Case.updated_at.desc(), Case.id.desc())
    )
    cases = list(db.session.scalars(query))
    drafts = [case for case in cases if case.status is CaseStatus.DRAFT]
    submitted = [case for case in cases if case.status is CaseStatus.SUBMITTED]
    return drafts, submitted
