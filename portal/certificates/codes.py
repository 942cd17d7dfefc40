"""Serial numbers and verification codes: short enough to type from paper, never guessed.

The serial (80 bits) names a certificate; the verification code (40 bits) proves the reader
holds its paper or PDF. Only a keyed hash of the code is stored, under a key derived from the
pseudonym key (kept for good, so codes stay checkable), and compared in constant time: a copy
of the database does not give the codes away, and 40 bits are not brute-forced online behind
the verify page's rate limit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app

#: Crockford's base 32: no I, L, O or U, read out on the phone without confusion.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SERIAL_LENGTH = 16
CODE_LENGTH = 8
#: What people type for what they mean (Crockford's decoding rules).
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def _grouped(symbols: str) -> str:
    return "-".join(symbols[i : i + 4] for i in range(0, len(symbols), 4))


def _random(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def new_serial() -> str:
    """E.g. ``C7KQ-M2XW-9TRA-P4HD``."""
    return _grouped(_random(SERIAL_LENGTH))


def new_code() -> str:
    """E.g. ``7QK2-M9XD``."""
    return _grouped(_random(CODE_LENGTH))


def normalized(typed: str, length: int) -> str | None:
    """What was typed, as stored (upper case, grouped by four), or None when it cannot be one:
    spaces, hyphens and lower case are forgiven, O is read as 0 and I or L as 1."""
    symbols = "".join(typed.split()).replace("-", "").upper().translate(_READ_AS)
    if len(symbols) != length or any(symbol not in ALPHABET for symbol in symbols):
        return None
    return _grouped(symbols)


def code_hash(code: str) -> str:
    return hmac.new(_key(), code.encode(), hashlib.sha256).hexdigest()


def code_matches(code: str, stored_hash: str) -> bool:
    return hmac.compare_digest(code_hash(code), stored_hash)


def _key() -> bytes:
    """A key of its own, derived from the pseudonym key (or, in development, the secret key),
    which a deployment keeps for good."""
    base = current_app.config["PSEUDONYM_KEY"] or current_app.config["SECRET_KEY"]
    return hmac.new(base.encode(), b"madoguchi certificate codes", hashlib.sha256).digest()
