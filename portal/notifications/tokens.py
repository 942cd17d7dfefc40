"""The confirmation link's token: signed with the secret key, bound to one account, one
address and the nonce of the latest link sent, so nothing secret is stored to check it."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

SALT = "portal.notifications.confirm-email"
#: Longer than any token we make; anything longer is refused before it is decoded.
MAX_TOKEN_LENGTH = 1000


@dataclass(frozen=True)
class ConfirmationClaim:
    account_id: int
    email: str
    nonce: str


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make(claim: ConfirmationClaim) -> str:
    """Deterministic: the job that e-mails the link makes the same token the page would."""
    return str(_serializer().dumps([claim.account_id, claim.email, claim.nonce]))


def read(token: str) -> ConfirmationClaim | None:
    """The claim of a token we signed; None for anything else."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        account_id, email, nonce = _serializer().loads(token)
    except (BadData, ValueError, TypeError):
        return None
    if not (isinstance(account_id, int) and isinstance(email, str) and isinstance(nonce, str)):
        return None
    return ConfirmationClaim(account_id, email, nonce)
