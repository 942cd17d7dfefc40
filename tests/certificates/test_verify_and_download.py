"""The public verify page (serial and code, the QR code's URL, an uploaded PDF) and the
download, for the holder and the issuing department's clerks only."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.audit.models import AccessPurpose, AccessRecord
from portal.casework.lifecycle import Action
from portal.certificates import signing, statuslist
from portal.certificates.models import Certificate
from portal.certificates.statuslist_models import Status
from portal.extensions import db
from portal.mailbox.kinds import MessageKind
from portal.mailbox.models import Message
from tests.certificates.support import certificate_of, decide, pdf_path, qr_codes
from tests.certificates.test_issuing import BIRTH, _filed
from tests.certificates.test_signing import demo_ca_pem, flip_byte, pdfsig
from tests.factories import AccountFactory, MunicipalityFactory, RoleFactory
from tests.support.html import text
from tests.support.people import csrf_token, login_as


@pytest.fixture
def issued(app: Flask, tmp_path) -> dict:  # noqa: ANN001
    """An issued acceptance certificate, its code as the QR code holds it, and its file."""
    _case, request_id, clerk_id, holder_id = _filed(app, "birth", "moj.shussei", BIRTH)
    decide(app, request_id, clerk_id, Action.APPROVE)
    certificate = certificate_of(app, request_id=request_id)
    path = pdf_path(app, certificate)
    [url] = qr_codes(path, tmp_path)
    return {
        "certificate": certificate,
        "code": url.rpartition("c=")[2],
        "url": url,
        "pdf": path.read_bytes(),
        "clerk_id": clerk_id,
        "holder_id": holder_id,
        "request_id": request_id,
    }


def _post(client: FlaskClient, language: str = "ja", **data: object):  # noqa: ANN202
    client.set_cookie("madoguchi_lang", language)
    token = csrf_token(client.get("/verify").text)
    return client.post("/verify", data={"csrf_token": token, **data})


def _records(app: Flask, holder_id: int) -> list[AccessPurpose]:
    with app.app_context():
        query = select(AccessRecord.purpose).filter_by(resident_id=holder_id)
        return list(db.session.scalars(query.order_by(AccessRecord.id)))


def test_serial_and_code_show_the_certificate_valid(app, client, issued) -> None:
    certificate = issued["certificate"]
    # Typed as people type: lower case, spaces instead of hyphens.
    typed = certificate.serial.lower().replace("-", " ")
    response = _post(client, serial=typed, code=issued["code"].lower())
    page = text(response.text)
    assert response.status_code == 200
    assert "この証明書は有効です" in page
    assert "出生届 受理証明書" in page and "山＊ 太＊" in page and "山田 太郎" not in page
    assert certificate.serial in page
    assert _records(app, issued["holder_id"]) == [AccessPurpose.CERTIFICATE_VERIFIED]


def test_the_qr_codes_url_opens_the_result_in_english(app, client, issued) -> None:
    client.set_cookie("madoguchi_lang", "en")
    path = issued["url"].removeprefix(app.config["BASE_URL"] or "http://127.0.0.1:5000")
    response = client.get(path)
    page = text(response.text)
    assert response.status_code == 200
    assert "This certificate is valid" in page and "Certificate of acceptance" in page
    assert _records(app, issued["holder_id"]) == [AccessPurpose.CERTIFICATE_QR_VERIFIED]


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_wrong_code_and_an_unknown_serial_read_alike(app, client, issued, language) -> None:
    certificate = issued["certificate"]
    wrong_code = _post(client, language, serial=certificate.serial, code="0000-0000")
    unknown = _post(client, language, serial="0000-0000-0000-0000", code=issued["code"])
    assert wrong_code.status_code == unknown.status_code == 404
    message = (
        "この証明書番号と確認コードの証明書はありません"
        if language == "ja"
        else "No certificate has this serial number and verification code"
    )
    for response in (wrong_code, unknown):
        assert message in text(response.text)
        assert certificate.serial not in response.text.split("<form")[0]
    assert _records(app, issued["holder_id"]) == []


@pytest.mark.parametrize("language", ["ja", "en"])
def test_wrong_input_is_refused_beside_the_field(client, language) -> None:
    response = _post(client, language, serial="ABC", code="")
    assert response.status_code == 422
    page = response.text
    serial_message = (
        "証明書番号は英数字16文字です。" if language == "ja" else "A serial number has 16 letters"
    )
    code_message = (
        "証明書に印字された確認コードを入力してください。"
        if language == "ja"
        else "Enter the verification code printed on the certificate."
    )
    for message in (serial_message, code_message):
        assert page.count(message) == 2, message  # in the summary and beside the field
    assert 'id="serial-error"' in page and 'id="code-error"' in page


def test_the_uploaded_pdf_is_compared_byte_for_byte(app, client, issued) -> None:
    from io import BytesIO

    certificate = issued["certificate"]
    pdf = issued["pdf"]
    same = _post(
        client,
        serial=certificate.serial,
        code=issued["code"],
        document=(BytesIO(pdf), "certificate.pdf"),
    )
    assert "発行されたとおりのこの証明書です" in text(same.text)
    assert "ファイルの電子署名は有効です" in text(same.text)
    assert "千代田区" in text(same.text)
    changed = bytearray(pdf)
    changed[len(changed) // 2] ^= 0x01
    # The rendered document as it was before the signature was appended to it.
    unsigned = pdf[: pdf.index(b"%%EOF") + len(b"%%EOF")]
    answers = [
        text(
            _post(
                client,
                serial=certificate.serial,
                code=issued["code"],
                document=(BytesIO(bytes(document)), "certificate.pdf"),
            ).text
        )
        for document in (changed, unsigned)
    ]
    for answer in answers:
        assert "発行されたとおりの証明書ではありません" in answer
    assert "ファイルの電子署名は有効ではありません" in answers[0]
    assert "電子署名がありません" in answers[1]
    assert _records(app, issued["holder_id"]) == [AccessPurpose.CERTIFICATE_FILE_CHECKED] * 3


def test_the_file_check_speaks_english_too(app, client, issued) -> None:
    from io import BytesIO

    answer = _post(
        client,
        "en",
        serial=issued["certificate"].serial,
        code=issued["code"],
        document=(BytesIO(issued["pdf"]), "certificate.pdf"),
    )
    assert answer.status_code == 200
    assert "The file's electronic signature is valid" in text(answer.text)


def _revoke(app: Flask, issued: dict, *reasons: str):  # noqa: ANN202
    """The clerk opens the revoke page once and sends it with each reason (a second tab)."""
    clerk = app.test_client()
    login_as(clerk, issued["clerk_id"])
    url = f"/staff/certificates/{issued['certificate'].id}/revoke"
    page = clerk.get(url)
    token = csrf_token(page.text)
    return page, *[clerk.post(url, data={"csrf_token": token, "reason": r}) for r in reasons]


def test_a_clerk_revokes_it_and_every_verifier_is_told(app, client, issued) -> None:
    page, revoked, again = _revoke(app, issued, "記載に誤りがありました", "もう一度")
    assert page.status_code == 200 and "この証明書を取り消しますか" in page.text
    assert revoked.status_code == 303
    # the verify page says so, with the date and the reason
    serial = issued["certificate"].serial
    shown = text(_post(client, serial=serial, code=issued["code"]).text)
    assert "取り消されています" in shown and "記載に誤りがありました" in shown
    # the published status list says so too: its bit for the certificate's index
    with app.app_context():
        found = db.session.get(Certificate, issued["certificate"].id)
        list_id, index = found.status_list_id, found.status_index
        assert found.revoked_by_id == issued["clerk_id"]
    assert list_id is not None and index is not None
    token = client.get(f"/status-lists/{list_id}").text
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    array = statuslist.decode(claims["status_list"]["lst"])
    assert statuslist.read(array, index, claims["status_list"]["bits"]) == Status.INVALID
    # the holder is told in the mailbox
    with app.app_context():
        told = db.session.scalars(
            select(Message).where(Message.account_id == issued["holder_id"])
        ).all()
        assert MessageKind.CERTIFICATE_REVOKED in [m.kind for m in told]
    # the second tab's revocation changes nothing
    assert again.status_code == 303
    with app.app_context():
        assert db.session.get(Certificate, issued["certificate"].id).revoked_reason == (
            "記載に誤りがありました"
        )


def test_a_revocation_without_a_reason_is_refused_beside_the_field(app, issued) -> None:
    _page, refused = _revoke(app, issued, "   ")
    assert refused.status_code == 422
    assert "取り消す理由を入力してください" in refused.text
    assert "エラー" in refused.text.split("</title>")[0]
    with app.app_context():
        assert db.session.get(Certificate, issued["certificate"].id).revoked_at is None


def test_a_clerk_of_another_municipality_cannot_revoke(app, issued) -> None:
    with app.app_context():
        clerk_id = RoleFactory(department__municipality=MunicipalityFactory()).account.id
        db.session.commit()
    outsider = app.test_client()
    login_as(outsider, clerk_id)
    url = f"/staff/certificates/{issued['certificate'].id}/revoke"
    assert outsider.get(url).status_code == 404
    token = csrf_token(outsider.get("/").text)
    assert outsider.post(url, data={"csrf_token": token, "reason": "x"}).status_code == 404


def test_the_issued_pdf_is_signed_by_its_municipality(app, issued, tmp_path) -> None:
    """The stored certificate itself, read by pyHanko and by poppler's ``pdfsig`` trusting
    the demo CA: valid and trusted; one byte of its page changed: both refuse it."""
    damaged = flip_byte(issued["pdf"])
    with app.app_context():
        check = signing.check_signature(issued["pdf"])
        assert check.valid, check
        assert "千代田区" in (check.signer or ""), check.signer
        assert not signing.check_signature(damaged).valid
        ca_pem = demo_ca_pem(Path(app.config["SIGNING_KEY_DIR"]))
    report = pdfsig(issued["pdf"], ca_pem, tmp_path)
    assert "Signature Validation: Signature is Valid." in report
    assert "Certificate Validation: Certificate is Trusted." in report
    assert "Total document signed" in report
    assert "Signature is Valid." not in pdfsig(damaged, ca_pem, tmp_path)


def _download(app: Flask, account_id: int | None, certificate_id: int):  # noqa: ANN202
    client = app.test_client()
    if account_id is not None:
        login_as(client, account_id)
    return client.get(f"/certificates/{certificate_id}/download")


def test_the_holder_and_the_issuing_clerk_download_the_stored_file(app, issued) -> None:
    certificate = issued["certificate"]
    for account_id in (issued["holder_id"], issued["clerk_id"]):
        response = _download(app, account_id, certificate.id)
        assert response.status_code == 200
        assert response.data == issued["pdf"]
        assert response.mimetype == "application/pdf"
        disposition = response.headers["Content-Disposition"]
        assert f'filename="certificate-{certificate.serial}.pdf"' in disposition
        assert "filename*=UTF-8''" in disposition
        assert response.headers["Cache-Control"] == "no-store"
    # The clerk's download is in the holder's access record; the holder's own is not.
    assert _records(app, issued["holder_id"]) == [AccessPurpose.VIEWED_DOCUMENT]


def test_nobody_else_downloads_it(app, issued) -> None:
    certificate = issued["certificate"]
    with app.app_context():
        found = db.session.get(Certificate, certificate.id)
        same_town = found.municipality
        elsewhere = MunicipalityFactory()
        outsiders = [
            AccountFactory().id,
            RoleFactory(department=same_town.department_of_kind("childcare")).account.id,
            RoleFactory(
                department=elsewhere.department_of_kind("resident_registration")
            ).account.id,
        ]
        db.session.commit()
    for account_id in outsiders:
        assert _download(app, account_id, certificate.id).status_code == 404
    # Signed out, the download is as unknown as any URL; its page offers to sign in and
    # come back.
    url = f"/certificates/{certificate.id}/download"
    anonymous = _download(app, None, certificate.id)
    assert anonymous.status_code == 404
    assert f'href="/auth/login?next={url}"' in anonymous.text
    assert "ログインすると開けます" in text(anonymous.text)


def test_the_resident_finds_the_links_on_the_receipt_page_and_in_the_mailbox(app, issued) -> None:
    certificate = issued["certificate"]
    client = app.test_client()
    login_as(client, issued["holder_id"])
    with app.app_context():
        found = db.session.get(Certificate, certificate.id)
        case_id = found.case_id
        message_id = db.session.scalars(
            select(Message.id).filter_by(account_id=issued["holder_id"]).order_by(Message.id.desc())
        ).first()
    link = f"/certificates/{certificate.id}/download"
    assert link in client.get(f"/cases/{case_id}/receipt").text
    assert link in client.get(f"/mailbox/{message_id}").text
