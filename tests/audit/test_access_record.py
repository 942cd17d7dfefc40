"""The resident's access record: a clerk opens their document, and they see which office did
(never who), newest first, a page at a time, in both languages."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.audit import services
from portal.audit.chain import verify
from portal.audit.models import AccessPurpose, AccessRecord, AuditEntry
from portal.extensions import db
from tests.factories import AccountFactory, AttachmentFactory, CaseFactory, RoleFactory
from tests.support.people import login_as

RECORD = "/account/access-record"


@dataclass
class Filed:
    resident_id: int
    clerk_id: int
    clerk_name: str
    document_url: str
    department: str
    receipt_number: str


def _filed(app: Flask) -> Filed:
    """A moving-out filed with a residents division, with a document its form asks for."""
    with app.app_context():
        case = CaseFactory(filed=True, forms=["mic.tenshutsu"])
        department = case.requests[0].department
        clerk = RoleFactory(department=department).account
        document = AttachmentFactory(case=case)
        db.session.commit()
        return Filed(
            case.account_id,
            clerk.id,
            clerk.display_name,
            f"/cases/{case.id}/attachments/{document.id}",
            department.name_ja,
            case.receipt_number,
        )


def _signed_in(app: Flask, account_id: int) -> FlaskClient:
    client = app.test_client()
    login_as(client, account_id)
    return client


def _download(app: Flask, account_id: int, url: str) -> int:
    response = _signed_in(app, account_id).get(url)
    response.close()
    return response.status_code


def test_a_clerk_opening_a_document_shows_in_the_residents_record(app) -> None:
    filed = _filed(app)
    resident = _signed_in(app, filed.resident_id)
    assert "まだありません" in resident.get(RECORD).text

    assert _download(app, filed.clerk_id, filed.document_url) == 200

    page = resident.get(RECORD)
    assert page.status_code == 200
    assert "提出された書類を開きました" in page.text
    assert filed.department in page.text and "転出届" in page.text
    assert filed.receipt_number in page.text
    assert filed.clerk_name not in page.text  # the office, never the person
    resident.set_cookie("madoguchi_lang", "en")
    english = resident.get(RECORD).text
    assert "Opened a document you uploaded" in english and "Resident Registration" in english
    with app.app_context():
        record = db.session.scalar(select(AccessRecord))
        assert (record.purpose, record.staff_id, record.form_id) == (
            AccessPurpose.VIEWED_DOCUMENT,
            filed.clerk_id,
            "mic.tenshutsu",
        )
        entry = db.session.scalar(select(AuditEntry))
        assert entry.action == "access.viewed_document" and entry.actor_id == filed.clerk_id
        assert entry.details["access_record"] == record.id
        assert verify().fault is None


def test_the_filer_opening_their_own_document_is_not_recorded(app) -> None:
    filed = _filed(app)
    assert _download(app, filed.resident_id, filed.document_url) == 200
    with app.app_context():
        assert db.session.scalars(select(AccessRecord)).all() == []
        assert db.session.scalars(select(AuditEntry)).all() == []


def test_a_refused_download_records_nothing(app) -> None:
    filed = _filed(app)
    with app.app_context():
        stranger_clerk = RoleFactory(department__kind="childcare").account.id
        db.session.commit()
    assert _download(app, stranger_clerk, filed.document_url) == 404
    with app.app_context():
        assert db.session.scalars(select(AccessRecord)).all() == []


def test_each_resident_sees_only_their_own_record(app) -> None:
    filed = _filed(app)
    assert _download(app, filed.clerk_id, filed.document_url) == 200
    with app.app_context():
        other = AccountFactory().id
        db.session.commit()
    page = _signed_in(app, other).get(RECORD).text
    assert "まだありません" in page and filed.department not in page


def test_the_record_is_newest_first_a_page_at_a_time(app) -> None:
    with app.app_context():
        case = CaseFactory(filed=True, forms=["mic.tenshutsu"])
        filed, resident_id = case.requests[0], case.account_id
        purposes = [AccessPurpose.VIEWED_REQUEST] * 24 + [AccessPurpose.HANDED_OVER]
        for purpose in purposes:
            services.record_access(
                case.account,
                staff=None,
                municipality=filed.municipality,
                department=None if purpose is AccessPurpose.HANDED_OVER else filed.department,
                form_id=filed.form_id,
                purpose=purpose,
                case=case,
                request=filed,
            )
        db.session.commit()
        municipality = filed.municipality.name_ja
    resident = _signed_in(app, resident_id)
    first = resident.get(RECORD).text
    assert first.count('class="card"') == 20
    assert "25件" in first and "2ページ中1ページ目" in first
    assert first.index("申請を他の機関に引き継ぎました") < first.index("申請を開きました")
    assert municipality in first
    assert f'href="{RECORD}?page=2"' in first
    second = resident.get(f"{RECORD}?page=2").text
    assert second.count('class="card"') == 5 and "申請を他の機関に引き継ぎました" not in second
    assert f'href="{RECORD}?page=1"' in second
    for odd in ("999", "-3", "0", "abc", "9" * 5000):
        answered = resident.get(f"{RECORD}?page={odd}")
        assert answered.status_code == 200
        assert answered.text.count('class="card"') == (5 if odd == "999" else 20), odd


def test_the_dashboard_links_to_the_record(app) -> None:
    with app.app_context():
        account_id = AccountFactory().id
        db.session.commit()
    assert f'href="{RECORD}"' in _signed_in(app, account_id).get("/").text


def test_strangers_are_sent_to_sign_in(client) -> None:
    answered = client.get(RECORD)
    assert answered.status_code == 302 and answered.headers["Location"].startswith("/auth/login")
