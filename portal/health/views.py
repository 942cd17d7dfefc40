"""``GET /healthz``: 200 after a database round trip, 503 when the database does not answer."""

from __future__ import annotations

from flask import Blueprint, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal import access
from portal.extensions import csrf, db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@access.requires(access.ANYONE)
@csrf.exempt
def healthz() -> tuple[dict[str, str], int]:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        current_app.logger.exception("health check: database unreachable")
        db.session.rollback()
        return {"status": "unavailable"}, 503
    return {"status": "ok"}, 200
