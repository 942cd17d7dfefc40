"""Sign-in, callback and sign-out; the protocol lives in ``oidc``, accounts in their services."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from portal import access
from portal.accounts import services as accounts
from portal.auth import oidc
from portal.auth.oidc import Audience, SignInFailed
from portal.i18n import current_language
from portal.security import start_session

bp = Blueprint("auth", __name__, url_prefix="/auth")

_PENDING = "auth_pending"


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never another host, scheme or protocol-relative URL."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.get("/login")
@access.requires(access.ANYONE)
def login() -> Response | tuple[str, int]:
    return _start(Audience.RESIDENT)


@bp.get("/staff/login")
@access.requires(access.ANYONE)
def staff_login() -> Response | tuple[str, int]:
    return _start(Audience.STAFF)


def _start(audience: Audience) -> Response | tuple[str, int]:
    session[_PENDING] = {"audience": audience.value, "next": safe_next(request.args.get("next"))}
    try:
        return oidc.start_sign_in(
            audience, url_for("auth.callback", _external=True), current_language()
        )
    except SignInFailed as failure:
        return render_template("auth/failed.html", reason=failure.reason), 503


@bp.get("/callback")
@access.requires(access.ANYONE)
def callback() -> Response | tuple[str, int]:
    pending = session.get(_PENDING) or {}
    audience = Audience(pending.get("audience", Audience.RESIDENT.value))
    try:
        identity = oidc.complete_sign_in(audience)
    except SignInFailed as failure:
        return render_template("auth/failed.html", reason=failure.reason), 400
    if not oidc.acr_satisfied(audience, identity.acr):
        return render_template("auth/card_required.html", audience=audience.value), 403
    account = accounts.record_sign_in(identity.issuer, identity.subject, identity.claims)
    start_session()
    login_user(account)
    session["id_token"] = identity.id_token
    session["audience"] = audience.value
    # Only for showing the staff link; every staff page still checks the roles themselves.
    session["staff"] = account.is_staff
    destination = pending.get("next") or (
        url_for("staff.home") if audience is Audience.STAFF else url_for("dashboard.home")
    )
    return redirect(destination)


@bp.post("/logout")
@access.requires(access.ANYONE)
def logout() -> Response:
    id_token = session.get("id_token")
    audience = Audience(session.get("audience", Audience.RESIDENT.value))
    signed_in = current_user.is_authenticated
    if signed_in:
        accounts.record_sign_out(current_user)
    logout_user()
    session.clear()
    if not signed_in:
        return redirect(url_for("dashboard.home"))
    flash(_("You have signed out."), "success")
    target = oidc.logout_url(audience, id_token, url_for("dashboard.home", _external=True))
    return redirect(target or url_for("dashboard.home"))
