"""Authorization codes and access tokens, in memory behind a lock.

The provider is a development tool served by one process, so a dict is enough. Codes are
single use: the first token request claims a code atomically, and a replay of it revokes the
access tokens the first use obtained (RFC 6749 section 4.1.2).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from authlib.oauth2.rfc6749 import TokenMixin
from authlib.oidc.core import AuthorizationCodeMixin

from .clients import Client
from .personas import Persona

#: How long a used or expired code is remembered, to recognise replays and reused nonces.
REPLAY_MEMORY_SECONDS = 600


@dataclass(frozen=True)
class SignedIn:
    """The end user as Authlib sees it: who signed in, how, when, and at which client."""

    persona: Persona
    acr: str
    auth_time: int
    client_id: str


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    user: SignedIn
    expires_at: float
    used: bool = False
    access_tokens: list[str] = field(default_factory=list)

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.user.auth_time

    def get_acr(self) -> str:
        return self.user.acr


@dataclass
class AccessToken(TokenMixin):
    access_token: str
    client: Client
    user: SignedIn
    scope: str
    issued_at: float
    expires_in: int
    revoked: bool = False

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> SignedIn:
        return self.user

    def get_client(self) -> Client:
        return self.client


class MemoryStore:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._codes: dict[str, AuthorizationCode] = {}
        self._tokens: dict[str, AccessToken] = {}
        self._lock = threading.Lock()

    def save_code(self, code: AuthorizationCode) -> None:
        with self._lock:
            self._purge()
            self._codes[code.code] = code

    def claim_code(self, code: str, client_id: str) -> AuthorizationCode | None:
        """Return the code once, if it is unexpired and was issued to this client.

        A second attempt finds it used: it is refused and the tokens from the first use are
        revoked, since the code has evidently leaked.
        """
        with self._lock:
            record = self._codes.get(code)
            if record is None or record.client_id != client_id:
                return None
            if record.used:
                for token in record.access_tokens:
                    if token in self._tokens:
                        self._tokens[token].revoked = True
                return None
            record.used = True
            if self.clock() >= record.expires_at:
                return None
            return record

    def nonce_used(self, client_id: str, nonce: str) -> bool:
        """Whether a code was already issued with this nonce: a replayed request."""
        with self._lock:
            return any(
                record.client_id == client_id and record.nonce == nonce
                for record in self._codes.values()
            )

    def save_token(self, token: AccessToken, code: str | None) -> None:
        with self._lock:
            self._tokens[token.access_token] = token
            if code is not None and code in self._codes:
                self._codes[code].access_tokens.append(token.access_token)

    def get_token(self, access_token: str) -> AccessToken | None:
        with self._lock:
            self._purge()
            return self._tokens.get(access_token)

    def _purge(self) -> None:
        now = self.clock()
        for code, record in list(self._codes.items()):
            if now >= record.expires_at + REPLAY_MEMORY_SECONDS:
                del self._codes[code]
        for value, token in list(self._tokens.items()):
            if now >= token.issued_at + token.expires_in:
                del self._tokens[value]
