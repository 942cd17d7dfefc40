"""Every write to the audit log and the access record. Flush only: the caller's unit of work
(the request, a command, a job) commits, so an entry exists exactly when what it records does.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from portal.accounts.models import Account
from portal.audit.chain import hash_of
from portal.audit.models import (
    GENESIS_HASH,
    AccessPurpose,
    AccessRecord,
    AuditChainHead,
    AuditEntry,
)
from portal.db import conflict_insert, db, utcnow
from portal.journey.models import Case, ProcedureRequest
from portal.tenancy.models import Department, Municipality


def append(
    chain: str, *, actor: Account | None, action: str, subject: str, details: dict[str, Any]
) -> AuditEntry:
    """Add the next entry to ``chain`` ("municipality:131016", "portal").

    The chain's head row is locked (``FOR UPDATE`` on PostgreSQL; SQLite's one writer does
    the same) until the transaction ends, so concurrent appends take turns and never fork
    the chain: call this late in a unit of work. ``details`` must be plain JSON; it is
    stored as it reads back, so its hash can be checked later.
    """
    _ensure_head(chain)
    head = db.session.scalars(
        select(AuditChainHead)
        .where(AuditChainHead.chain == chain)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    entry = AuditEntry(
        chain=chain,
        seq=head.seq + 1,
        at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject=subject,
        details=json.loads(json.dumps(details, allow_nan=False)),
        prev_hash=head.hash,
    )
    entry.hash = hash_of(entry)
    head.seq, head.hash = entry.seq, entry.hash
    db.session.add(entry)
    db.session.flush()
    return entry


def _ensure_head(chain: str) -> None:
    """The chain's head row, created at its first entry; two first appends at once both
    find it afterwards (the second waits for the first to commit)."""
    db.session.execute(
        conflict_insert(AuditChainHead)
        .values(chain=chain, seq=0, hash=GENESIS_HASH)
        .on_conflict_do_nothing(index_elements=["chain"])
    )


def municipality_chain(municipality: Municipality) -> str:
    return f"municipality:{municipality.code}"


def record_access(
    resident: Account,
    *,
    staff: Account | None,
    municipality: Municipality,
    department: Department | None,
    form_id: str | None,
    purpose: AccessPurpose,
    case: Case | None = None,
    request: ProcedureRequest | None = None,
) -> AccessRecord:
    """Note that an office had the resident's information: in the resident's access record,
    which they read, and in the municipality's audit chain, which outlives their account."""
    record = AccessRecord(
        resident_id=resident.id,
        staff_id=staff.id if staff is not None else None,
        municipality_id=municipality.id,
        department_id=department.id if department is not None else None,
        form_id=form_id,
        purpose=purpose,
        case_id=case.id if case is not None else None,
        request_id=request.id if request is not None else None,
    )
    db.session.add(record)
    db.session.flush()
    subject = (
        f"request:{request.id}"
        if request is not None
        else f"case:{case.id}"
        if case is not None
        else f"account:{resident.id}"
    )
    append(
        municipality_chain(municipality),
        actor=staff,
        action=f"access.{purpose.value}",
        subject=subject,
        details={
            "access_record": record.id,
            "resident": resident.id,
            "department": department.kind if department is not None else None,
            "form_id": form_id,
            "case": record.case_id,
        },
    )
    return record
