"""The OpenID Connect relying party, on Authlib's Flask client.

Nothing here knows the development provider: it is configured like any other provider, from
its discovery document.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, request
from joserfc.errors import JoseError

#: ``email``: an address the provider verified may be offered for notifications.
SCOPES = "openid profile address email"


class Audience(StrEnum):
    """Residents and staff may sign in through different providers."""

    RESIDENT = "resident"
    STAFF = "staff"

    @property
    def config_prefix(self) -> str:
        return "OIDC_" if self is Audience.RESIDENT else "STAFF_OIDC_"


class SignInFailed(Exception):
    """The provider's answer could not be trusted or was an error; ``reason`` says which."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class VerifiedIdentity:
    issuer: str
    subject: str
    acr: str | None
    claims: dict[str, Any]
    id_token: str


def init_app(app: Flask) -> None:
    oauth = OAuth(app)
    for audience in Audience:
        prefix = audience.config_prefix
        oauth.register(
            audience.value,
            server_metadata_url=app.config[prefix + "DISCOVERY_URL"],
            client_id=app.config[prefix + "CLIENT_ID"],
            client_secret=app.config[prefix + "CLIENT_SECRET"],
            client_kwargs={"scope": SCOPES, "code_challenge_method": "S256", "timeout": 10},
        )
    app.extensions["portal_oidc"] = oauth


def client(audience: Audience) -> Any:
    return current_app.extensions["portal_oidc"].create_client(audience.value)


def required_acr(audience: Audience) -> list[str]:
    """The acceptable assurance levels, space separated in the setting; empty: any."""
    return current_app.config[audience.config_prefix + "ACR"].split()


def start_sign_in(audience: Audience, redirect_uri: str, ui_locale: str) -> Any:
    """Redirect to the provider with PKCE, a nonce, a one-time state kept in the session,
    the resident's language and the assurance level required."""
    params = {"ui_locales": ui_locale}
    if acr := required_acr(audience):
        params["acr_values"] = " ".join(acr)
    try:
        return client(audience).authorize_redirect(redirect_uri, **params)
    except (AuthlibBaseError, requests.RequestException, ValueError) as exc:
        raise SignInFailed("provider_unreachable", repr(exc)) from exc


def complete_sign_in(audience: Audience) -> VerifiedIdentity:
    """Check the authorization response and redeem the code; raise ``SignInFailed`` if unsound.

    Authlib checks the one-time state bound to the session, PKCE, the nonce, the ID token's
    signature against the provider's JWKS (fetching it again for an unknown key id), its
    audience, expiry and issuer. RFC 9207's ``iss`` parameter is checked here, and the
    userinfo endpoint's claims are added (see ``_with_userinfo``).
    """
    provider = client(audience)
    if error := request.args.get("error"):
        raise SignInFailed("cancelled" if error == "access_denied" else "provider_error", error)
    try:
        metadata = provider.load_server_metadata()
        _check_issuer_parameter(metadata)
        token = provider.authorize_access_token()
        id_token_claims = dict(token.get("userinfo") or {})
        if not id_token_claims.get("sub"):
            raise SignInFailed("invalid_response", "no ID token")
        claims = _with_userinfo(provider, metadata, token, id_token_claims)
    except SignInFailed:
        raise
    except (AuthlibBaseError, JoseError, ValueError, KeyError) as exc:
        raise SignInFailed("invalid_response", repr(exc)) from exc
    except requests.RequestException as exc:
        raise SignInFailed("provider_unreachable", repr(exc)) from exc
    return VerifiedIdentity(
        issuer=str(claims["iss"]),
        subject=str(claims["sub"]),
        acr=claims.get("acr"),
        claims=claims,
        id_token=token["id_token"],
    )


def _with_userinfo(
    provider: Any, metadata: dict[str, Any], token: dict[str, Any], id_token_claims: dict[str, Any]
) -> dict[str, Any]:
    """The ID token's claims with those of the userinfo endpoint, when the provider has one.

    Many providers put the profile and address claims only in userinfo (OpenID Connect Core
    5.4). Its ``sub`` must be the ID token's, or the answer is about someone else and is
    refused (5.3.2). Where both name a claim, the signed ID token's value is kept.
    """
    if not metadata.get("userinfo_endpoint"):
        return id_token_claims
    userinfo = dict(provider.userinfo(token=token))
    if not hmac.compare_digest(
        str(userinfo.get("sub", "")).encode(), str(id_token_claims["sub"]).encode()
    ):
        raise SignInFailed("invalid_response", "userinfo names another subject")
    return {**userinfo, **id_token_claims}


def acr_satisfied(audience: Audience, acr: str | None) -> bool:
    acceptable = required_acr(audience)
    return not acceptable or acr in acceptable


def logout_url(
    audience: Audience, id_token: str | None, post_logout_redirect_uri: str
) -> str | None:
    """The provider's RP-initiated logout URL, or None when it offers none."""
    provider = client(audience)
    try:
        metadata = provider.load_server_metadata()
    except (AuthlibBaseError, requests.RequestException, ValueError):
        return None
    if not metadata.get("end_session_endpoint"):
        return None
    result = provider.create_logout_url(
        post_logout_redirect_uri=post_logout_redirect_uri,
        id_token_hint=id_token,
        client_id=provider.client_id,
    )
    return str(result["url"])


def _check_issuer_parameter(metadata: dict[str, Any]) -> None:
    """RFC 9207: the response names its issuer, which must be the one we sent the resident to."""
    iss = request.args.get("iss")
    if iss is None:
        if metadata.get("authorization_response_iss_parameter_supported"):
            raise SignInFailed("invalid_response", "iss parameter missing")
        return
    if not hmac.compare_digest(iss.encode(), str(metadata.get("issuer", "")).encode()):
        raise SignInFailed("invalid_response", "iss parameter names another issuer")


def staff_issuer() -> str:
    """The staff provider's issuer, as its sign-ins record it: for an admin granting a role to
    someone by subject (discovery is fetched once, then kept by Authlib)."""
    try:
        metadata = client(Audience.STAFF).load_server_metadata()
    except (AuthlibBaseError, requests.RequestException, ValueError) as exc:
        raise SignInFailed("provider_unreachable", repr(exc)) from exc
    issuer = metadata.get("issuer")
    if not isinstance(issuer, str) or not issuer:
        raise SignInFailed("invalid_metadata", "the discovery document names no issuer")
    return issuer
