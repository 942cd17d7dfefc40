"""The relying parties registered at the provider (``DEVIDP_CLIENTS``), as Authlib clients."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin, list_to_scope, scope_to_list

#: Confidential clients only: the portal keeps its secret on the server.
TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
SCOPES_SUPPORTED = ("openid", "profile", "address", "email")


@dataclass(frozen=True)
class Client(ClientMixin):
    """One registered client; redirect URIs must match exactly, as OAuth 2.0 BCP requires."""

    client_id: str
    client_secret: str
    client_name: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]

    @classmethod
    def from_config(cls, data: Mapping[str, Any]) -> Client:
        return cls(
            client_id=data["client_id"],
            client_secret=data["client_secret"],
            client_name=data.get("client_name") or data["client_id"],
            redirect_uris=tuple(data["redirect_uris"]),
            post_logout_redirect_uris=tuple(data.get("post_logout_redirect_uris") or ()),
        )

    @property
    def client_metadata(self) -> dict[str, Any]:
        """Registration metadata, read by Authlib's userinfo and end-session endpoints."""
        return {
            "client_name": self.client_name,
            "redirect_uris": list(self.redirect_uris),
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris),
            "token_endpoint_auth_method": TOKEN_ENDPOINT_AUTH_METHODS[0],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
        }

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        """None: OpenID Connect requires ``redirect_uri`` in every authorization request."""
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        return list_to_scope([s for s in scope_to_list(scope) if s in SCOPES_SUPPORTED])

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint == "token":
            return method in TOKEN_ENDPOINT_AUTH_METHODS
        return True

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


class ClientRegistry:
    """Clients by id; built once from the configuration."""

    def __init__(self, clients: Iterable[Client]) -> None:
        self._clients = {client.client_id: client for client in clients}

    @classmethod
    def from_config(cls, data: Iterable[Mapping[str, Any]]) -> ClientRegistry:
        return cls(Client.from_config(item) for item in data)

    def get(self, client_id: str | None) -> Client | None:
        if not client_id:
            return None
        return self._clients.get(client_id)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._clients.values())

    def redirect_origins(self) -> list[str]:
        """Origins of all redirect URIs, for the CSP ``form-action`` directive."""
        origins = set()
        for client in self._clients.values():
            for uri in client.redirect_uris:
                parts = urlsplit(uri)
                if parts.scheme and parts.netloc:
                    origins.add(f"{parts.scheme}://{parts.netloc}")
        return sorted(origins)
