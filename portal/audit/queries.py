"""The resident's access record, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal import access
from portal.accounts.models import Account
from portal.audit.models import AccessRecord
from portal.db import db

PER_PAGE = 20


@dataclass(frozen=True)
class AccessRecordPage:
    records: list[AccessRecord]
    #: The form each record names, by record id, in the reader's language.
    form_titles: dict[int, str]
    page: int
    pages: int
    total: int


def access_record_page(account: Account, page: int | None) -> AccessRecordPage:
    """Newest first. A page number out of range shows the nearest page, never an error."""
    own = access.own_access_records(account)
    total = db.session.scalar(select(func.count()).select_from(own.subquery())) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(page or 1, 1), pages)
    records = list(
        db.session.scalars(
            own.options(selectinload(AccessRecord.case))
            .order_by(AccessRecord.at.desc(), AccessRecord.id.desc())
            .limit(PER_PAGE)
            .offset((page - 1) * PER_PAGE)
        )
    )
    return AccessRecordPage(records, _form_titles(records), page, pages, total)


def _form_titles(records: list[AccessRecord]) -> dict[int, str]:
    """Each form's title from the definitions its case was filed against; a record whose case
    is gone keeps only the form's id."""
    titles = {}
    for record in records:
        if record.form_id is None:
            continue
        title = record.form_id
        case = record.case
        if case is not None:
            form = case.definitions.forms.get(record.form_id)
            title = form.title if form is not None else title
        titles[record.id] = title
    return titles
