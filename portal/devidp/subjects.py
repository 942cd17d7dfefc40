"""Pairwise subject identifiers: one person gets a different, stable ``sub`` at each client.

Like the real public personal authentication, the provider never hands out one identifier
that services could use to link a person across them. The portal's demo loader imports
:func:`subject_for` to know in advance which ``sub`` a demo clerk or administrator will have.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os

from .keys import pairwise_salt


def pairwise_subject(persona_id: str, client_id: str, salt: bytes) -> str:
    """HMAC-SHA256 of (client, person) under the salt, base64url without padding."""
    message = json.dumps([client_id, persona_id], ensure_ascii=False).encode("utf-8")
    digest = hmac.new(salt, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def subject_for(key_dir: str | os.PathLike[str], persona_id: str, client_id: str) -> str:
    """The ``sub`` the provider using ``key_dir`` gives this person at this client."""
    return pairwise_subject(persona_id, client_id, pairwise_salt(key_dir))
