"""The OpenID Provider metadata (OpenID Connect Discovery 1.0, RFC 8414, RFC 9207).

Every URL is built from the configured issuer, never from the request's host: a client that
fetched the document through another name must still see the issuer it will find in tokens.
"""

from __future__ import annotations

from typing import Any

from .clients import SCOPES_SUPPORTED, TOKEN_ENDPOINT_AUTH_METHODS
from .config import LANGUAGES
from .personas import ACR_VALUES

CLAIMS_SUPPORTED = (
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "at_hash",
    "name",
    "family_name",
    "given_name",
    "name#ja-Kana-JP",
    "family_name#ja-Kana-JP",
    "given_name#ja-Kana-JP",
    "birthdate",
    "gender",
    "address",
    "email",
    "email_verified",
)


def provider_metadata(issuer: str) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks",
        "end_session_endpoint": f"{issuer}/logout",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": list(SCOPES_SUPPORTED),
        "acr_values_supported": list(ACR_VALUES),
        "claims_supported": list(CLAIMS_SUPPORTED),
        "claims_locales_supported": ["ja", "ja-Kana-JP"],
        "token_endpoint_auth_methods_supported": list(TOKEN_ENDPOINT_AUTH_METHODS),
        "authorization_response_iss_parameter_supported": True,
        "ui_locales_supported": list(LANGUAGES),
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }
