"""The resident's access record (情報提供等記録): which offices had their information."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from portal import access
from portal.audit.queries import access_record_page

bp = Blueprint("audit", __name__)


@bp.get("/account/access-record")
@access.requires(access.SIGNED_IN)
def access_record() -> str:
    page = access_record_page(current_user, request.args.get("page", type=int))
    return render_template("audit/access_record.html", page=page)
