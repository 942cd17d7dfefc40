"""Test data built directly, for tests about what happens once it exists.

``CaseFactory(filed=True)`` is a case sent with one request per procedure, each to its
department of one municipality, without walking the journey: for access rules and the
back office. The journey itself is tested by walking it (``tests/support/journey.py``).

Factories flush into ``db.session``; call them inside an app context and commit when the
test's data is complete::

    with app.app_context():
        case = CaseFactory(filed=True, forms=["mic.tenshutsu"])
        db.session.commit()
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import cache
from typing import Any

import factory
from factory.alchemy import SQLAlchemyModelFactory

from portal.accounts.models import Account, Role, StaffRole
from portal.casework import services as casework
from portal.casework.pseudonyms import resident_code
from portal.certificates import codes, storage
from portal.certificates.models import RECEIPT_KIND, Certificate, CertificateState
from portal.definitions.models import DefinitionSnapshot
from portal.definitions.services import Catalog, stored_snapshot
from portal.definitions.sources import read_sources
from portal.extensions import db
from portal.japan.clock import today_in_japan, utcnow
from portal.japan.postal import municipality_code
from portal.journey import services
from portal.journey.models import Attachment, Case, CaseStatus, ProcedureRequest
from portal.mailbox.kinds import MessageKind
from portal.mailbox.models import Message
from portal.tenancy.kinds import BUILTIN_KEYS
from portal.tenancy.models import Department, Municipality

#: The verification code of every certificate ``CertificateFactory`` makes.
FACTORY_CODE = "7QK2-M9XD"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


class _Factory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class MunicipalityFactory(_Factory):
    """A municipality with a department of every kind, as each one on the portal has."""

    class Meta:
        model = Municipality
        sqlalchemy_get_or_create = ("code",)

    # Fictitious area codes (prefecture 49 does not exist), with a valid check digit.
    code = factory.Sequence(lambda n: municipality_code(f"49{n % 1000:03d}"))
    prefecture_ja = "架空県"
    name_ja = factory.Sequence(lambda n: f"第{n}市")
    name_en = factory.Sequence(lambda n: f"City No. {n}")

    @factory.post_generation
    def departments(municipality: Municipality, create: bool, kinds: Any, **_: Any) -> None:
        for kind in BUILTIN_KEYS if kinds is None else kinds:
            DepartmentFactory(municipality=municipality, kind=kind)


class DepartmentFactory(_Factory):
    """One per kind and municipality: asking again for the same pair gives the same one."""

    class Meta:
        model = Department
        sqlalchemy_get_or_create = ("municipality", "kind")

    municipality = factory.SubFactory(MunicipalityFactory, departments=[])
    kind = "resident_registration"
    name_ja = factory.LazyAttribute(lambda d: f"{d.kind}課")
    name_en = factory.LazyAttribute(lambda d: f"{d.kind.replace('_', ' ').title()} Division")


class AccountFactory(_Factory):
    """Someone who signed in: a resident, unless given roles (``RoleFactory``);
    ``notified_at="taro@example.jp"``: with that address confirmed for notifications, on."""

    class Meta:
        model = Account

    class Params:
        notified_at = None

    issuer = "https://id.example.jp"
    subject = factory.Sequence(lambda n: f"subject-{n:05d}")
    display_name = factory.Faker("name", locale="ja_JP")
    identity = factory.LazyFunction(dict)
    last_signed_in_at = factory.LazyFunction(utcnow)
    notification_email = factory.SelfAttribute("notified_at")
    notification_email_confirmed_at = factory.LazyAttribute(
        lambda o: utcnow() if o.notified_at else None
    )
    email_notifications = factory.LazyAttribute(lambda o: bool(o.notified_at))


class RoleFactory(_Factory):
    """A clerk of a department; ``supervisor=True`` of one; ``admin=True`` of a
    municipality; ``portal_admin=True``."""

    class Meta:
        model = StaffRole

    class Params:
        admin = factory.Trait(
            role=Role.ADMIN,
            department=None,
            municipality=factory.SubFactory(MunicipalityFactory),
        )
        portal_admin = factory.Trait(role=Role.ADMIN, department=None, municipality=None)
        supervisor = factory.Trait(role=Role.SUPERVISOR)

    account = factory.SubFactory(AccountFactory)
    role = Role.CLERK
    department = factory.SubFactory(DepartmentFactory)
    municipality = factory.LazyAttribute(
        lambda r: r.department.municipality if r.department else None
    )


@cache
def _shipped_catalog() -> Catalog:
    """The repository's forms and workflows, read once per test run."""
    sources = read_sources()
    assert not sources.problems, sources.problems
    data = {
        kind: {s.data.get("id", kind): s.data for s in sources.of_kind(kind)}
        for kind in ("form", "workflow")
    }
    vocabulary = sources.of_kind("vocabulary")[0].data
    return Catalog(stamp=0, vocabulary=vocabulary, forms=data["form"], workflows=data["workflow"])


def shipped_snapshot(workflow_key: str) -> DefinitionSnapshot:
    """The snapshot a case of this workflow starts from, with the shipped definitions."""
    return stored_snapshot(workflow_key, _shipped_catalog().snapshot_content(workflow_key))


class RequestFactory(_Factory):
    """One procedure of a filed case, at the department of its form's kind."""

    class Meta:
        model = ProcedureRequest

    case = factory.SubFactory("tests.factories.CaseFactory", filed=True, forms=[])
    form_id = "mic.tenshutsu"
    form_version = factory.LazyAttribute(lambda r: _form(r.case, r.form_id).version)
    municipality = factory.SubFactory(MunicipalityFactory)
    office = factory.SelfAttribute("municipality")
    department = factory.LazyAttribute(
        lambda r: DepartmentFactory(
            municipality=r.municipality,
            kind=_form(r.case, r.form_id).department_kind,
        )
    )
    deadline = factory.LazyFunction(lambda: today_in_japan() + timedelta(days=14))
    #: Frozen from the case's answers, as submit freezes them.
    answers = factory.LazyAttribute(
        lambda r: casework.freeze(_form(r.case, r.form_id), r.case.answers).answers
    )
    answers_digest = factory.LazyAttribute(lambda r: casework.answers_digest(r.answers))
    resident_code = factory.LazyAttribute(
        lambda r: resident_code(
            r.case.account_id, r.municipality.code, _form(r.case, r.form_id).department_kind
        )
    )


def _form(case: Case, form_id: str) -> Any:
    return case.definitions.form(form_id)


class CaseFactory(_Factory):
    """A resident's draft of a life event; ``filed=True`` sends it.

    A filed case has a receipt number and one request per form in ``forms`` (all the
    workflow's forms unless given), each to its department of ``municipality`` (a new
    municipality unless given).
    """

    class Meta:
        model = Case

    class Params:
        filed = factory.Trait(
            status=CaseStatus.SUBMITTED,
            receipt_number=factory.Sequence(
                lambda n: f"{today_in_japan():%y%m%d}-{n % 10000:04d}-TEST"
            ),
            submitted_at=factory.LazyFunction(utcnow),
        )

    account = factory.SubFactory(AccountFactory)
    workflow_key = "moving"
    snapshot = factory.LazyAttribute(lambda c: shipped_snapshot(c.workflow_key))
    snapshot_digest = factory.LazyAttribute(lambda c: c.snapshot.digest)
    answers = factory.LazyFunction(dict)
    language = "ja"

    @factory.post_generation
    def municipality(case: Case, create: bool, given: Municipality | None, **_: Any) -> None:
        """Where a filed case's requests go (kept for ``forms``, which runs next)."""
        if case.status is CaseStatus.SUBMITTED:
            case._filed_with = given or MunicipalityFactory()  # type: ignore[attr-defined]

    @factory.post_generation
    def forms(case: Case, create: bool, form_ids: Any, **_: Any) -> None:
        if case.status is not CaseStatus.SUBMITTED:
            return
        snapshot = case.definitions
        if form_ids is None:
            form_ids = [entry.form_id for entry in snapshot.workflow.forms]
        for form_id in form_ids:
            RequestFactory(case=case, form_id=form_id, municipality=case._filed_with)  # type: ignore[attr-defined]


class AttachmentFactory(_Factory):
    """A small PDF uploaded for a case, stored where the portal keeps uploads.

    ``field_key`` defaults to a document that one of the case's forms asks for: the first
    filed form's, for a filed case.
    """

    class Meta:
        model = Attachment

    case = factory.SubFactory(CaseFactory)
    field_key = factory.LazyAttribute(lambda a: _document_key(a.case))
    filename = "document.pdf"
    content_type = "application/pdf"
    size = len(PDF)
    sha256 = hashlib.sha256(PDF).hexdigest()
    storage_name = factory.LazyFunction(lambda: f"{secrets.token_hex(16)}.pdf")

    @factory.post_generation
    def stored(attachment: Attachment, create: bool, extracted: Any, **_: Any) -> None:
        services.attachment_path(attachment).write_bytes(PDF)


class CertificateFactory(_Factory):
    """An issued certificate of a filed request (its file stored where the portal keeps
    them; ``FACTORY_CODE`` verifies it); ``request=None`` for the case's receipt. The file is
    a stand-in: tests of the PDF itself issue real ones (``tests/certificates``)."""

    class Meta:
        model = Certificate

    request = factory.SubFactory(RequestFactory)
    case = factory.SelfAttribute("request.case")
    kind = factory.LazyAttribute(lambda c: "moving_out" if c.request else RECEIPT_KIND)
    municipality_id = factory.LazyAttribute(lambda c: c.request.municipality_id)
    department_id = factory.LazyAttribute(lambda c: c.request.department_id)
    holder_id = factory.LazyAttribute(lambda c: c.case.account_id)
    language = "ja"
    decision = factory.LazyAttribute(lambda c: "approved" if c.request else "")
    serial = factory.LazyFunction(codes.new_serial)
    code_hash = factory.LazyFunction(lambda: codes.code_hash(FACTORY_CODE))
    state = CertificateState.ISSUED
    issued_at = factory.LazyFunction(utcnow)
    sha256 = hashlib.sha256(PDF).hexdigest()
    size = len(PDF)
    storage_name = factory.LazyFunction(storage.new_storage_name)

    @factory.post_generation
    def stored(certificate: Certificate, create: bool, extracted: Any, **_: Any) -> None:
        assert certificate.storage_name is not None
        storage.store(certificate.storage_name, PDF)


class MessageFactory(_Factory):
    """A message already in a resident's mailbox (``mailbox.services.post`` makes real ones)."""

    class Meta:
        model = Message

    account = factory.SubFactory(AccountFactory)
    case = None
    kind = MessageKind.APPROVED
    params = factory.LazyFunction(
        lambda: {
            "procedure": {"ja": "転出届", "en": "Moving-out notification"},
            "department": {"ja": "区民課", "en": "Residents Division"},
            "receipt": "261202-0001-TEST",
        }
    )
    language = "ja"


def _document_key(case: Case) -> str:
    snapshot = case.definitions
    form_ids = [r.form_id for r in case.requests] or [e.form_id for e in snapshot.workflow.forms]
    for form_id in form_ids:
        for field in snapshot.form(form_id).attachments:
            return field.key
    raise ValueError(f"no form of case {case.id} asks for a document")
