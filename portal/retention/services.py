"""Retention: drafts left untouched, and decided cases past their forms' retention, removed.

A draft (a case never sent) untouched for ``DRAFT_RETENTION_DAYS`` is anonymised: its
answers, uploads, messages and account link go; what the KPIs count of it stays (its life
event, its dates, and the municipality its address named), so that an abandoned draft still
counts as started and abandoned, and the completion rates of past months do not rise as
their drafts are removed.

A sent case whose every request is decided is kept for the longest ``retention`` its forms
give, counted from its last decision. The retention is read from the case's own frozen
definitions, or, where the version it was filed against gave none, from the form's version
published now: the period is the procedure's, set by law, so a case filed before its form
stated one is not kept for ever. Then the case is deleted when every such form says
``delete``, and anonymised otherwise: its answers, documents, certificates, messages and
reasons go, its account link too, and the case stays for the figures
(``cases.anonymised_at``), shown on no page. A case none of whose forms gives a retention is
kept.

The work goes in batches, each its own transaction: the batch's cases are locked ``FOR UPDATE
SKIP LOCKED`` on PostgreSQL, so two runs at once never take the same case, and each batch
writes one entry in the portal's audit chain naming its cases. Entries already in the chain
are never touched: they name cases by id, not by a foreign key. A certificate of a removed
case becomes a :class:`~portal.certificates.models.RetiredCertificate`, so the verify page
still says it was issued.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta
from flask import current_app
from sqlalchemy import Select, delete, exists, func, or_, select, update
from sqlalchemy.orm import selectinload

from portal.audit import services as audit
from portal.casework.lifecycle import FINAL
from portal.casework.models import Correction, HandOff, RequestEvent
from portal.certificates import services as certificates
from portal.certificates import storage
from portal.db import db, on_postgresql
from portal.definitions.model import Retention
from portal.definitions.services import Catalog, current_catalog
from portal.japan.clock import utcnow
from portal.journey import files
from portal.journey.models import Attachment, Case, CaseStatus, ProcedureRequest
from portal.journey.services import upload_dir
from portal.kpis.queries import draft_address_key
from portal.mailbox.models import Message
from portal.tenancy.management import PORTAL_CHAIN
from portal.transactions import unit_of_work

#: Cases handled per transaction: few enough to keep locks short, enough to be quick.
BATCH_SIZE = 500
ANONYMISE = "anonymise"
DELETE = "delete"


@dataclass
class Outcome:
    """What a run did (or, dry, would do)."""

    drafts_anonymised: int = 0
    cases_anonymised: int = 0
    cases_deleted: int = 0
    #: Decided cases looked at and kept: no form gives a retention, or it has not ended.
    cases_kept: int = 0
    batches: int = 0


@dataclass(frozen=True)
class Due:
    """A decided case whose retention has ended, and what its forms say to do."""

    case_id: int
    action: str


@dataclass
class _Batch:
    anonymise: list[int] = field(default_factory=list)
    delete: list[int] = field(default_factory=list)
    kept: int = 0
    last_id: int = 0


def run(*, dry_run: bool = False, batch_size: int = BATCH_SIZE) -> Outcome:
    """Remove what retention says is due, a batch per transaction (or count it, dry)."""
    outcome = Outcome()
    now = utcnow()
    draft_cutoff = now - timedelta(days=current_app.config["DRAFT_RETENTION_DAYS"])
    if dry_run:
        outcome.drafts_anonymised = db.session.scalar(
            select(func.count()).select_from(_drafts(draft_cutoff).subquery())
        )
        for batch in _decided_batches(now, batch_size, lock=False):
            outcome.cases_anonymised += len(batch.anonymise)
            outcome.cases_deleted += len(batch.delete)
            outcome.cases_kept += batch.kept
        db.session.rollback()
        return outcome
    while True:
        with unit_of_work():
            removed = anonymise_drafts(draft_cutoff, batch_size, now)
        if not removed:
            break
        outcome.drafts_anonymised += removed
        outcome.batches += 1
    after = 0
    while True:
        with unit_of_work():
            batch = _next_decided_batch(now, after, batch_size, lock=True)
            if batch is None:
                break
            anonymise_cases(batch.anonymise, now)
            delete_cases(batch.delete)
        after = batch.last_id
        outcome.cases_anonymised += len(batch.anonymise)
        outcome.cases_deleted += len(batch.delete)
        outcome.cases_kept += batch.kept
        outcome.batches += 1
    return outcome


# Drafts ---------------------------------------------------------------------------------


def _drafts(cutoff: datetime) -> Select[tuple[int]]:
    return select(Case.id).where(
        Case.status == CaseStatus.DRAFT, Case.updated_at < cutoff, Case.anonymised_at.is_(None)
    )


def anonymise_drafts(cutoff: datetime, limit: int, now: datetime) -> int:
    """Anonymise up to ``limit`` drafts untouched since ``cutoff``, their uploads' files
    deleted once committed; the number anonymised. Flush only."""
    query = _drafts(cutoff).add_columns(Case.workflow_key, Case.answers, Case.updated_at)
    rows = db.session.execute(_skip_locked(query.order_by(Case.id).limit(limit))).all()
    if not rows:
        return 0
    ids = [row.id for row in rows]
    _remove_documents_and_messages(ids)
    catalog = current_catalog()
    db.session.execute(
        update(Case),
        [
            {
                "id": row.id,
                "answers": kept_of_draft(row.workflow_key, row.answers, catalog),
                "account_id": None,
                "locked_keys": [],
                "unsaved": None,
                "anonymised_at": now,
                "updated_at": row.updated_at,  # still untouched since: still abandoned
            }
            for row in rows
        ],
    )
    _record("retention.drafts_anonymised", ids, untouched_since=cutoff.isoformat())
    return len(ids)


def kept_of_draft(workflow_key: str, answers: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    """Of a draft's answers, only what places it in a municipality's KPIs: the municipality
    code of the address the KPIs read (``kpis.queries.draft_address_key``)."""
    workflow = catalog.workflow(workflow_key)
    key = draft_address_key(workflow) if workflow is not None else None
    answer = answers.get(key) if key else None
    code = answer.get("municipality_code") if isinstance(answer, dict) else None
    return {key: {"municipality_code": code}} if key and code else {}


# Decided cases --------------------------------------------------------------------------


def _decided_batches(now: datetime, size: int, *, lock: bool) -> Iterator[_Batch]:
    after = 0
    while (batch := _next_decided_batch(now, after, size, lock=lock)) is not None:
        yield batch
        after = batch.last_id


def _next_decided_batch(now: datetime, after: int, size: int, *, lock: bool) -> _Batch | None:
    """The next ``size`` sent cases after id ``after`` whose requests are all decided, at
    least a year ago (the shortest retention a form may give), sorted into those due for
    anonymising, those due for deleting and those kept."""
    decided_on = func.coalesce(ProcedureRequest.decided_at, ProcedureRequest.created_at)
    last_decision = (
        select(func.max(decided_on))
        .where(ProcedureRequest.case_id == Case.id)
        .correlate(Case)
        .scalar_subquery()
    )
    still_open = exists().where(
        ProcedureRequest.case_id == Case.id, ProcedureRequest.status.not_in(sorted(FINAL))
    )
    query = (
        select(Case)
        .where(
            Case.status == CaseStatus.SUBMITTED,
            Case.anonymised_at.is_(None),
            Case.id > after,
            ~still_open,
            last_decision < now - timedelta(days=365),
        )
        .order_by(Case.id)
        .limit(size)
        .options(selectinload(Case.requests), selectinload(Case.follow_ups))
    )
    cases = list(db.session.scalars(_skip_locked(query) if lock else query))
    if not cases:
        return None
    batch = _Batch(last_id=cases[-1].id)
    catalog = current_catalog()
    for case in cases:
        due = due_of(case, now, catalog)
        if due is None:
            batch.kept += 1
        elif due.action == DELETE:
            batch.delete.append(case.id)
        else:
            batch.anonymise.append(case.id)
    return batch


def due_of(case: Case, now: datetime, catalog: Catalog) -> Due | None:
    """What retention says of a decided case now: None while it is kept."""
    retentions = [
        retention
        for request in case.requests
        if (retention := _retention_of(request, catalog)) is not None
    ]
    if not retentions or not case.requests:
        return None
    years = max(r.years for r in retentions)
    last = max(r.decided_at or r.created_at for r in case.requests)
    if last + relativedelta(years=years) > now:  # 29 February: the 28th without one
        return None
    action = DELETE if all(r.action == DELETE for r in retentions) else ANONYMISE
    if action == DELETE and case.follow_ups:
        # Deleting it would delete the cases that follow it up (their own retention runs):
        # once they are deleted, a later run deletes it.
        action = ANONYMISE
    return Due(case.id, action)


def _retention_of(request: ProcedureRequest, catalog: Catalog) -> Retention | None:
    """The request's form's retention as filed, or else as the form is published now (the
    municipality's own version of it first, as when a case is filed)."""
    filed = request.form_definition.retention
    if filed is not None:
        return filed
    published = catalog.published_form(request.form_id, request.municipality.code) or {}
    return Retention.of(published.get("retention"))


def anonymise_cases(ids: list[int], now: datetime) -> None:
    """Take the personal data out of these cases, keeping what the figures count (their
    municipality, forms, statuses and dates). Flush only; files go once committed."""
    if not ids:
        return
    requests = _requests_of(ids)
    _remove_documents_and_messages(ids)
    unsynchronised = {"synchronize_session": False}
    statements = [
        update(RequestEvent)
        .where(RequestEvent.request_id.in_(requests))
        .values(reason="", changes={}),
        update(Correction).where(Correction.request_id.in_(requests)).values(reason="", changes={}),
        update(HandOff).where(HandOff.case_id.in_(ids)).values(data={}),
    ]
    for statement in statements:
        db.session.execute(statement.execution_options(**unsynchronised))
    db.session.execute(
        update(ProcedureRequest)
        .where(ProcedureRequest.case_id.in_(ids))
        .values(answers={}, answers_digest="", resident_code="")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Case)
        .where(Case.id.in_(ids))
        .values(account_id=None, answers={}, locked_keys=[], unsaved=None, anonymised_at=now)
        .execution_options(synchronize_session=False)
    )
    _record("retention.cases_anonymised", ids)


def delete_cases(ids: list[int]) -> None:
    """Delete these cases and all that hangs on them (the database's cascades: requests,
    their history, hand-offs, bookings, messages; access records keep their row without the
    link). Flush only; files go once committed."""
    if not ids:
        return
    _remove(ids)
    _record("retention.cases_deleted", ids)


def _record(action: str, ids: list[int], **details: str) -> None:
    """The batch's one entry in the portal's audit chain, naming its cases by id."""
    audit.append(
        PORTAL_CHAIN, actor=None, action=action, subject="cases", details={"cases": ids, **details}
    )


def _remove(ids: list[int]) -> None:
    _retire_files_and_certificates(ids)
    db.session.execute(
        delete(Case).where(Case.id.in_(ids)).execution_options(synchronize_session=False)
    )


def _requests_of(ids: list[int]) -> Select[tuple[int]]:
    return select(ProcedureRequest.id).where(ProcedureRequest.case_id.in_(ids))


def _remove_documents_and_messages(ids: list[int]) -> None:
    """What any anonymised case (a draft too) loses whole: its uploads and certificates
    (files once committed), and the mailbox messages about it or its requests."""
    _retire_files_and_certificates(ids)
    about = or_(Message.case_id.in_(ids), Message.request_id.in_(_requests_of(ids)))
    for statement in (
        delete(Attachment).where(Attachment.case_id.in_(ids)),
        delete(Message).where(about),
    ):
        db.session.execute(statement.execution_options(synchronize_session=False))


def _retire_files_and_certificates(ids: list[int]) -> None:
    """The uploads' and certificates' files of these cases, deleted once the transaction
    commits (a rollback keeps rows and files alike); their certificates retired now."""
    uploads = upload_dir()
    names = db.session.scalars(select(Attachment.storage_name).where(Attachment.case_id.in_(ids)))
    paths: list[Path] = [uploads / name for name in names]
    paths += [storage.path_of(name) for name in certificates.retire_of_cases(ids)]
    for path in paths:
        files.delete_after_commit(db.session, path)


def _skip_locked(query: Select[Any]) -> Select[Any]:
    """The rows another run holds are left to it (PostgreSQL; SQLite has one writer)."""
    if on_postgresql():
        return query.with_for_update(of=Case, skip_locked=True)
    return query
