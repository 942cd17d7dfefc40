"""The code under which a department knows a resident: one per department kind and
municipality, never one number shared by all (as agencies do under the My Number system,
each with its own 機関別符号).

A keyed hash of the account, the municipality and the kind: stable, so a clerk recognises
the same resident across their requests; different in every department, so two
departments' records cannot be joined on it; and without the key, not traced back.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app

#: Crockford's base 32: no I, L, O or U, read out on the phone without confusion.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_LENGTH = 12


def resident_code(account_id: int, municipality_code: str, department_kind: str) -> str:
    """E.g. ``K7Q2-9M4X-T3BD``: 60 bits, enough that no two residents of one department
    share a code in practice."""
    message = f"{municipality_code}:{department_kind}:{account_id}".encode()
    digest = hmac.new(_key(), message, hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big")
    symbols = []
    for _ in range(_LENGTH):
        number, index = divmod(number, len(_ALPHABET))
        symbols.append(_ALPHABET[index])
    code = "".join(symbols)
    return "-".join(code[i : i + 4] for i in range(0, _LENGTH, 4))


def _key() -> bytes:
    """The configured key; outside production, one derived from the secret key."""
    configured = current_app.config["PSEUDONYM_KEY"]
    if configured:
        return configured.encode()
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, b"madoguchi resident codes", hashlib.sha256).digest()
