"""Authorization codes and access tokens, in the provider's state file (``statefile``).

Every process of the provider shares it, so a code issued by one worker is redeemed at
another and its access token works at the userinfo endpoint of a third. Codes are single
use: the first token request claims a code atomically, and a replay of it revokes the access
tokens the first use obtained (RFC 6749 section 4.1.2).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from authlib.oauth2.rfc6749 import TokenMixin
from authlib.oidc.core import AuthorizationCodeMixin

from .clients import Client, ClientRegistry
from .personas import Persona, persona_by_id
from .statefile import StateFile

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


SCHEMA = """
CREATE TABLE IF NOT EXISTS codes (
    code TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    code_challenge_method TEXT,
    persona_id TEXT NOT NULL,
    acr TEXT NOT NULL,
    auth_time INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS codes_by_nonce ON codes (client_id, nonce);
CREATE TABLE IF NOT EXISTS access_tokens (
    access_token TEXT PRIMARY KEY,
    code TEXT,
    client_id TEXT NOT NULL,
    persona_id TEXT NOT NULL,
    acr TEXT NOT NULL,
    auth_time INTEGER NOT NULL,
    scope TEXT NOT NULL,
    issued_at REAL NOT NULL,
    expires_in INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS access_tokens_by_code ON access_tokens (code);
"""

_CODE_COLUMNS = (
    "code, client_id, redirect_uri, scope, nonce, code_challenge, code_challenge_method,"
    " persona_id, acr, auth_time, expires_at"
)
_TOKEN_COLUMNS = "access_token, client_id, persona_id, acr, auth_time, scope, issued_at, expires_in"


class SharedStore:
    def __init__(
        self,
        key_dir: str | os.PathLike[str],
        clients: ClientRegistry,
        clock: Callable[[], float] = time.time,
        load_personas: int = 0,
    ) -> None:
        self.file = StateFile(key_dir, SCHEMA)
        self.clients = clients
        self.clock = clock
        self.load_personas = load_personas

    def save_code(self, code: AuthorizationCode) -> None:
        user = code.user
        with self.file.transaction() as database:
            self._purge(database)
            database.execute(
                f"INSERT INTO codes ({_CODE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    code.code,
                    code.client_id,
                    code.redirect_uri,
                    code.scope,
                    code.nonce,
                    code.code_challenge,
                    code.code_challenge_method,
                    user.persona.id,
                    user.acr,
                    user.auth_time,
                    code.expires_at,
                ),
            )

    def claim_code(self, code: str, client_id: str) -> AuthorizationCode | None:
        """Return the code once, if it is unexpired and was issued to this client.

        A second attempt finds it used: it is refused and the tokens from the first use are
        revoked, since the code has evidently leaked.
        """
        with self.file.transaction() as database:
            row = database.execute(
                f"SELECT {_CODE_COLUMNS}, used FROM codes WHERE code = ?", (code,)
            ).fetchone()
            if row is None or row[1] != client_id:
                return None
            if row[11]:
                database.execute("UPDATE access_tokens SET revoked = 1 WHERE code = ?", (code,))
                return None
            database.execute("UPDATE codes SET used = 1 WHERE code = ?", (code,))
            if self.clock() >= row[10]:
                return None
            user = self._signed_in(row[7], row[8], row[9], row[1])
            if user is None:
                return None
            return AuthorizationCode(*row[:7], user=user, expires_at=row[10], used=True)

    def nonce_used(self, client_id: str, nonce: str) -> bool:
        """Whether a code was already issued with this nonce: a replayed request."""
        with self.file.transaction() as database:
            found = database.execute(
                "SELECT 1 FROM codes WHERE client_id = ? AND nonce = ? LIMIT 1", (client_id, nonce)
            ).fetchone()
            return found is not None

    def save_token(self, token: AccessToken, code: str | None) -> None:
        user = token.user
        with self.file.transaction() as database:
            database.execute(
                f"INSERT INTO access_tokens ({_TOKEN_COLUMNS}, code)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    token.access_token,
                    token.client.client_id,
                    user.persona.id,
                    user.acr,
                    user.auth_time,
                    token.scope,
                    token.issued_at,
                    token.expires_in,
                    code,
                ),
            )

    def get_token(self, access_token: str) -> AccessToken | None:
        with self.file.transaction() as database:
            self._purge(database)
            row = database.execute(
                f"SELECT {_TOKEN_COLUMNS}, revoked FROM access_tokens WHERE access_token = ?",
                (access_token,),
            ).fetchone()
        if row is None:
            return None
        client = self.clients.get(row[1])
        user = self._signed_in(row[2], row[3], row[4], row[1])
        if client is None or user is None:
            return None
        return AccessToken(
            access_token=row[0],
            client=client,
            user=user,
            scope=row[5],
            issued_at=row[6],
            expires_in=row[7],
            revoked=bool(row[8]),
        )

    def _signed_in(
        self, persona_id: str, acr: str, auth_time: int, client_id: str
    ) -> SignedIn | None:
        persona = persona_by_id(persona_id, self.load_personas)
        return None if persona is None else SignedIn(persona, acr, auth_time, client_id)

    def _purge(self, database: sqlite3.Connection) -> None:
        now = self.clock()
        database.execute(
            "DELETE FROM codes WHERE ? >= expires_at + ?", (now, REPLAY_MEMORY_SECONDS)
        )
        database.execute("DELETE FROM access_tokens WHERE ? >= issued_at + expires_in", (now,))
