"""Every change to certificates, and the verification anyone may ask for.

A certificate is asked for in the transaction of what it records (a case's submission, a
request's decision): a pending row and a job, both or neither. The job renders it, passes the
PDF through :func:`seal` (where the signature goes), stores it and marks it issued; a failed
try is counted and tried again after a wait (:func:`retry_wait_seconds`), up to
:data:`MAX_ATTEMPTS`, then left ``failed`` for the department's clerks to try again. A
decision is never left without its certificate unseen.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cached_property

from flask_babel import gettext as _
from sqlalchemy import delete, select

from portal import jobs
from portal.accounts.models import Account
from portal.audit import services as audit
from portal.audit.models import AccessPurpose
from portal.casework.lifecycle import RequestStatus
from portal.certificates import codes, documents, signing, statuslist, storage
from portal.certificates.models import (
    RECEIPT_KIND,
    Certificate,
    CertificateState,
    RetiredCertificate,
)
from portal.certificates.statuslist_models import Status
from portal.db import db
from portal.definitions.model import Text
from portal.japan.clock import utcnow
from portal.jobs.models import describe
from portal.journey.models import Case, ProcedureRequest
from portal.mailbox.kinds import MessageKind
from portal.mailbox.services import post

ISSUE_TASK = "certificates.issue"
#: Tries of one job before the certificate is marked failed (a clerk's retry starts again).
MAX_ATTEMPTS = 3
#: The wait before the second try; each further one waits twice the one before.
FIRST_RETRY_WAIT_SECONDS = 60
#: The decisions a certificate may record.
DECISIONS = {RequestStatus.APPROVED: "approved", RequestStatus.REJECTED: "rejected"}

logger = logging.getLogger(__name__)


# Asking for one ---------------------------------------------------------------------------


def ask_for_receipt(case: Case) -> Certificate | None:
    """The submission receipt (申請控え) of a case just sent: issued by the municipality and
    department of its first online request (its first request's office when none went
    online). Idempotent: a case has one receipt."""
    existing = db.session.scalar(
        select(Certificate).where(Certificate.case_id == case.id, Certificate.request_id.is_(None))
    )
    if existing is not None or not case.requests:
        return existing
    first = next((r for r in case.requests if r.online), case.requests[0])
    return _ask(
        Certificate(
            kind=RECEIPT_KIND,
            case=case,
            municipality_id=first.municipality_id,
            department_id=first.department_id,
            holder_id=case.account_id,
        ),
        case,
    )


def kind_for_decision(request: ProcedureRequest, status: RequestStatus) -> str | None:
    """The template the request's form names for this decision, if any."""
    decision = DECISIONS.get(status)
    form = request.form_definition
    if decision is None or form.certificate_template is None:
        return None
    return form.certificate_template if decision in form.certificate_issued_on else None


def ask_for_decision(request: ProcedureRequest, status: RequestStatus) -> Certificate | None:
    """A decided request's certificate, when its form names one for this decision. Called by
    :func:`portal.casework.services.act` in the decision's transaction."""
    kind = kind_for_decision(request, status)
    if kind is None:
        return None
    existing = db.session.scalar(select(Certificate).where(Certificate.request_id == request.id))
    if existing is not None:
        return existing
    case = request.case
    return _ask(
        Certificate(
            kind=kind,
            case=case,
            request=request,
            municipality_id=request.municipality_id,
            department_id=request.department_id,
            holder_id=case.account_id,
            decision=DECISIONS[status],
        ),
        case,
    )


def _ask(certificate: Certificate, case: Case) -> Certificate:
    certificate.serial = codes.new_serial()
    certificate.language = case.language
    certificate.state = CertificateState.PENDING
    certificate.attempts = 0
    db.session.add(certificate)
    db.session.flush()
    jobs.defer(ISSUE_TASK, certificate_id=certificate.id)
    return certificate


# Issuing ----------------------------------------------------------------------------------


def seal(certificate: Certificate, pdf: bytes) -> bytes:
    """The one place a rendered PDF passes before it is stored: signed (PAdES, with a
    timestamp when a TSA is configured) by the municipality whose department issues it."""
    department = certificate.department
    issuer = department.municipality if department is not None else certificate.municipality
    return signing.sign_pdf(
        pdf,
        issuer,
        reason=f"{certificate.kind} {certificate.serial}",
        location=issuer.name_ja,
    )


def issue(certificate_id: int) -> Certificate | None:
    """The job's work: render, seal and store the certificate, then mark it issued.

    Idempotent (an issued certificate is left as it is) and safe beside a second worker (the
    row is locked). A failure is recorded (``attempts``, ``last_error``) and, before the last
    try, the job is deferred again, to run after a wait; after it the certificate is
    ``failed``. Either way this returns normally, so that what it recorded is committed.
    """
    certificate = db.session.scalar(
        select(Certificate).where(Certificate.id == certificate_id).with_for_update(of=Certificate)
    )
    if certificate is None or certificate.state is not CertificateState.PENDING:
        return certificate
    certificate.attempts += 1
    try:
        with db.session.begin_nested():
            _render_and_store(certificate)
    except Exception as error:  # any failure of rendering or storage: counted, tried again
        certificate.last_error = f"{type(error).__name__}: {error}"[:1000]
        logger.warning(
            "certificate %s: try %s failed: %s",
            certificate.id,
            certificate.attempts,
            certificate.last_error,
        )
        if certificate.attempts >= MAX_ATTEMPTS:
            certificate.state = CertificateState.FAILED
        else:
            jobs.defer_later(
                ISSUE_TASK, retry_wait_seconds(certificate.attempts), certificate_id=certificate.id
            )
        db.session.flush()
        return certificate
    if certificate.request is not None:
        post(
            certificate.holder,
            MessageKind.CERTIFICATE_READY,
            request=certificate.request,
            params={"certificate": certificate.id},
        )
    return certificate


def give_up(tries: int, certificate_id: int) -> None:
    """The workers gave the job up with the certificate still pending: its worker died in
    each of the job's ``tries`` (``issue`` returns normally otherwise), which ``issue`` could
    not count. Counted and failed, as after its last recorded try: a clerk's retry starts
    again."""
    certificate = db.session.scalar(
        select(Certificate).where(Certificate.id == certificate_id).with_for_update(of=Certificate)
    )
    if certificate is None or certificate.state is not CertificateState.PENDING:
        return
    certificate.attempts += tries
    certificate.state = CertificateState.FAILED
    certificate.last_error = describe(jobs.WorkerStopped("its worker stopped in each try"))
    db.session.flush()


def retry_wait_seconds(failed_tries: int) -> int:
    """How long a worker waits before trying again after ``failed_tries``: a signing service,
    a TSA or a storage that failed is given time to come back, not asked again at once."""
    return FIRST_RETRY_WAIT_SECONDS * 2 ** (failed_tries - 1)


def _render_and_store(certificate: Certificate) -> None:
    issued_at = utcnow()
    code = codes.new_code()
    pdf = seal(certificate, documents.render(certificate, code, issued_at))
    name = storage.new_storage_name()
    storage.store(name, pdf)
    certificate.code_hash = codes.code_hash(code)
    certificate.storage_name = name
    certificate.sha256 = hashlib.sha256(pdf).hexdigest()
    certificate.size = len(pdf)
    certificate.issued_at = issued_at
    certificate.state = CertificateState.ISSUED
    certificate.last_error = ""
    if certificate.status_list_id is None:  # last: the list's lock is held to the commit
        certificate.status_list_id, certificate.status_index = statuslist.allocate(
            certificate.municipality_id
        )
    db.session.flush()


def revoke(certificate: Certificate, by: Account, reason: str) -> bool:
    """A clerk of the issuing department withdraws an issued certificate, with the reason:
    the status list says so at once (every verifier reads it), the holder is told in the
    mailbox, and the municipality's audit chain keeps who and why. False when it is not
    issued or already revoked (a second tab, a double click: the row is locked and read
    again first, so of two at once the second finds it revoked)."""
    certificate = db.session.scalars(
        select(Certificate)
        .where(Certificate.id == certificate.id)
        .with_for_update(of=Certificate)
        .execution_options(populate_existing=True)
    ).one()
    if not certificate.is_issued or certificate.is_revoked:
        return False
    certificate.revoked_at = utcnow()
    certificate.revoked_reason = reason
    certificate.revoked_by_id = by.id
    if certificate.status_list_id is not None and certificate.status_index is not None:
        statuslist.set_status(certificate.status_list_id, certificate.status_index, Status.INVALID)
    post(
        certificate.holder,
        MessageKind.CERTIFICATE_REVOKED,
        request=certificate.request,
        case=certificate.case,
        params={
            "certificate": certificate.id,
            "reason": reason,
            "serial": certificate.serial,
            "department": _issuer_names(certificate),
        },
    )
    audit.append(
        audit.municipality_chain(certificate.municipality),
        actor=by,
        action="certificate.revoke",
        subject=f"certificate:{certificate.id}",
        details={"serial": certificate.serial, "reason": reason},
    )
    db.session.flush()
    return True


def _issuer_names(certificate: Certificate) -> dict[str, str]:
    """Who issued it, in both languages: the department, else the municipality."""
    if certificate.department is not None:
        return {"ja": certificate.department.name_ja, "en": certificate.department.name_en}
    return certificate.municipality.names


def retry(certificate: Certificate) -> bool:
    """A clerk tries again a certificate that failed (or is still pending after a failed
    try): its tries start again. False when there is nothing to retry (issued)."""
    if certificate.state is CertificateState.ISSUED:
        return False
    certificate.state = CertificateState.PENDING
    certificate.attempts = 0
    db.session.flush()
    jobs.defer(ISSUE_TASK, certificate_id=certificate.id)
    return True


def of_request(request: ProcedureRequest) -> list[Certificate]:
    """A request's certificates as its clerks see them: its own and its case's receipt when
    the receipt was issued by the request's department."""
    query = select(Certificate).where(
        (Certificate.request_id == request.id)
        | (
            (Certificate.case_id == request.case_id)
            & Certificate.request_id.is_(None)
            & (Certificate.department_id == request.department_id)
        )
    )
    return list(db.session.scalars(query.order_by(Certificate.id)))


def of_case(case: Case) -> list[Certificate]:
    """A case's certificates, the receipt first, for its filer's receipt page."""
    query = select(Certificate).where(Certificate.case_id == case.id)
    return sorted(db.session.scalars(query), key=lambda c: (c.request_id is not None, c.id))


# Verifying --------------------------------------------------------------------------------


class Check(StrEnum):
    """How someone checked a certificate: kept in the holder's access record."""

    CODE = "code"
    QR = "qr"
    FILE = "file"


PURPOSES = {
    Check.CODE: AccessPurpose.CERTIFICATE_VERIFIED,
    Check.QR: AccessPurpose.CERTIFICATE_QR_VERIFIED,
    Check.FILE: AccessPurpose.CERTIFICATE_FILE_CHECKED,
}

#: Compared against when no certificate has the serial, so that an unknown serial costs
#: the same work as a wrong code.
_NO_CERTIFICATE_HASH = "0" * 64


@dataclass(frozen=True)
class Verified:
    """What the verify page shows of a genuine certificate."""

    certificate: Certificate
    #: For a file check: whether the file is byte for byte the one issued.
    file_matches: bool | None = None
    #: For a file check: what the file's own signature says, checked apart from our
    #: records (a verifier without us would check that alone).
    signature: signing.SignatureCheck | None = None

    @cached_property
    def revoked(self) -> bool:
        """As the published status list says it (the one source a verifier also reads);
        the certificate's own columns keep the date and the reason."""
        found = self.certificate
        if found.status_list_id is None or found.status_index is None:
            return found.is_revoked
        return statuslist.status_of(found.status_list_id, found.status_index) is Status.INVALID

    @property
    def revoked_at(self) -> datetime | None:
        return self.certificate.revoked_at


@dataclass(frozen=True)
class Retired:
    """What the verify page shows of a genuine certificate whose case was removed at the
    end of its retention: that it was issued, by whom and when; nothing of its holder."""

    certificate: RetiredCertificate

    @property
    def title(self) -> str:
        if self.certificate.is_receipt or not self.certificate.title:
            return _("Submission receipt")
        return str(Text.required(self.certificate.title))


def verify(
    serial: str, code: str, check: Check, pdf: bytes | None = None
) -> Verified | Retired | None:
    """The issued certificate with this serial and code, or None, the same way and with the
    same work whether the serial is unknown, the code wrong or the certificate not issued.
    A match is written into the holder's access record. A serial not issued is looked up
    among the retired certificates (one query more: serials are unguessable, so the time
    says nothing of anyone's), and a match answers as :class:`Retired`, with no record to
    write: its holder's data is gone."""
    found = db.session.scalar(
        select(Certificate).where(
            Certificate.serial == serial, Certificate.state == CertificateState.ISSUED
        )
    )
    if found is None:
        return _retired(serial, code)
    if not _code_matches(code, found):
        return None
    file_matches = signature = None
    if pdf is not None:
        file_matches = secrets.compare_digest(hashlib.sha256(pdf).hexdigest(), found.sha256 or "")
        signature = signing.check_signature(pdf)
    request = found.request
    audit.record_access(
        found.holder,
        staff=None,
        municipality=found.municipality,
        department=None,
        form_id=request.form_id if request is not None else None,
        purpose=PURPOSES[check],
        case=found.case,
        request=request,
    )
    return Verified(found, file_matches, signature)


def _retired(serial: str, code: str) -> Retired | None:
    retired = db.session.scalar(
        select(RetiredCertificate).where(RetiredCertificate.serial == serial)
    )
    if not _code_matches(code, retired) or retired is None:
        return None
    return Retired(retired)


def _code_matches(code: str, found: Certificate | RetiredCertificate | None) -> bool:
    """Whether ``code`` is the certificate's, with the same work when there is none."""
    stored_hash = found.code_hash if found is not None else None
    return codes.code_matches(code, stored_hash or _NO_CERTIFICATE_HASH)


def retire_of_cases(case_ids: list[int]) -> list[str]:
    """Replace the certificates of these cases, whose retention ended, by rows that keep
    what the verify page says of them (see :class:`RetiredCertificate`); the storage names
    of their files, for the caller to delete once the change is committed. Flush only."""
    certificates = list(
        db.session.scalars(select(Certificate).where(Certificate.case_id.in_(case_ids)))
    )
    files = [c.storage_name for c in certificates if c.storage_name]
    retired_at = utcnow()
    for certificate in certificates:
        if certificate.is_issued:
            db.session.add(
                RetiredCertificate(
                    serial=certificate.serial,
                    code_hash=certificate.code_hash,
                    kind=certificate.kind,
                    title=_title_texts(certificate),
                    municipality_id=certificate.municipality_id,
                    department_id=certificate.department_id,
                    decision=certificate.decision,
                    issued_at=certificate.issued_at,
                    revoked_at=certificate.revoked_at,
                    retired_at=retired_at,
                )
            )
    if certificates:
        db.session.execute(delete(Certificate).where(Certificate.case_id.in_(case_ids)))
    db.session.flush()
    return files


def _title_texts(certificate: Certificate) -> dict[str, str]:
    """The certificate's title in every language its form gives, for a retired row."""
    if certificate.request is None:
        return {}
    form = certificate.request.form_definition
    return (form.certificate_title or form.title).as_dict()


def masked_name(name: str) -> str:
    """A holder's name as the verify page shows it: the first character of each part, the
    rest hidden (山田 太郎: 山＊ 太＊; Taro Yamada: T*** Y*****)."""
    parts = name.split()
    return " ".join(p[0] + ("＊" if _wide(p) else "*") * max(len(p) - 1, 1) for p in parts)


def _wide(text: str) -> bool:
    return any(ord(character) > 0x2E80 for character in text)
