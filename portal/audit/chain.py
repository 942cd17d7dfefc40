"""The audit log's hashes, and checking a chain from its first entry to its head."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from portal.audit.models import GENESIS_HASH, AuditChainHead, AuditEntry
from portal.db import db

#: The fields an entry's hash covers, the previous entry's hash among them.
HASHED = ("chain", "seq", "at", "actor_id", "action", "subject", "details", "prev_hash")


def hash_of(entry: Any) -> str:
    """The hash of an entry, or of a row read back with its fields."""
    return entry_hash(**{name: getattr(entry, name) for name in HASHED})


def entry_hash(
    *,
    chain: str,
    seq: int,
    at: datetime,
    actor_id: int | None,
    action: str,
    subject: str,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 of the entry's fields as canonical JSON (sorted keys, no spaces, UTF-8, the
    time in UTC to the microsecond), the previous entry's hash included."""
    canonical = json.dumps(
        {
            "chain": chain,
            "seq": seq,
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor_id": actor_id,
            "action": action,
            "subject": subject,
            "details": details,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Fault:
    """The first entry of a chain that does not check out, and how."""

    chain: str
    seq: int
    entry_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"entry #{self.seq}" + (f" (id {self.entry_id})" if self.entry_id else "")
        return f"chain {self.chain}: {where}: {self.problem}"


@dataclass
class Verified:
    chains: int = 0
    entries: int = 0
    fault: Fault | None = None


def verify(batch: int = 1000) -> Verified:
    """Recompute every chain from its first entry and compare it with its head row; stop at
    the first fault. Entries are streamed, ``batch`` rows at a time."""
    heads = {h.chain: h for h in db.session.scalars(select(AuditChainHead))}
    chains = sorted(set(heads) | set(db.session.scalars(select(AuditEntry.chain).distinct())))
    result = Verified()
    for chain in chains:
        result.chains += 1
        table = AuditEntry.__table__
        query = select(table).where(table.c.chain == chain).order_by(table.c.seq)
        # Streamed (a server-side cursor on PostgreSQL), closed even when a fault stops early.
        with db.session.execute(query.execution_options(yield_per=batch)) as rows:
            fault = _verify_chain(chain, heads.get(chain), iter(rows), result)
        if fault is not None:
            result.fault = fault
            return result
    return result


def _verify_chain(
    chain: str, head: AuditChainHead | None, entries: Iterator[Any], result: Verified
) -> Fault | None:
    seq, last_hash, last_id = 0, GENESIS_HASH, None
    for row in entries:
        if row.seq != seq + 1:
            return Fault(chain, seq + 1, None, "missing: the entry was deleted")
        if row.prev_hash != last_hash:
            return Fault(chain, row.seq, row.id, "does not follow the entry before it (inserted?)")
        if hash_of(row) != row.hash:
            return Fault(chain, row.seq, row.id, "its content does not match its hash (edited)")
        seq, last_hash, last_id = row.seq, row.hash, row.id
        result.entries += 1
    if head is None:
        return Fault(chain, seq, last_id, "the chain has no head row")
    if head.seq > seq:
        return Fault(chain, seq + 1, None, "missing: the chain's last entries were deleted")
    if head.seq != seq or head.hash != last_hash:
        return Fault(chain, seq, last_id, "the head row names another last entry (inserted?)")
    return None
