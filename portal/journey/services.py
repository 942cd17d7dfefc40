"""Every change to a case: start, save a page, choose procedures, attach a file, submit."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from werkzeug.datastructures import FileStorage

from portal import files
from portal.accounts.models import Account
from portal.db import db, utcnow
from portal.definitions.model import Item, Snapshot
from portal.definitions.services import parsed_snapshot, snapshot_for
from portal.i18n import current_language
from portal.journey import flow
from portal.journey.models import Attachment, Case, CaseStatus, ProcedureRequest
from portal.postal import lookup
from portal.tenancy.services import municipality_serving

#: What an upload must start with to be what it claims: checked by content, not by name.
SIGNATURES = {
    b"%PDF-": ("application/pdf", "pdf"),
    b"\xff\xd8\xff": ("image/jpeg", "jpg"),
    b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
}
RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's: no I, L, O, U


class InvalidUpload(ValueError):
    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def snapshot_of(case: Case) -> Snapshot:
    return parsed_snapshot(case.snapshot_digest, lambda: case.snapshot)


def draft_of(account: Account, workflow_key: str) -> Case | None:
    query = select(Case).filter_by(
        account_id=account.id,
        workflow_key=workflow_key,
        status=CaseStatus.DRAFT,
        follows_case_id=None,
    )
    return db.session.scalars(query.order_by(Case.id)).first()


def start_case(account: Account, workflow_key: str) -> Case:
    """Resume the resident's draft of this life event, or start one prefilled from sign-in."""
    existing = draft_of(account, workflow_key)
    if existing is not None:
        return existing
    snapshot_row = snapshot_for(workflow_key)
    answers, locked = prefill(
        parsed_snapshot(snapshot_row.digest, lambda: snapshot_row), account.identity or {}
    )
    case = Case(
        account=account,
        snapshot=snapshot_row,
        snapshot_digest=snapshot_row.digest,
        workflow_key=workflow_key,
        answers=answers,
        locked_keys=locked,
        language=current_language(),
    )
    db.session.add(case)
    db.session.flush()
    return case


def start_follow_up(case: Case, form_id: str) -> Case:
    """The case that files a follow-up of a submitted case, once its event has happened: the
    one begun before, else a new one against the same frozen definitions, with its answers."""
    existing = next((c for c in case.follow_ups if c.follow_up_form == form_id), None)
    if existing is not None:
        return existing
    follow_up = Case(
        account_id=case.account_id,
        snapshot_id=case.snapshot_id,
        snapshot_digest=case.snapshot_digest,
        workflow_key=case.workflow_key,
        answers=dict(case.answers),
        locked_keys=list(case.locked_keys),
        language=current_language(),
        follows=case,
        follow_up_form=form_id,
    )
    db.session.add(follow_up)
    db.session.flush()
    return follow_up


def prefill(snapshot: Snapshot, identity: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Answers the provider already certified: name, reading, birth date, sex, address."""
    answers: dict[str, Any] = {}
    locked: list[str] = []
    for key, item in snapshot.vocabulary.items():
        if not item.prefill or item.prefill not in identity:
            continue
        value = _claim_as_answer(item, identity[item.prefill])
        if value is None:
            continue
        answers[key] = value
        if item.prefill_locked:
            locked.append(key)
    return answers, locked


def _claim_as_answer(item: Item, claim: Any) -> Any:
    if item.type == "address":
        return _address_from_claim(claim) if isinstance(claim, Mapping) else None
    if item.type in ("select", "radio"):
        return claim if item.option(str(claim)) else None
    return str(claim) if isinstance(claim, str | int) else None


def _address_from_claim(claim: Mapping[str, Any]) -> dict[str, str] | None:
    """The OIDC address claim as our address answer, with its municipality's code."""
    found = lookup(str(claim.get("postal_code", "")))
    if found is None:
        return None
    street = str(claim.get("street_address", ""))
    if found.town and street.startswith(found.town):
        street = street[len(found.town) :]
    return {
        "postal_code": found.postal_code,
        "prefecture": found.prefecture,
        "city": found.city,
        "town": found.town,
        "street": street,
        "building": "",
        "municipality_code": found.municipality_code,
    }


def keep_unsaved(
    case: Case,
    page: flow.Page,
    formdata: Iterable[tuple[str, str]],
    refused: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """What was typed on a page that could not be saved (errors, a postal lookup, an entry
    added): kept with the draft so the page's GET shows it again after the redirect."""
    case.unsaved = {
        "page": page.slug,
        "formdata": [[name, value] for name, value in formdata if name != "csrf_token"],
        "refused": {key: [str(m) for m in messages] for key, messages in (refused or {}).items()},
    }
    db.session.flush()


def unsaved_for(case: Case, page: flow.Page) -> dict[str, Any] | None:
    unsaved = case.unsaved
    return unsaved if unsaved and unsaved.get("page") == page.slug else None


def save_page(case: Case, page: flow.Page, answers: Mapping[str, Any]) -> None:
    """Keep this page's answers (certified ones stay as they are) and remember the page."""
    if unsaved_for(case, page):
        case.unsaved = None
    merged = dict(case.answers)
    for key, value in answers.items():
        if key not in case.locked_keys:
            merged[key] = value
    case.answers = merged
    if page.slug not in case.completed_pages:
        case.completed_pages = [*case.completed_pages, page.slug]
    db.session.flush()


def choose_procedures(case: Case, declined: list[str]) -> None:
    """Which optional procedures the resident leaves out; required ones cannot be."""
    snapshot = snapshot_of(case)
    optional = {entry.form_id for entry in snapshot.workflow.forms if entry.optional}
    case.declined_forms = sorted(set(declined) & optional)
    if "procedures" not in case.completed_pages:
        case.completed_pages = [*case.completed_pages, "procedures"]
    db.session.flush()


def attach(case: Case, key: str, upload: FileStorage) -> Attachment:
    """Store an upload outside the web root, replacing the earlier one for the same item."""
    limit = int(current_app.config["UPLOAD_MAX_BYTES"])
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise InvalidUpload(_l("The file must be smaller than %(size)s", size=_size(limit)))
    if not data:
        raise InvalidUpload(_l("The selected file is empty"))
    kind = next((kind for magic, kind in SIGNATURES.items() if data.startswith(magic)), None)
    if kind is None:
        raise InvalidUpload(_l("The file must be a PDF, JPEG or PNG"))
    content_type, extension = kind
    storage_name = f"{secrets.token_hex(16)}.{extension}"
    stored = upload_dir() / storage_name
    stored.write_bytes(data)
    files.delete_after_rollback(db.session(), stored)
    for old in [a for a in case.attachments if a.field_key == key]:
        files.delete_after_commit(db.session(), attachment_path(old))
        case.attachments.remove(old)
    attachment = Attachment(
        field_key=key,
        filename=_display_name(upload.filename, extension),
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_name=storage_name,
    )
    case.attachments.append(attachment)
    db.session.flush()
    return attachment


def _size(limit: int) -> str:
    return f"{limit // 2**20} MB" if limit >= 2**20 else f"{limit // 2**10} KB"


def upload_dir() -> Path:
    path = Path(current_app.config.get("UPLOAD_DIR") or Path(current_app.instance_path) / "uploads")
    path.mkdir(parents=True, exist_ok=True)
    return path


def attachment_path(attachment: Attachment) -> Path:
    return upload_dir() / attachment.storage_name


def _display_name(filename: str | None, extension: str) -> str:
    name = Path(filename or "").name.strip()[:200]
    return name or f"document.{extension}"


@dataclass(frozen=True)
class Submission:
    case: Case
    first_time: bool


def submit(case: Case) -> Submission:
    """File every included procedure with its municipality's department, once.

    The draft becomes submitted by one conditional UPDATE: a second submit (a double click,
    a reload, another tab) finds it submitted and files nothing more.
    """
    receipt = _new_receipt_number()
    claimed = db.session.execute(
        update(Case)
        .where(Case.id == case.id, Case.status == CaseStatus.DRAFT)
        .values(status=CaseStatus.SUBMITTED, receipt_number=receipt, submitted_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.refresh(case)
        return Submission(case, first_time=False)
    db.session.refresh(case)
    snapshot = snapshot_of(case)
    for procedure in flow.procedures(
        snapshot, case.answers, case.declined_forms, follow_up=case.follow_up_form
    ):
        if not procedure.included or procedure.municipality_code is None:
            continue
        municipality = municipality_serving(procedure.municipality_code)
        department = (
            municipality.department_of_kind(procedure.form.department_kind)
            if municipality
            else None
        )
        if municipality is None or department is None:
            continue
        case.requests.append(
            ProcedureRequest(
                form_id=procedure.form.id,
                form_version=procedure.form.version,
                municipality=municipality,
                department=department,
                deadline=procedure.deadline,
            )
        )
    db.session.flush()
    return Submission(case, first_time=True)


def _new_receipt_number() -> str:
    """Short enough to read out on the phone: date and eight characters, e.g. 261127-K7Q2-9M4X."""
    random = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(8))
    return f"{utcnow():%y%m%d}-{random[:4]}-{random[4:]}"


def discard(case: Case) -> None:
    """A draft the resident no longer wants, with its uploads."""
    for attachment in case.attachments:
        files.delete_after_commit(db.session(), attachment_path(attachment))
    db.session.delete(case)
    db.session.flush()
