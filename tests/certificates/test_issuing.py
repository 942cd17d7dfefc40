"""Certificates issued by a job when a request is decided (and a receipt when a case is
sent), stored, and read back as real PDFs: fonts embedded, Japanese text extractable, the
QR code on the page decoding to the verify URL."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy import text as sql

from portal.casework.lifecycle import Action
from portal.certificates import codes, services, storage
from portal.certificates.models import Certificate, CertificateState
from portal.extensions import db
from portal.jobs.models import JobFailure
from portal.journey.models import Case
from portal.mailbox.kinds import MessageKind
from portal.mailbox.models import Message
from portal.transactions import unit_of_work
from tests.certificates.support import (
    certificate_of,
    decide,
    pdf_path,
    pdffonts,
    pdfinfo,
    pdftotext,
    qr_codes,
    run_certificate_jobs,
    structure_tags,
    take_certificate_job,
)
from tests.factories import AccountFactory, CaseFactory, MunicipalityFactory, RoleFactory
from tests.support.clerks import Clerk
from tests.support.html import text
from tests.support.people import csrf_token, login_as

BASE_URL = "https://portal.city.example.jp"
BIRTH = {
    "newborn.family_name": "山田",
    "newborn.given_name": "花子",
    "newborn.sex": "female",
    "birth.date": "2026-11-25",
}
MOVE = {
    "move.date": "2026-11-20",
    "move.new_address": {
        "postal_code": "231-0017",
        "prefecture": "神奈川県",
        "city": "横浜市中区",
        "town": "港町",
        "street": "1-1",
        "building": "",
        "municipality_code": "141046",
    },
    "household.householder_name": "山田 太郎",
}


@pytest.fixture
def base_url(app: Flask):  # noqa: ANN201
    """Verify URLs built from the configured address (never a request's Host)."""
    before = app.config["BASE_URL"]
    app.config["BASE_URL"] = BASE_URL
    yield BASE_URL
    app.config["BASE_URL"] = before


def _filed(app: Flask, workflow: str, form_id: str, answers: dict, language: str = "ja"):
    """A case filed with one request, its department's clerk; their ids."""
    with app.app_context():
        municipality = MunicipalityFactory(name_ja="千代田区", prefecture_ja="東京都")
        holder = AccountFactory(display_name="山田 太郎")
        case = CaseFactory(
            account=holder,
            workflow_key=workflow,
            filed=True,
            forms=[form_id],
            municipality=municipality,
            answers=answers,
            language=language,
        )
        request = case.requests[0]
        clerk = RoleFactory(department=request.department).account
        db.session.commit()
        return case.id, request.id, clerk.id, holder.id


def test_an_approved_birth_notification_gets_its_acceptance_certificate(
    app: Flask, base_url: str, tmp_path: Path
) -> None:
    _case_id, request_id, clerk_id, holder_id = _filed(app, "birth", "moj.shussei", BIRTH)
    with app.app_context():
        assert db.session.scalar(select(Certificate)) is None  # nothing before the decision

    decide(app, request_id, clerk_id, Action.APPROVE)

    certificate = certificate_of(app, request_id=request_id)
    assert certificate.state is CertificateState.ISSUED
    assert (certificate.kind, certificate.decision, certificate.attempts) == (
        "acceptance",
        "approved",
        1,
    )
    path = pdf_path(app, certificate)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == certificate.sha256
    fonts = pdffonts(path)
    assert re.search(r"IPAex\w+\s+CID TrueType\s+Identity-H\s+yes\s+yes", fonts), fonts
    assert "no " not in " ".join(line.split()[-5] for line in fonts.splitlines()[2:])
    page = pdftotext(path)
    for words in ("出生届 受理証明書", "山田 太郎", "千代田区", "山田", "花子", certificate.serial):
        assert words in page, words
    assert "令和" in page  # the era beside the western date
    # Tagged for a screen reader (PDF/UA-1): title, language, headings and a table.
    info = pdfinfo(path)
    assert (info["Title"], info["Tagged"], info["Page size"]) == (
        "出生届 受理証明書",
        "yes",
        "595.276 x 841.89 pts (A4)",
    ), info
    assert "千代田区" in info["Author"]
    language, tags = structure_tags(path)
    assert language == "ja"
    assert {"/H1", "/Table", "/TH", "/TD"} <= tags, tags
    # The QR code holds the verify URL, from the configured address, with the printed code.
    [url] = qr_codes(path, tmp_path)
    assert url.startswith(f"{BASE_URL}/verify/{certificate.serial}?c=")
    code = url.rpartition("c=")[2]
    assert code in page
    with app.app_context():
        assert codes.code_matches(code, certificate.code_hash or "")
        # The resident is told, with the link to download it.
        message = db.session.scalars(
            select(Message).filter_by(account_id=holder_id, kind=MessageKind.CERTIFICATE_READY)
        ).one()
        assert message.params["certificate"] == certificate.id


def test_a_rejected_claim_gets_a_decision_notice_with_the_reason_in_english(
    app: Flask, base_url: str
) -> None:
    _case, request_id, clerk_id, _holder = _filed(
        app, "childcare", "cfa.jidou_teate_nintei", {}, language="en"
    )
    decide(app, request_id, clerk_id, Action.REJECT, reason="The children live abroad.")
    certificate = certificate_of(app, request_id=request_id)
    assert (certificate.kind, certificate.decision, certificate.state) == (
        "decision",
        "rejected",
        CertificateState.ISSUED,
    )
    page = pdftotext(pdf_path(app, certificate))
    assert "Child allowance decision notice" in page
    assert "was not approved" in page and "The children live abroad." in page


def test_an_approved_moving_out_gets_its_moving_out_certificate(app: Flask) -> None:
    _case, request_id, clerk_id, _holder = _filed(app, "moving", "mic.tenshutsu", MOVE)
    decide(app, request_id, clerk_id, Action.APPROVE)
    certificate = certificate_of(app, request_id=request_id)
    assert certificate.kind == "moving_out" and certificate.is_issued
    page = pdftotext(pdf_path(app, certificate))
    assert "転出証明書" in page and "横浜市中区" in page and "2026年11月20日" in page


def test_a_form_that_names_no_template_gets_no_certificate(app: Flask) -> None:
    """The move-in names a certificate handed over at the counter, not a PDF of ours."""
    _case, request_id, clerk_id, _holder = _filed(app, "moving", "mic.tennyu", MOVE)
    decide(app, request_id, clerk_id, Action.APPROVE)
    with app.app_context():
        assert db.session.scalar(select(Certificate)) is None


def test_the_receipt_lists_each_request_and_what_was_entered(app: Flask) -> None:
    with app.app_context():
        case = CaseFactory(
            filed=True,
            forms=["mic.tenshutsu", "mhlw.kokuho_soshitsu_tenshutsu"],
            answers=MOVE,
        )
        case_id = case.id
        db.session.commit()
    with app.app_context(), unit_of_work():
        services.ask_for_receipt(db.session.get(Case, case_id))
    run_certificate_jobs(app)
    certificate = certificate_of(app, case_id=case_id, request_id=None)
    assert certificate.kind == "receipt" and certificate.is_issued
    page = pdftotext(pdf_path(app, certificate))
    for words in ("申請控え", "転出届", "国民健康保険", "横浜市中区", "港町"):
        assert words in page, words


def test_a_job_puts_the_verify_url_in_the_qr_code_where_production_trusts_only_its_host(
    app: Flask, base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Production answers only requests for ``BASE_URL``'s host; the job has no request, and
    issues the certificate at its first try."""
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", ["portal.city.example.jp"])
    case_id = _receipt_asked(app)
    run_certificate_jobs(app)
    certificate = certificate_of(app, case_id=case_id, request_id=None)
    assert (certificate.state, certificate.attempts) == (CertificateState.ISSUED, 1)
    [url] = qr_codes(pdf_path(app, certificate), tmp_path)
    assert url.startswith(f"{BASE_URL}/verify/{certificate.serial}?c=")


def test_a_failed_render_is_tried_again_then_shown_failed_and_retried_by_a_clerk(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _case, request_id, clerk_id, _holder = _filed(app, "birth", "moj.shussei", BIRTH)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    monkeypatch.setitem(app.config, "CERTIFICATE_DIR", str(blocker / "certificates"))
    decide(app, request_id, clerk_id, Action.APPROVE)
    failed = certificate_of(app, request_id=request_id)
    assert failed.state is CertificateState.FAILED
    assert failed.attempts == services.MAX_ATTEMPTS
    assert "NotADirectoryError" in failed.last_error or "FileExistsError" in failed.last_error
    clerk = Clerk(app, clerk_id)
    page = clerk.open(request_id)
    assert "作成できませんでした" in text(page.text) or "Certificate failed" in page.text

    monkeypatch.setitem(app.config, "CERTIFICATE_DIR", str(tmp_path / "certificates"))
    retried = clerk.client.post(
        f"/staff/certificates/{failed.id}/retry", data={"csrf_token": csrf_token(clerk.page)}
    )
    assert retried.status_code == 303
    assert retried.headers["Location"].endswith(f"/staff/requests/{request_id}")
    run_certificate_jobs(app)
    issued = certificate_of(app, id=failed.id)
    assert issued.state is CertificateState.ISSUED and issued.attempts == 1
    assert issued.last_error == ""
    with app.app_context():
        assert storage.path_of(issued.storage_name or "").is_file()


@pytest.mark.postgresql
def test_a_failed_try_is_queued_again_for_later_each_wait_twice_the_one_before(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker does not ask a failing signer or storage again at once: the next try is
    scheduled a minute on, the one after two minutes on, and the last failure queues none."""
    case_id = _receipt_asked(app)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    monkeypatch.setitem(app.config, "CERTIFICATE_DIR", str(blocker / "certificates"))
    waits = []
    for _try in range(services.MAX_ATTEMPTS):
        taken = take_certificate_job(app)
        assert taken is not None
        job_id, args = taken
        with app.app_context(), unit_of_work():
            services.issue(args["certificate_id"])
        with app.app_context():
            waits += db.session.execute(
                sql(
                    "SELECT EXTRACT(EPOCH FROM scheduled_at - now())::int FROM"
                    " procrastinate_jobs WHERE task_name = :name AND id > :id"
                ),
                {"name": services.ISSUE_TASK, "id": job_id},
            ).scalars()
    assert [round(wait, -1) for wait in waits] == [60, 120]
    failed = certificate_of(app, case_id=case_id, request_id=None)
    assert (failed.state, failed.attempts) == (CertificateState.FAILED, services.MAX_ATTEMPTS)


@pytest.mark.postgresql
def test_a_certificate_whose_worker_dies_in_each_try_is_failed_not_left_pending(
    app: Flask, queue: None, runner
) -> None:  # noqa: ANN001 - FlaskCliRunner
    """A render that kills its worker (out of memory, say) cannot count its own try: the
    workers put its job back while tries are left, then fail it, and the certificate too,
    so that a clerk sees it failed instead of pending for ever."""
    case_id = _receipt_asked(app)

    def worker_died(earlier_attempts: int) -> str:
        with app.app_context():  # as a worker that took the job and is gone (no heartbeat)
            db.session.execute(
                sql(
                    "UPDATE procrastinate_jobs SET status = 'doing', attempts = :attempts,"
                    " worker_id = NULL WHERE task_name = :name"
                ),
                {"attempts": earlier_attempts, "name": services.ISSUE_TASK},
            )
            db.session.commit()
        result = runner.invoke(args=["jobs", "retry-stalled", "--after", "1"])
        assert result.exit_code == 0, result.output
        return str(result.output)

    assert "1 stalled job(s) put back" in worker_died(0)
    assert certificate_of(app, case_id=case_id, request_id=None).state is CertificateState.PENDING
    assert "1 stalled job(s) failed, in their last attempt" in worker_died(services.MAX_ATTEMPTS)
    failed = certificate_of(app, case_id=case_id, request_id=None)
    assert failed.state is CertificateState.FAILED
    assert "worker stopped" in failed.last_error
    assert failed.attempts == services.MAX_ATTEMPTS + 1  # "could not be made after 4 tries"
    with app.app_context():
        job = db.session.execute(
            sql("SELECT id, status FROM procrastinate_jobs WHERE task_name = :name"),
            {"name": services.ISSUE_TASK},
        ).one()
        assert job.status == "failed"
        error = db.session.scalars(select(JobFailure.error).filter_by(job_id=job.id)).one()
        last = services.MAX_ATTEMPTS + 1
        assert error == f"WorkerStopped: its worker stopped during attempt {last}"

    # A pass that died after ending the certificate, before ending the job, leaves the job
    # stalled: the next pass ends it, and neither the tries nor the error count twice.
    assert "1 stalled job(s) failed, in their last attempt" in worker_died(services.MAX_ATTEMPTS)
    assert certificate_of(app, case_id=case_id, request_id=None).attempts == last
    with app.app_context():
        assert len(db.session.scalars(select(JobFailure).filter_by(job_id=job.id)).all()) == 1
        operator = RoleFactory(portal_admin=True).account_id
        db.session.commit()
    client = app.test_client()
    login_as(client, operator)
    page = text(client.get("/admin/jobs").get_data(as_text=True))
    assert f"WorkerStopped: its worker stopped during attempt {last}" in page
    assert "それが最後の試行だった処理は失敗（WorkerStopped）とします" in page


def _receipt_asked(app: Flask) -> int:
    with app.app_context():
        case_id = CaseFactory(filed=True, forms=["mic.tenshutsu"], answers=MOVE).id
        db.session.commit()
    with app.app_context(), unit_of_work():
        services.ask_for_receipt(db.session.get(Case, case_id))
    return case_id


def test_issuing_twice_issues_once(app: Flask) -> None:
    _case, request_id, clerk_id, _holder = _filed(app, "birth", "moj.shussei", BIRTH)
    decide(app, request_id, clerk_id, Action.APPROVE)
    first = certificate_of(app, request_id=request_id)
    with app.app_context(), unit_of_work():
        services.issue(first.id)  # the job run again, as after a worker died in it
    again = certificate_of(app, request_id=request_id)
    assert (again.sha256, again.attempts, again.storage_name) == (
        first.sha256,
        first.attempts,
        first.storage_name,
    )


def test_a_clerk_of_another_department_cannot_retry(app: Flask) -> None:
    _case, request_id, clerk_id, _holder = _filed(app, "birth", "moj.shussei", BIRTH)
    decide(app, request_id, clerk_id, Action.APPROVE)
    certificate = certificate_of(app, request_id=request_id)
    with app.app_context():
        other = RoleFactory(
            department=certificate_department(certificate).municipality.department_of_kind(
                "childcare"
            )
        ).account.id
        db.session.commit()
    outsider = Clerk(app, other)
    token = csrf_token(outsider.client.get("/staff/").text)
    response = outsider.client.post(
        f"/staff/certificates/{certificate.id}/retry", data={"csrf_token": token}
    )
    assert response.status_code == 404


def certificate_department(certificate: Certificate):  # noqa: ANN201
    found = db.session.get(Certificate, certificate.id)
    assert found is not None and found.department is not None
    return found.department
