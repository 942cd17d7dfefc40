"""The OpenID Connect provider proper: Authlib's authorization server, wired to our stores.

What Authlib checks for us: the client, the exact redirect URI, the response type, scopes,
PKCE (S256 only, and required here), the nonce (required), the client's secret at the token
endpoint, the code's binding to client and redirect URI, bearer tokens at /userinfo, and the
id_token_hint of RP-initiated logout. What we add: single-use codes with replay revocation,
pairwise subjects, keys read from disk at each use, RFC 9207's ``iss`` on every redirect.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import (
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Request,
    scope_to_list,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.core import OpenIDCode, UserInfo, UserInfoEndpoint
from authlib.oidc.core.grants.util import is_openid_scope
from authlib.oidc.rpinitiated import EndSessionEndpoint, EndSessionRequest
from flask import Flask, Response, g, session
from joserfc.jwk import KeySet, RSAKey

from .clients import TOKEN_ENDPOINT_AUTH_METHODS, Client, ClientRegistry
from .keys import ALGORITHM, pairwise_salt, public_jwks, signing_key
from .lockout import PinGuard
from .store import AccessToken, AuthorizationCode, SharedStore, SignedIn
from .subjects import pairwise_subject


@dataclass
class ProviderState:
    """Everything one provider app holds; kept in ``app.extensions["devidp"]``."""

    issuer: str
    key_dir: str
    clients: ClientRegistry
    store: SharedStore
    pins: PinGuard
    id_token_lifetime: int
    code_lifetime: int
    #: Profile and address claims only at /userinfo, as most providers do; the ID token then
    #: names only whom it is about.
    claims_in_userinfo_only: bool
    #: How many load personas (load-0001 …) may sign in; 0: the demo personas alone.
    load_personas: int
    server: DevAuthorizationServer
    issuer_parameter: DevIssuerParameter


class DevAuthorizationServer(AuthorizationServer):
    """Authlib's Flask server that knows its provider state (grants reach it as ``server``)."""

    state: ProviderState


def user_claims(state: ProviderState, user: SignedIn, scope: str) -> UserInfo:
    """``sub`` (pairwise for the client) and the identity claims for the granted scopes."""
    salt = pairwise_salt(state.key_dir)
    claims = UserInfo(sub=pairwise_subject(user.persona.id, user.client_id, salt))
    claims.update(user.persona.identity_claims(set(scope_to_list(scope) or [])))
    return claims


class CodeGrant(AuthorizationCodeGrant):
    """The authorization code grant, refusing plain OAuth: this is an OpenID provider."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(TOKEN_ENDPOINT_AUTH_METHODS)
    server: DevAuthorizationServer

    def validate_authorization_request(self) -> str:
        redirect_uri: str = super().validate_authorization_request()
        if not is_openid_scope(self.request.payload.scope):
            raise InvalidScopeError("The 'openid' scope is required.", redirect_uri=redirect_uri)
        return redirect_uri

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        state = self.server.state
        data = request.payload.data
        state.store.save_code(
            AuthorizationCode(
                code=code,
                client_id=request.client.client_id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                user=request.user,
                expires_at=state.store.clock() + state.code_lifetime,
            )
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        return self.server.state.store.claim_code(code, client.client_id)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Nothing to do: the code was claimed; its record stays to recognise a replay."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> SignedIn:
        return authorization_code.user


class RequireS256(CodeChallenge):
    """PKCE with S256 for every request, confidential clients included (OAuth 2.0 BCP)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: CodeGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send 'code_challenge' (S256).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be 'S256'.")
        super().validate_code_challenge(grant, redirect_uri)


class DevOpenIDCode(OpenIDCode):
    """ID tokens: RS256 with the newest key on disk, pairwise ``sub``, the persona's ``acr``."""

    def __init__(self, state_holder: DevAuthorizationServer) -> None:
        super().__init__(require_nonce=True)
        self._server = state_holder

    @property
    def state(self) -> ProviderState:
        return self._server.state

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return self.state.store.nonce_used(request.payload.client_id, nonce)

    def _key(self) -> RSAKey:
        """The signing key, read once per request so header ``kid`` and signature agree."""
        key: RSAKey | None = g.get("_devidp_signing_key")
        if key is None:
            key = signing_key(self.state.key_dir)
            g._devidp_signing_key = key
        return key

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self._key()

    def get_client_algorithm(self, client: Client) -> str:
        return ALGORITHM

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": ALGORITHM, "kid": self._key().kid or ""}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.state.issuer,
            "aud": client.client_id,
            "iat": now,
            "exp": now + self.state.id_token_lifetime,
        }

    def generate_user_info(self, user: SignedIn, scope: str) -> UserInfo:
        if self.state.claims_in_userinfo_only:
            return user_claims(self.state, user, "openid")
        return user_claims(self.state, user, scope)


class DevIssuerParameter(IssuerParameter):
    """RFC 9207: every authorization response names its issuer, errors included."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def get_issuer(self) -> str:
        return self.issuer

    def add_to(self, response: Response) -> Response:
        """For error redirects built outside ``create_authorization_response``."""
        self.add_issuer_parameter(None, response)
        return response


class DevBearerTokenValidator(BearerTokenValidator):
    def __init__(self, store: SharedStore) -> None:
        super().__init__()
        self.store = store

    def authenticate_token(self, token_string: str) -> AccessToken | None:
        return self.store.get_token(token_string)


class DevUserInfoEndpoint(UserInfoEndpoint):
    def __init__(self, state_holder: DevAuthorizationServer, protector: ResourceProtector) -> None:
        super().__init__(resource_protector=protector)
        self._server = state_holder

    def get_issuer(self) -> str:
        return self._server.state.issuer

    def generate_user_info(self, user: SignedIn, scope: str) -> UserInfo:
        return user_claims(self._server.state, user, scope)


class DevEndSessionEndpoint(EndSessionEndpoint):
    """RP-initiated logout: clear our session, go back only to a registered URI."""

    server: DevAuthorizationServer

    def get_server_jwks(self) -> KeySet:
        return KeySet.import_key_set(public_jwks(self.server.state.key_dir))  # type: ignore[arg-type]

    def get_algorithms(self) -> list[str]:
        return [ALGORITHM]

    def is_post_logout_redirect_uri_legitimate(
        self,
        request: OAuth2Request,
        post_logout_redirect_uri: str,
        client: Client,
        logout_hint: str | None,
    ) -> bool:
        """The URI is registered for the client named by ``client_id``: that is enough here."""
        return True

    def end_session(self, end_session_request: EndSessionRequest) -> None:
        session.clear()


def init_provider(app: Flask) -> ProviderState:
    """Build the Authlib server for ``app`` and keep the provider's state on the app."""
    config = app.config
    server = DevAuthorizationServer()
    clients = ClientRegistry.from_config(config["DEVIDP_CLIENTS"])
    store = SharedStore(
        config["DEVIDP_KEY_DIR"], clients, load_personas=config["DEVIDP_LOAD_PERSONAS"]
    )
    issuer_parameter = DevIssuerParameter(config["DEVIDP_ISSUER"])
    state = ProviderState(
        issuer=config["DEVIDP_ISSUER"],
        key_dir=config["DEVIDP_KEY_DIR"],
        clients=clients,
        store=store,
        pins=PinGuard(
            config["DEVIDP_KEY_DIR"],
            config["DEVIDP_PIN_ATTEMPTS"],
            config["DEVIDP_LOCK_SECONDS"],
        ),
        id_token_lifetime=config["DEVIDP_ID_TOKEN_LIFETIME"],
        code_lifetime=config["DEVIDP_CODE_LIFETIME"],
        claims_in_userinfo_only=config["DEVIDP_CLAIMS_IN_USERINFO_ONLY"],
        load_personas=config["DEVIDP_LOAD_PERSONAS"],
        server=server,
        issuer_parameter=issuer_parameter,
    )
    server.state = state

    def save_token(token: dict[str, Any], request: OAuth2Request) -> None:
        code = request.authorization_code
        store.save_token(
            AccessToken(
                access_token=token["access_token"],
                client=request.client,
                user=request.user,
                scope=token.get("scope", ""),
                issued_at=time.time(),
                expires_in=int(token["expires_in"]),
            ),
            code.code if code is not None else None,
        )

    server.init_app(app, query_client=clients.get, save_token=save_token)
    server.register_grant(CodeGrant, [RequireS256(), DevOpenIDCode(server)])
    server.register_extension(issuer_parameter)

    protector = ResourceProtector()
    protector.register_token_validator(DevBearerTokenValidator(store))
    server.register_endpoint(DevUserInfoEndpoint(server, protector))
    server.register_endpoint(DevEndSessionEndpoint)

    app.extensions["devidp"] = state
    return state
