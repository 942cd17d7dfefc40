"""The provider's endpoints: discovery, JWKS, the sign-in page, token, userinfo, logout."""

from __future__ import annotations

import time
from typing import Any

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import scope_to_list
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .discovery import provider_metadata
from .forms import PIN_PATTERN, SignInForm
from .i18n import LANGUAGE_NAMES, current_language, other_language_url
from .keys import public_jwks
from .lockout import Outcome, PinCheck
from .personas import PERSONAS, Persona, load_persona, persona_by_id
from .server import ProviderState
from .store import SignedIn

bp = Blueprint(
    "devidp",
    __name__,
    static_folder="static",
    static_url_path="/devidp-static",
)

#: Remembered between sign-ins only to preselect the same person next time.
LAST_PERSONA = "devidp_last_persona"
#: Endpoints whose answers carry a code, a token, personal data or a PIN form.
NO_STORE_ENDPOINTS = frozenset(
    {"devidp.authorize", "devidp.token", "devidp.userinfo", "devidp.logout"}
)


def provider() -> ProviderState:
    state: ProviderState = current_app.extensions["devidp"]
    return state


@bp.app_context_processor
def _template_globals() -> dict[str, Any]:
    language = current_language()
    other = "en" if language == "ja" else "ja"
    return {
        "current_language": language,
        "other_language": other,
        "other_language_name": LANGUAGE_NAMES[other],
        "other_language_url": other_language_url(other) if request else "",
    }


@bp.get("/")
def index() -> str:
    return render_template("devidp/index.html", issuer=provider().issuer, personas=PERSONAS)


@bp.get("/.well-known/openid-configuration")
def discovery() -> Response:
    return jsonify(provider_metadata(provider().issuer))


@bp.get("/jwks")
def jwks() -> Response:
    response = jsonify(public_jwks(provider().key_dir))
    # Clients cache keys themselves; we only ask them to revalidate after a rotation.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/authorize", methods=["GET", "POST"])
def authorize() -> Response | tuple[str, int] | str:
    state = provider()
    try:
        grant = state.server.get_consent_grant(end_user=None)
    except OAuth2Error as error:
        return _authorization_error(state, error)

    form = SignInForm()
    hint = request.args.get("login_hint")
    shown = _personas_shown(state, request.form.get("persona") or hint)
    form.persona.choices = [persona.id for persona in shown]
    if request.method == "GET":
        known = persona_by_id(hint or "", state.load_personas)
        form.persona.data = hint if known else session.get(LAST_PERSONA)
        return _sign_in_page(state, grant, form, shown)

    if request.form.get("action") == "cancel":
        # The person declined: the client hears error=access_denied (with state and iss).
        return state.server.create_authorization_response(grant=grant, grant_user=None)

    if not form.validate():
        return _sign_in_page(state, grant, form, shown)
    persona = persona_by_id(form.persona.data, state.load_personas)
    assert persona is not None  # the form accepts only the personas' ids
    check = state.pins.check(persona, form.pin.data or "")
    if not check.accepted:
        form.pin.errors = [*form.pin.errors, _pin_message(check)]
        return _sign_in_page(state, grant, form, shown)

    session[LAST_PERSONA] = persona.id
    user = SignedIn(
        persona=persona,
        acr=persona.acr,
        auth_time=int(time.time()),
        client_id=grant.client.client_id,
    )
    return state.server.create_authorization_response(grant=grant, grant_user=user)


@bp.post("/token")
def token() -> Response:
    return provider().server.create_token_response()


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo() -> Response:
    return provider().server.create_endpoint_response("userinfo")


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Response | tuple[str, int] | str:
    """RP-initiated logout: redirect only to a URI registered for the client, else a page."""
    server = provider().server
    asked_to_return = bool(request.values.get("post_logout_redirect_uri"))
    try:
        end_session = server.validate_endpoint_request("end_session")
    except OAuth2Error:
        # An id_token_hint we did not issue, or one for another client: sign out all the same,
        # but send nobody anywhere (RP-Initiated Logout 1.0, section 4).
        session.clear()
        return render_template("devidp/signed_out.html", not_verified=True), 400
    response = server.create_endpoint_response("end_session", end_session)
    if response is not None:
        return response
    return render_template("devidp/signed_out.html", not_returned=asked_to_return)


@bp.app_errorhandler(CSRFError)
def _csrf_error(error: CSRFError) -> tuple[str, int]:
    return (
        render_template(
            "devidp/error.html",
            title=_("This page has expired"),
            explanation=_(
                "For your security, the sign-in page stops working after a while or when it "
                "is opened in another browser. Go back to the service and start signing in again."
            ),
            error_code="csrf",
            error_description=error.description,
        ),
        400,
    )


@bp.app_errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[str, int] | HTTPException:
    if error.code is None or error.code < 400:
        return error
    return (
        render_template(
            "devidp/error.html",
            title=_("Page not found") if error.code == 404 else _("Something went wrong"),
            explanation="",
            error_code=str(error.code),
            error_description=error.description,
        ),
        error.code,
    )


@bp.after_app_request
def _security_headers(response: Response) -> Response:
    origins = " ".join(provider().clients.redirect_origins())
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; "
        # Chrome applies form-action to the redirect that follows the sign-in form's POST.
        f"form-action 'self' {origins}".rstrip()
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.endpoint in NO_STORE_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def _authorization_error(state: ProviderState, error: OAuth2Error) -> Response | tuple[str, int]:
    """Redirect the error to the client only once its redirect URI is known to be registered.

    Authlib sets ``error.redirect_uri`` only then; an unknown client or an unregistered
    redirect URI gets a page here, never a redirect (RFC 6749 section 4.1.2.1).
    """
    if error.redirect_uri:
        response = state.server.handle_error_response(None, error)
        return state.issuer_parameter.add_to(response)
    return (
        render_template(
            "devidp/error.html",
            title=_("This sign-in request cannot be used"),
            explanation=_explain_request_error(state),
            error_code=error.error,
            error_description=error.get_error_description(),
        ),
        400,
    )


def _explain_request_error(state: ProviderState) -> str:
    client = state.clients.get(request.values.get("client_id"))
    if client is None:
        return _("The service that sent you here is not registered with this ID provider.")
    redirect_uri = request.values.get("redirect_uri")
    if not redirect_uri or not client.check_redirect_uri(redirect_uri):
        return _(
            "The address to send you back to is not registered for this service, so you "
            "cannot be sent back."
        )
    return _("The service sent a sign-in request that this ID provider cannot accept.")


def _pin_message(check: PinCheck) -> str:
    if check.outcome is Outcome.WRONG:
        return ngettext(
            "The PIN is wrong. You can try %(num)d more time before the card locks.",
            "The PIN is wrong. You can try %(num)d more times before the card locks.",
            check.tries_left,
        )
    if check.outcome is Outcome.LOCKED_NOW:
        return ngettext(
            "The PIN was wrong too many times, so this card is now locked. "
            "Try again in %(num)d minute.",
            "The PIN was wrong too many times, so this card is now locked. "
            "Try again in %(num)d minutes.",
            check.locked_minutes,
        )
    return ngettext(
        "This card is locked because the PIN was wrong too many times. "
        "Try again in %(num)d minute.",
        "This card is locked because the PIN was wrong too many times. "
        "Try again in %(num)d minutes.",
        check.locked_minutes,
    )


def _personas_shown(state: ProviderState, named: str | None) -> list[Persona]:
    """The demo personas, and the one load persona named by ``login_hint`` or the form:
    a page never lists the thousands a load test may have."""
    extra = load_persona(named or "", state.load_personas)
    return [*PERSONAS, *([extra] if extra else [])]


def _sign_in_page(
    state: ProviderState,
    grant: AuthorizationCodeGrant,
    form: SignInForm,
    shown: list[Persona],
) -> str:
    requested_acr = request.args.get("acr_values", "").split()
    personas = [
        {
            "persona": persona,
            "locked": state.pins.locked_seconds(persona.id) > 0,
            "below_request": bool(requested_acr) and persona.acr not in requested_acr,
        }
        for persona in shown
    ]
    query = request.query_string.decode("ascii", "replace")
    return render_template(
        "devidp/authorize.html",
        form=form,
        client=grant.client,
        personas=personas,
        scopes=set(scope_to_list(grant.request.scope) or []),
        action=f"{url_for('devidp.authorize')}?{query}",
        pin_pattern=PIN_PATTERN,
    )
