"""Revocation as a Token Status List (draft-ietf-oauth-status-list-21).

The one source of a certificate's status: the verify page asks :func:`status_of`, and every
other verifier downloads the signed list (``GET /status-lists/<id>``) and reads the bits at the
certificate's index. Entry points for the certificates:

- :func:`allocate` when a certificate is issued: ``(list_id, index)``, an index drawn at random
  among the free ones of the municipality's open list, never handed out again;
- :func:`set_status` to revoke (final) or suspend (reversible) it;
- :func:`status_of` to read it back; :func:`list_uri` for the list's URI, and
  :func:`status_claim` for the ``status`` claim of a credential (a later wallet credential);
- :func:`published` for the signed token itself.

Two bits per status: the draft's VALID, INVALID and SUSPENDED (a certificate put on hold while
a decision is reconsidered, without spending its index or revoking it for good). The cost is
nothing to speak of: 131,072 entries are 32 KiB before compression, 70 characters of ``lst``
after while all are valid, about 2 KB with 1,000 revoked (measured; random indices compress
worst, so that is the upper end).

Indices are random so that neighbouring certificates (a family's, a day's) do not sit side by
side in the list, and a verifier learns nothing from an index but its status (the draft's
privacy considerations: herd privacy).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from joserfc import jwt
from sqlalchemy import select, text, update

from portal.certificates import statuslist_keys
from portal.certificates.statuslist_models import (
    Status,
    StatusList,
    StatusListEntry,
    StatusPurpose,
)
from portal.db import db, on_postgresql, utcnow
from portal.web.security import external_url

#: Bits per status of every new list (see the module's docstring).
BITS = 2
TOKEN_TYPE = "statuslist+jwt"
MEDIA_TYPE_JWT = "application/statuslist+jwt"
#: The unsigned form, for people reading the list: draft -05 defined it, -06 dropped it, so
#: verifiers use the signed token only.
MEDIA_TYPE_JSON = "application/statuslist+json"
#: How long a token stays valid (``exp``): a verifier that cannot reach us may use its copy
#: this long; one that can fetches a new one every ``ttl`` seconds.
VALIDITY_SECONDS = 24 * 3600
#: Random draws before listing the free indices outright (a nearly full list).
_DRAWS = 64
_DRAWS_PER_QUERY = 16
#: pg_advisory_xact_lock's first key: allocations for one municipality take turns.
_ALLOCATION_LOCK = 0x5354_4C31  # "STL1"


class UnknownEntry(LookupError):
    """No such list, or an index that was never handed out."""


class FinalStatus(ValueError):
    """A revoked entry stays revoked."""


# -- The bitstring (section 4.1) ----------------------------------------------------------


def pack(entries: Iterable[tuple[int, int]], size: int, bits: int) -> bytes:
    """The byte array of ``size`` statuses of ``bits`` each, from (index, status) pairs:
    index 0 in the least significant bits of byte 0."""
    per_byte = 8 // bits
    array = bytearray(size * bits // 8)
    for index, status in entries:
        if not 0 <= index < size or not 0 <= status < 1 << bits:
            raise ValueError(f"status {status} at {index} does not fit")
        array[index // per_byte] |= status << (index % per_byte * bits)
    return bytes(array)


def read(array: bytes, index: int, bits: int) -> int:
    """The status at ``index`` (a verifier's step: out of bounds is an error)."""
    per_byte = 8 // bits
    if not 0 <= index < len(array) * per_byte:
        raise IndexError(index)
    return array[index // per_byte] >> (index % per_byte * bits) & ((1 << bits) - 1)


def encode(array: bytes) -> str:
    """``lst``: DEFLATE in the ZLIB format at the highest level, base64url without padding."""
    return base64.urlsafe_b64encode(zlib.compress(array, 9)).rstrip(b"=").decode("ascii")


def decode(lst: str) -> bytes:
    return zlib.decompress(base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4)))


# -- Allocation and statuses --------------------------------------------------------------


def allocate(
    municipality_id: int, purpose: StatusPurpose = StatusPurpose.CERTIFICATE
) -> tuple[int, int]:
    """A new index for the municipality's next certificate: ``(list_id, index)``.

    On PostgreSQL the municipality's allocations take turns (an advisory lock held to the end
    of the transaction), so two at once neither draw the same index nor open two new lists;
    the entry's primary key refuses a reused index whatever happens. Only flushes.
    """
    if on_postgresql():
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :key)"),
            {"space": _ALLOCATION_LOCK, "key": municipality_id},
        )
    status_list = db.session.scalar(
        select(StatusList)
        .where(
            StatusList.municipality_id == municipality_id,
            StatusList.purpose == purpose,
            StatusList.allocated < StatusList.size,
        )
        .order_by(StatusList.id)
        .limit(1)
    )
    if status_list is None:
        status_list = StatusList(
            municipality_id=municipality_id,
            purpose=purpose,
            bits=BITS,
            size=current_app.config["STATUS_LIST_SIZE"],
            allocated=0,
        )
        db.session.add(status_list)
        db.session.flush()
    index = _free_index(status_list)
    db.session.add(
        StatusListEntry(
            list_id=status_list.id,
            idx=index,
            municipality_id=municipality_id,
            status=Status.VALID,
        )
    )
    status_list.allocated += 1
    db.session.flush()
    return status_list.id, index


def _free_index(status_list: StatusList) -> int:
    """An index drawn uniformly among the free ones: random draws while most are free (each
    draw is free with the list's free share), the free ones listed once the draws miss."""
    taken_in = select(StatusListEntry.idx).where(StatusListEntry.list_id == status_list.id)
    for _ in range(_DRAWS // _DRAWS_PER_QUERY):
        draws = [secrets.randbelow(status_list.size) for _ in range(_DRAWS_PER_QUERY)]
        taken = set(db.session.scalars(taken_in.where(StatusListEntry.idx.in_(draws))))
        for draw in draws:
            if draw not in taken:
                return draw
    taken = set(db.session.scalars(taken_in))
    free = [index for index in range(status_list.size) if index not in taken]
    if not free:
        raise RuntimeError(f"status list {status_list.id} is full")
    return secrets.choice(free)


def set_status(list_id: int, index: int, status: Status) -> bool:
    """Change an entry's status; True when it changed. Revoked (INVALID) is final.

    The entry's row is locked, and the list's version moves on with the change, so the next
    token published carries it. Only flushes."""
    status = Status(status)
    entry = db.session.scalar(
        select(StatusListEntry)
        .where(StatusListEntry.list_id == list_id, StatusListEntry.idx == index)
        .with_for_update()
    )
    if entry is None:
        raise UnknownEntry(f"no index {index} was handed out in status list {list_id}")
    if entry.status == status:
        return False
    if entry.status == Status.INVALID:
        raise FinalStatus(f"index {index} of status list {list_id} is revoked for good")
    now = utcnow()
    entry.status = status
    entry.changed_at = now
    db.session.execute(
        update(StatusList)
        .where(StatusList.id == list_id)
        .values(version=StatusList.version + 1, updated_at=now)
    )
    db.session.flush()
    return True


def status_of(list_id: int, index: int) -> Status:
    """An entry's status, as the next published token says it."""
    status = db.session.scalar(
        select(StatusListEntry.status).where(
            StatusListEntry.list_id == list_id, StatusListEntry.idx == index
        )
    )
    if status is None:
        raise UnknownEntry(f"no index {index} was handed out in status list {list_id}")
    return Status(status)


def list_uri(list_id: int) -> str:
    """The list's URI: the token's ``sub``, and what a certificate's reference names."""
    return external_url("status_lists.token", list_id=list_id)


def status_claim(list_id: int, index: int) -> dict[str, dict[str, Any]]:
    """The ``status`` claim a Referenced Token (a JWT, an SD-JWT VC) carries: section 6.1."""
    return {"status_list": {"idx": index, "uri": list_uri(list_id)}}


# -- The published token (section 5.1) ----------------------------------------------------


@dataclass(frozen=True)
class Published:
    """A signed token and what it says."""

    token: str
    claims: dict[str, Any]
    version: int
    kid: str
    #: A hash of what the token says (its list, statuses, ``ttl`` and key), not of when it
    #: was signed: every process, signing at its own moment (and ECDSA signatures differ
    #: each time), gives the same content the same weak validator (``W/"..."``).
    digest: str
    #: When a status of the list last changed (or it was made), from the database: the
    #: same ``Last-Modified`` from every process.
    changed_at: datetime

    @property
    def issued_at(self) -> int:
        return int(self.claims["iat"])

    def fresh_for(self, now: float) -> int:
        """Seconds a cache may keep it from ``now`` (its ``ttl`` left), never below zero."""
        return max(0, self.issued_at + int(self.claims["ttl"]) - int(now))


def published(list_id: int) -> Published | None:
    """The list's current token, signed again when a status changed or its ``ttl`` ran out;
    None for an unknown list. Kept per process: a GET signs at most once per ``ttl``."""
    row = db.session.execute(
        select(
            StatusList.version,
            StatusList.bits,
            StatusList.size,
            StatusList.created_at,
            StatusList.updated_at,
        ).where(StatusList.id == list_id)
    ).one_or_none()
    if row is None:
        return None
    version, bits, size, created_at, updated_at = row
    key = statuslist_keys.signing_key()
    # By list id: the token and the (version, creation) of the list it says; the creation
    # tells apart a list of an emptied test database whose id was handed out again.
    cache: dict[int, tuple[tuple[int, datetime], Published]] = current_app.extensions.setdefault(
        "status_list_tokens", {}
    )
    now = time.time()
    stamp, kept = cache.get(list_id, (None, None))
    if (
        kept is not None
        and stamp == (version, created_at)
        and kept.claims["sub"] == list_uri(list_id)
        and kept.fresh_for(now) > 0
        and kept.kid == key.kid
    ):
        return kept
    entries = db.session.execute(
        select(StatusListEntry.idx, StatusListEntry.status).where(
            StatusListEntry.list_id == list_id, StatusListEntry.status != Status.VALID
        )
    )
    ttl = current_app.config["STATUS_LIST_TTL"]
    claims = {
        "sub": list_uri(list_id),
        "iat": int(now),
        "exp": int(now) + VALIDITY_SECONDS,
        "ttl": ttl,
        "status_list": {"bits": bits, "lst": encode(pack(entries, size, bits))},
    }
    header = {"alg": statuslist_keys.ALGORITHM, "typ": TOKEN_TYPE, "kid": key.kid}
    token = jwt.encode(header, claims, key)
    said = {name: claims[name] for name in ("sub", "ttl", "status_list")}
    said["kid"] = key.kid
    digest = hashlib.sha256(json.dumps(said, sort_keys=True).encode()).hexdigest()[:32]
    fresh = Published(
        token=token,
        claims=claims,
        version=version,
        kid=key.kid or "",
        digest=digest,
        changed_at=updated_at,
    )
    cache[list_id] = ((version, created_at), fresh)
    return fresh
