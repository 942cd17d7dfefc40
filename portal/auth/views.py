"""Sign-in, callback and sign-out; the protocol lives in ``oidc``, accounts in their services."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from portal import access
from portal.accounts import services as accounts
from portal.auth import oidc, sessions
from portal.auth.oidc import Audience, SignInFailed
from portal.i18n import current_language
from portal.web.security import external_url, redirect_to_next, safe_next

bp = Blueprint("auth", __name__, url_prefix="/auth")

_PENDING = "auth_pending"


@bp.get("/login")
@access.requires(access.ANYONE)
def login() -> Response | tuple[str, int]:
    return _start(Audience.RESIDENT)


@bp.get("/staff/login")
@access.requires(access.ANYONE)
def staff_login() -> Response | tuple[str, int]:
    return _start(Audience.STAFF)


def _start(audience: Audience) -> Response | tuple[str, int]:
    # One sign-in at a time, as _PENDING holds one: Authlib keeps each attempt's state for an
    # hour, and enough of them (reloads, a long ``next``) outgrow what a browser keeps.
    for key in [key for key in session if key.startswith("_state_")]:
        session.pop(key)
    session[_PENDING] = {"audience": audience.value, "next": safe_next(request.args.get("next"))}
    try:
        return oidc.start_sign_in(audience, external_url("auth.callback"), current_language())
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
    sessions.begin(account, audience.value, identity.id_token)
    login_user(account)
    # Only for showing the staff link; every staff page still checks the roles themselves.
    session["staff"] = account.is_staff
    if audience is Audience.STAFF and not account.is_staff:
        return redirect(url_for("auth.no_staff_role"))  # not the staff pages' 404
    home = "staff.home" if audience is Audience.STAFF else "dashboard.home"
    return redirect_to_next(pending.get("next"), home)


@bp.get("/staff/no-role")
@access.requires(access.SIGNED_IN)
def no_staff_role() -> Response | str:
    """Where a staff sign-in lands before any role is granted: the account's number, which
    an admin (or, for a new portal's first admin, the operator: README step 8) grants to."""
    if current_user.is_staff:
        return redirect(url_for("staff.home"))
    return render_template("auth/no_staff_role.html", account=current_user)


@bp.post("/logout")
@access.requires(access.ANYONE)
def logout() -> Response:
    # The account itself, not the proxy: ending the session signs the proxy out.
    account = current_user._get_current_object() if current_user.is_authenticated else None
    ended = sessions.end()
    if account is None or ended is None:
        return redirect(url_for("dashboard.home"))
    sessions.end_all(account)
    flash(_("You have signed out."), "success")
    target = oidc.logout_url(
        Audience(ended.audience), ended.id_token, external_url("dashboard.home")
    )
    return redirect(target or url_for("dashboard.home"))
