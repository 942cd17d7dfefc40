"""The fix proposed for ``portal/access.py::case_or_404`` on PostgreSQL, applied from outside.

Only for ``benchmarks/journey.py --fix-for-update``; the portal's code is not changed.

``Case.snapshot`` is eager-loaded with a LEFT OUTER JOIN (``lazy="joined"``), so
``select(Case).with_for_update()`` becomes ``... LEFT OUTER JOIN definition_snapshots ...
FOR UPDATE``, which PostgreSQL refuses: "FOR UPDATE cannot be applied to the nullable side of
an outer join". Every POST of a journey page answers 500 on PostgreSQL (SQLite ignores FOR
UPDATE). Locking only the case row, ``FOR UPDATE OF cases``, is what the code means:

    query = query.with_for_update(of=Case)

Served with ``gunicorn --pythonpath benchmarks 'for_update_fix:create_app()'``.
"""

from __future__ import annotations

from flask import Flask, abort
from sqlalchemy import select

from portal import access
from portal.db import db
from portal.journey.models import Case


def case_or_404(case_id: int, *, for_update: bool = False) -> Case:
    """``portal.access.case_or_404`` with ``FOR UPDATE OF cases``."""
    query = select(Case).where(Case.id == case_id)
    if for_update:
        query = query.with_for_update(of=Case)
    case = db.session.scalar(query)
    if case is None or case.account_id != access._account().id:
        abort(404)
    return case


def apply() -> None:
    """Views call ``access.case_or_404``: replacing the module's attribute is enough."""
    access.case_or_404 = case_or_404


def create_app() -> Flask:
    from portal import create_app as create_portal

    apply()
    return create_portal()
