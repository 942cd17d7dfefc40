"""Retention: old drafts anonymised, decided cases past their forms' retention anonymised or
deleted, by ``flask --app portal retention run``, with the audit chain still whole.

The shipped forms give the retentions: 出生届 (``moj.shussei``) 10 years then anonymise,
死亡届 (``moj.shibou``) 10 years then delete, 転出届 (``mic.tenshutsu``) none.
"""

from __future__ import annotations

import copy
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from portal import jobs
from portal.audit.models import AccessPurpose, AccessRecord, AuditEntry
from portal.audit.services import record_access
from portal.casework.lifecycle import RequestStatus
from portal.certificates import storage
from portal.certificates.models import Certificate, RetiredCertificate
from portal.definitions.services import stored_snapshot
from portal.extensions import db
from portal.japan.clock import utcnow
from portal.journey.models import Attachment, Case, ProcedureRequest
from portal.journey.services import attachment_path
from portal.kpis import queries
from portal.kpis.period import Period
from portal.mailbox.models import Message
from portal.retention import services as retention
from portal.retention.tasks import RETENTION_TASK
from portal.tenancy.models import Municipality
from portal.transactions import unit_of_work
from tests.conftest import TEST_DATABASE_URL
from tests.factories import (
    FACTORY_CODE,
    AttachmentFactory,
    CaseFactory,
    CertificateFactory,
    MessageFactory,
    RoleFactory,
)
from tests.kpis.seed import NOW as KPI_NOW
from tests.kpis.seed import TODAY as KPI_TODAY
from tests.kpis.seed import seed
from tests.support.clerks import Clerk
from tests.support.jobs import queued, subprocess_env
from tests.support.jobs import run as run_portal
from tests.support.people import login_as

KPI_MONTH = Period(date(2026, 10, 1), date(2026, 10, 1))
WORKFLOW_OF = {"moj.shussei": "birth", "moj.shibou": "death", "mic.tenshutsu": "moving"}


def upload_dir_of(app: Flask) -> Path:
    with app.app_context():
        from portal.journey.services import upload_dir

        return upload_dir()


def certificate_dir_of(app: Flask) -> Path:
    with app.app_context():
        return storage.certificate_dir()


def years_ago(years: float) -> datetime:
    return utcnow() - timedelta(days=round(365.25 * years))


def decided_case(form_id: str, decided_years_ago: float, **kwargs: object) -> Case:
    """A sent case of one form, approved that long ago, with a document and a certificate."""
    case = CaseFactory(
        filed=True,
        workflow_key=WORKFLOW_OF[form_id],
        forms=[form_id],
        answers={"applicant.family_name": "山田", "applicant.given_name": "太郎"},
        **kwargs,
    )
    for request in case.requests:
        request.status = RequestStatus.APPROVED
        request.decided_at = years_ago(decided_years_ago)
    AttachmentFactory(case=case)
    CertificateFactory(request=case.requests[0])
    db.session.flush()
    return case


def draft(untouched_days: int) -> Case:
    case = CaseFactory(workflow_key="birth", answers={"applicant.family_name": "山田"})
    AttachmentFactory(case=case)
    case.updated_at = utcnow() - timedelta(days=untouched_days)
    db.session.flush()
    return case


def run(runner, *args: str) -> str:  # noqa: ANN001 - FlaskCliRunner
    result = runner.invoke(args=["retention", "run", *args])
    assert result.exit_code == 0, result.output
    return result.output


def audit_verified(runner) -> str:  # noqa: ANN001
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    return result.output


def files_of(case_id: int) -> list[Path]:
    attachments = db.session.scalars(select(Attachment).where(Attachment.case_id == case_id))
    certificates = db.session.scalars(select(Certificate).where(Certificate.case_id == case_id))
    return [attachment_path(a) for a in attachments] + [
        storage.path_of(c.storage_name) for c in certificates if c.storage_name
    ]


def test_old_drafts_are_anonymised_their_uploads_gone_and_recent_ones_stay(
    app: Flask,
    runner,  # noqa: ANN001
) -> None:
    with app.app_context():
        old, recent = draft(91), draft(89)
        old_id, recent_id = old.id, recent.id
        MessageFactory(account=old.account, case=old)
        old_files = files_of(old_id)
        untouched_since = old.updated_at
        db.session.commit()
    assert all(path.exists() for path in old_files)

    assert "drafts anonymised: 1" in run(runner)

    with app.app_context():
        shell = db.session.get(Case, old_id)
        assert shell is not None and shell.anonymised_at is not None
        assert shell.account_id is None and shell.answers == {} and shell.unsaved is None
        assert shell.updated_at == untouched_since  # still abandoned since then
        kept = db.session.get(Case, recent_id)
        assert kept.anonymised_at is None and kept.answers == {"applicant.family_name": "山田"}
        assert db.session.scalar(select(func.count()).select_from(Attachment)) == 1
        assert db.session.scalar(select(func.count()).where(Message.case_id == old_id)) == 0
    assert not any(path.exists() for path in old_files)
    assert "1 chain(s), 1 entries verified" in audit_verified(runner)


def test_the_draft_retention_is_a_setting(app: Flask, runner) -> None:  # noqa: ANN001
    app.config["DRAFT_RETENTION_DAYS"] = 10
    try:
        with app.app_context():
            draft(11)
            db.session.commit()
        assert "drafts anonymised: 1" in run(runner)
    finally:
        app.config["DRAFT_RETENTION_DAYS"] = 90


def test_a_birth_past_its_retention_is_anonymised(app: Flask, runner, client) -> None:  # noqa: ANN001
    with app.app_context():
        case = decided_case("moj.shussei", 10.1)
        clerk = RoleFactory(department=case.requests[0].department)
        MessageFactory(account=case.account, case=case)
        serial = db.session.scalars(select(Certificate.serial)).one()
        case_id, request_id, account_id = case.id, case.requests[0].id, case.account_id
        clerk_id, department_id = clerk.account_id, case.requests[0].department_id
        receipt, paths = case.receipt_number, files_of(case_id)
        db.session.commit()
    queue = f"/staff/departments/{department_id}?state=approved"
    assert receipt in Clerk(app, clerk_id).client.get(queue).text

    assert "decided cases anonymised: 1" in run(runner)

    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case is not None and case.anonymised_at is not None
        assert case.account_id is None and case.answers == {}
        request = db.session.get(ProcedureRequest, request_id)
        assert request.answers == {} and request.resident_code == ""
        assert request.status is RequestStatus.APPROVED  # the figures keep what was decided
        assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0
        assert db.session.scalar(select(func.count()).select_from(Message)) == 0
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0
    assert paths and not any(path.exists() for path in paths)

    login_as(client, account_id)
    assert client.get(f"/cases/{case_id}/receipt").status_code == 404
    assert client.get(f"/cases/{case_id}").status_code == 404
    assert Clerk(app, clerk_id).open(request_id).status_code == 404
    assert receipt not in Clerk(app, clerk_id).client.get(queue).text  # nor listed in the queue
    verify = app.test_client().get(f"/verify/{serial}?c={FACTORY_CODE}")  # anyone, signed out
    assert verify.status_code == 200
    assert "発行済み（保有者の情報は" in verify.text  # the status, in the visitor's language
    assert "保存期間が過ぎたため保有者の情報は削除されており" in verify.text
    assert "山田" not in verify.text  # no holder shown, masked or not
    assert "1 chain(s), 1 entries verified" in audit_verified(runner)


def test_a_death_past_its_retention_is_deleted_and_its_certificate_still_answers(
    app: Flask,
    runner,  # noqa: ANN001
    client,  # noqa: ANN001
) -> None:
    with app.app_context():
        case = decided_case("moj.shibou", 10.1)
        request = case.requests[0]
        record_access(
            case.account,
            staff=None,
            municipality=request.municipality,
            department=request.department,
            form_id=request.form_id,
            purpose=AccessPurpose.VIEWED_REQUEST,
            case=case,
            request=request,
        )
        serial = db.session.scalars(select(Certificate.serial)).one()
        case_id, request_id, account_id = case.id, request.id, case.account_id
        paths = files_of(case_id)
        db.session.commit()

    assert "decided cases deleted: 1" in run(runner)

    with app.app_context():
        assert db.session.get(Case, case_id) is None
        assert db.session.get(ProcedureRequest, request_id) is None
        record = db.session.scalars(select(AccessRecord)).one()  # the resident's, kept
        assert record.case_id is None and record.request_id is None
        retired = db.session.scalars(select(RetiredCertificate)).one()
        assert retired.serial == serial and retired.title["ja"] == "死亡届"
    assert paths and not any(path.exists() for path in paths)

    client.set_cookie("madoguchi_lang", "en")
    verify = client.get(f"/verify/{serial}?c={FACTORY_CODE}")
    assert verify.status_code == 200
    assert "Issued; the holder's data deleted on" in verify.text
    assert "Death notification" in verify.text  # the certificate's title, kept
    assert client.get(f"/verify/{serial}?c=AAAA-AAAA").status_code == 404  # the code counts
    login_as(client, account_id)
    assert client.get(f"/cases/{case_id}/receipt").status_code == 404
    assert client.get("/account/access-record").status_code == 200  # the record, unlinked
    # The municipality's chain (the access) and the portal's (the removal) both verify.
    assert "2 chain(s)" in audit_verified(runner)


def test_what_retention_keeps(app: Flask, runner) -> None:  # noqa: ANN001
    with app.app_context():
        young = decided_case("moj.shussei", 9.9)
        no_retention = decided_case("mic.tenshutsu", 30)
        still_open = decided_case("moj.shibou", 12)
        still_open.requests[0].status = RequestStatus.IN_REVIEW
        kept = [young.id, no_retention.id, still_open.id]
        db.session.commit()

    output = run(runner)
    assert "decided cases anonymised: 0" in output and "decided cases deleted: 0" in output

    with app.app_context():
        cases = db.session.scalars(select(Case).where(Case.id.in_(kept))).all()
        assert len(cases) == 3 and all(c.anonymised_at is None for c in cases)
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == 3
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def filed_before_retention(case: Case) -> None:
    """Refreeze the case against its definitions with its forms' ``retention`` taken out, as
    a case filed before v3 of 出生届 and 死亡届 (which first gave one) is frozen."""
    content = copy.deepcopy(case.snapshot.content)
    for form in content["forms"].values():
        form.pop("retention", None)
    snapshot = stored_snapshot(case.workflow_key, content)
    case.snapshot, case.snapshot_digest = snapshot, snapshot.digest
    db.session.flush()
    assert case.requests[0].form_definition.retention is None


def test_anonymised_drafts_leave_the_kpis_as_they_were(
    app: Flask, runner, definitions: None
) -> None:  # noqa: ANN001
    """Started, submitted, abandoned and in progress, for a municipality (placed by the
    draft's address) and for the whole portal, the same after retention took the drafts."""
    with app.app_context():
        seeded = seed()
        db.session.commit()

    def figures() -> dict[int | None, list[tuple[object, ...]]]:
        with app.test_request_context():
            found = {}
            for municipality_id in (seeded.a_id, None):
                municipality = db.session.get(Municipality, municipality_id or 0)
                rows = queries.dashboard(KPI_MONTH, municipality, KPI_NOW, KPI_TODAY).life_events
                found[municipality_id] = [
                    (r.workflow_key, r.started, r.submitted, r.abandoned, r.in_progress)
                    for r in rows
                ]
            return found

    before = figures()
    assert ("moving", 7, 5, 1, 1) in before[seeded.a_id]
    app.config["DRAFT_RETENTION_DAYS"] = 1
    try:
        output = run(runner)
    finally:
        app.config["DRAFT_RETENTION_DAYS"] = 90
    with app.app_context():
        drafts = db.session.scalars(select(Case).where(Case.status == "draft")).all()
        assert f"drafts anonymised: {len(drafts)}" in output and drafts
        assert all(d.anonymised_at is not None and d.account_id is None for d in drafts)
        assert all(len(d.answers) <= 1 for d in drafts)  # the address's municipality code only
    assert figures() == before


def test_a_case_filed_before_its_form_gave_a_retention_takes_the_published_one(
    app: Flask,
    runner,  # noqa: ANN001
    definitions: None,
) -> None:
    with app.app_context():
        birth = decided_case("moj.shussei", 11)
        young_birth = decided_case("moj.shussei", 9)
        moving = decided_case("mic.tenshutsu", 30)  # its published form gives none either
        for case in (birth, young_birth, moving):
            filed_before_retention(case)
        ids = birth.id, young_birth.id, moving.id
        db.session.commit()

    output = run(runner)
    assert "decided cases anonymised: 1" in output, output

    with app.app_context():
        anonymised = {c.id: c.anonymised_at for c in db.session.scalars(select(Case))}
        assert anonymised[ids[0]] is not None
        assert anonymised[ids[1]] is None and anonymised[ids[2]] is None


def test_a_dry_run_counts_and_changes_nothing(app: Flask, runner) -> None:  # noqa: ANN001
    with app.app_context():
        draft(100)
        decided_case("moj.shussei", 11)
        decided_case("moj.shibou", 11)
        decided_case("mic.tenshutsu", 11)
        db.session.commit()

    output = run(runner, "--dry-run")
    assert "drafts would be anonymised: 1" in output
    assert "decided cases would be anonymised: 1" in output
    assert "decided cases would be deleted: 1" in output
    assert "kept (retention not over, or none): 1" in output

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 4
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == 3
        assert db.session.scalar(select(func.count(Case.anonymised_at))) == 0


def test_batches_each_write_one_audit_entry_and_a_second_run_finds_nothing(
    app: Flask,
    runner,  # noqa: ANN001
) -> None:
    with app.app_context():
        for _ in range(5):
            draft(200)
        for _ in range(3):
            decided_case("moj.shibou", 11)
        db.session.commit()

    output = run(runner, "--batch-size", "2")
    assert "drafts anonymised: 5" in output and "decided cases deleted: 3" in output
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        assert [e.action for e in entries] == ["retention.drafts_anonymised"] * 3 + [
            "retention.cases_deleted"
        ] * 2
        assert sum(len(e.details["cases"]) for e in entries) == 8
    audit_verified(runner)

    again = run(runner)
    assert "drafts anonymised: 0" in again and "decided cases deleted: 0" in again
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 5


def test_a_case_followed_up_is_anonymised_not_deleted(app: Flask, runner) -> None:  # noqa: ANN001
    """Deleting it would take the follow-up (the funeral allowance) with it."""
    with app.app_context():
        case = decided_case("moj.shibou", 11)
        follow_up = CaseFactory(
            workflow_key="death",
            account=case.account,
            follows_case_id=case.id,
            follow_up_form="mhlw.sousaihi",
        )
        case_id, follow_up_id = case.id, follow_up.id
        db.session.commit()

    assert "decided cases anonymised: 1" in run(runner)
    with app.app_context():
        assert db.session.get(Case, case_id).anonymised_at is not None
        assert db.session.get(Case, follow_up_id) is not None


def test_the_nightly_run_is_a_periodic_job_at_0340_in_japan(app: Flask) -> None:
    from portal.jobs.queue import worker_app

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        app = Flask(__name__)
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://nobody@127.0.0.1/none"
    proc = worker_app(app)
    periodic = {
        task.task.name: task.cron for task in proc.periodic_registry.periodic_tasks.values()
    }
    assert periodic[RETENTION_TASK] == "40 18 * * *"  # 18:40 UTC is 03:40 in Japan


@pytest.mark.postgresql
def test_a_worker_runs_the_retention_job(app: Flask, queue: None) -> None:
    """What the nightly schedule defers (with the ``timestamp`` it was due at), a worker runs."""
    with app.app_context():
        case_id = decided_case("moj.shibou", 11).id
        db.session.commit()
        with unit_of_work():
            jobs.defer(RETENTION_TASK, timestamp=1_700_000_000)
    env = subprocess_env(
        TEST_DATABASE_URL,
        UPLOAD_DIR=str(upload_dir_of(app)),
        CERTIFICATE_DIR=str(certificate_dir_of(app)),
    )
    result = run_portal(["worker", "--one-shot"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    with app.app_context():
        assert db.session.get(Case, case_id) is None
        assert [job["status"] for job in queued()] == ["succeeded"]


@pytest.mark.postgresql
def test_a_case_another_run_holds_is_skipped(app: Flask) -> None:
    """SKIP LOCKED: a case locked elsewhere is left to whoever holds it, not waited for."""
    with app.app_context():
        held, free = decided_case("moj.shibou", 11), decided_case("moj.shibou", 11)
        held_id, free_id = held.id, free.id
        db.session.commit()

    with app.app_context(), db.engine.connect() as other:
        other.execute(text("SELECT id FROM cases WHERE id = :id FOR UPDATE"), {"id": held_id})
        outcome = retention.run()
        assert outcome.cases_deleted == 1
        assert db.session.get(Case, free_id) is None
        assert db.session.get(Case, held_id) is not None
        other.rollback()

    with app.app_context():
        assert retention.run().cases_deleted == 1
        assert db.session.get(Case, held_id) is None


@pytest.mark.postgresql
def test_two_runs_at_once_never_take_the_same_case(app: Flask, runner) -> None:  # noqa: ANN001
    with app.app_context():
        for _ in range(40):
            decided_case("moj.shibou", 11)
        for _ in range(40):
            draft(100)
        db.session.commit()

    start = threading.Barrier(2)
    outcomes: list[retention.Outcome] = []

    def one_run() -> None:
        with app.app_context():
            start.wait()
            outcomes.append(retention.run(batch_size=3))

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == 2
    assert sum(o.cases_deleted for o in outcomes) == 40
    assert sum(o.drafts_anonymised for o in outcomes) == 40
    with app.app_context():
        named = [
            case_id
            for entry in db.session.scalars(select(AuditEntry))
            for case_id in entry.details["cases"]
        ]
        assert len(named) == len(set(named)) == 80
        assert db.session.scalar(select(func.count()).select_from(Case)) == 40  # the drafts
    audit_verified(runner)
