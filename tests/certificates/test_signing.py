"""A certificate is signed by its municipality (PAdES), and anyone can check it: pyHanko and
poppler's ``pdfsig`` (trusting the CA through an NSS database) read the real PDFs back."""

from __future__ import annotations

import asyncio
import io
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfWriter
from sqlalchemy import select

from portal.certificates import signing
from portal.certificates.signing import SignatureState, check_signature, sign_pdf
from portal.extensions import db
from portal.tenancy.models import Municipality
from tests.certificates.pki import CA, TimestampAuthority, pem

REASON = "証明書の発行"
LOCATION = "東京都千代田区"


def small_pdf(text: str = "受理証明書") -> bytes:
    """One A4 page with a line of text, as pypdf writes it."""
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    content = DecodedStreamObject()
    content.set_data(
        f"BT /F1 18 Tf 72 760 Td ({text.encode('ascii', 'replace').decode()}) Tj ET".encode()
    )
    page[NameObject("/Contents")] = writer._add_object(content)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdfsig(pdf: bytes, ca_pem: bytes, tmp_path: Path) -> str:
    """``pdfsig``'s report, with ``ca_pem`` trusted in a fresh NSS database."""
    nss = tmp_path / f"nss-{len(list(tmp_path.glob('nss-*')))}"
    nss.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    (nss / "ca.pem").write_bytes(ca_pem)
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{nss}", "-n", "ca", "-t", "CT,C,C", "-i", nss / "ca.pem"],
        check=True,
    )
    (tmp_path / "checked.pdf").write_bytes(pdf)
    result = subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{nss}", tmp_path / "checked.pdf"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.stdout + result.stderr


def flip_byte(pdf: bytes, marker: bytes = b"/MediaBox") -> bytes:
    """The signed PDF with one byte of its first page changed (a digit of its size)."""
    at = pdf.index(marker) + len(marker)
    at = next(i for i in range(at, len(pdf)) if pdf[i : i + 1].isdigit())
    changed = bytearray(pdf)
    changed[at] = ord("7") if pdf[at] != ord("7") else ord("8")
    return bytes(changed)


@pytest.fixture
def key_dir(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty signing folder of this test's own (the demo CA is made there on first use)."""
    directory = tmp_path / "signing"
    monkeypatch.setitem(app.config, "SIGNING_KEY_DIR", str(directory))
    monkeypatch.setitem(app.config, "SIGNING_TSA_URL", "")
    monkeypatch.setitem(app.config, "SIGNING_TSA_ROOTS", "")
    return directory


@pytest.fixture
def chiyoda(app: Flask, municipalities: None) -> Iterator[Municipality]:
    with app.app_context():
        yield db.session.scalars(select(Municipality).where(Municipality.code == "131016")).one()


@pytest.fixture
def signed(key_dir: Path, chiyoda: Municipality) -> bytes:
    """One signed PDF (hypothesis runs its examples within one test's fixtures)."""
    return sign_pdf(small_pdf(), chiyoda, reason=REASON, location=LOCATION)


@pytest.fixture(scope="session")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TimestampAuthority]:
    """A TSA whose certificate another CA issued than the municipalities', as in life."""
    authority = TimestampAuthority(CA.make("Test TSA Root", "Test Timestamping"))
    authority.roots_file = tmp_path_factory.mktemp("tsa") / "tsa-roots.pem"
    authority.roots_file.write_bytes(authority.ca_pem)
    authority.server.start()
    yield authority
    authority.server.stop()


@pytest.fixture
def with_tsa(
    app: Flask, key_dir: Path, tsa: TimestampAuthority, monkeypatch: pytest.MonkeyPatch
) -> TimestampAuthority:
    monkeypatch.setitem(app.config, "SIGNING_TSA_URL", tsa.url)
    monkeypatch.setitem(app.config, "SIGNING_TSA_ROOTS", str(tsa.roots_file))
    return tsa


def demo_ca_pem(key_dir: Path) -> bytes:
    return (key_dir / signing.DEMO_CA_CERT).read_bytes()


def embedded(pdf: bytes):  # noqa: ANN201 - pyHanko's reader
    from pyhanko.pdf_utils.reader import PdfFileReader

    return PdfFileReader(io.BytesIO(pdf))


def test_a_certificate_is_signed_by_its_municipality_and_both_checkers_agree(
    key_dir: Path, chiyoda: Municipality, tmp_path: Path
) -> None:
    signed = sign_pdf(small_pdf(), chiyoda, reason=REASON, location=LOCATION)

    check = check_signature(signed)
    assert check.state is SignatureState.VALID, check.problem
    assert check.signer == "東京都千代田区"
    assert check.signed_at is not None and check.timestamp is None  # B-B: no TSA configured
    signature = embedded(signed).embedded_regular_signatures[0]
    assert signature.sig_object["/Reason"] == REASON
    assert signature.sig_object["/Location"] == LOCATION
    assert signature.sig_object["/Name"] == "東京都千代田区"
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES

    report = pdfsig(signed, demo_ca_pem(key_dir), tmp_path)
    assert "Signer Certificate Common Name: 東京都千代田区" in report
    assert "Signature Validation: Signature is Valid." in report
    assert "Certificate Validation: Certificate is Trusted." in report
    assert "Total document signed" in report


def test_one_byte_changed_fails_both_checkers(
    key_dir: Path, chiyoda: Municipality, tmp_path: Path
) -> None:
    signed = sign_pdf(small_pdf(), chiyoda, reason=REASON, location=LOCATION)
    changed = flip_byte(signed)
    assert changed != signed and len(changed) == len(signed)

    check = check_signature(changed)
    assert check.state is SignatureState.INVALID
    assert check.problem == "the signature does not match the document"
    report = pdfsig(changed, demo_ca_pem(key_dir), tmp_path)
    assert "Signature is Valid." not in report
    assert "Digest Mismatch" in report


def test_a_page_changed_in_a_later_revision_is_invalid(
    key_dir: Path, chiyoda: Municipality
) -> None:
    """The signed bytes are intact, but an incremental update replaces the page's text."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    signed = sign_pdf(small_pdf(), chiyoda, reason=REASON, location=LOCATION)
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0]
    page["/Contents"] = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 18 Tf 72 760 Td (forged) Tj ET")
    )
    writer.update_container(page)
    forged = io.BytesIO()
    writer.write(forged)

    check = check_signature(forged.getvalue())
    assert check.state is SignatureState.INVALID
    assert check.problem == "changed after it was signed"


def test_a_signature_by_a_ca_we_do_not_use_is_invalid(
    app: Flask, key_dir: Path, chiyoda: Municipality, tmp_path: Path, monkeypatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    CA.make("Someone Else's CA").write_pkcs12(signing.key_path(elsewhere, "131016"))
    monkeypatch.setitem(app.config, "SIGNING_KEY_DIR", str(elsewhere))
    signed = sign_pdf(small_pdf(), chiyoda, reason=REASON, location=LOCATION)
    assert check_signature(signed).valid  # trusted where its CA is ours

    monkeypatch.setitem(app.config, "SIGNING_KEY_DIR", str(key_dir))
    signing.ensure_demo_keys(key_dir, [chiyoda])
    check = check_signature(signed)
    assert check.state is SignatureState.INVALID
    assert check.problem == "signed by a certificate none of our CAs issued"


def test_an_unsigned_pdf_is_unsigned_and_garbage_is_invalid(app: Flask, key_dir: Path) -> None:
    with app.app_context():
        assert check_signature(small_pdf()).state is SignatureState.UNSIGNED
        for garbage in (b"", b"hello", b"%PDF-1.7\n" + b"\0" * 100, b"%PDF-" + b"(" * 50_000):
            assert check_signature(garbage).state is SignatureState.INVALID
        huge = b"%PDF-1.7\n" + b" " * 100
        assert check_signature(huge, max_bytes=50).problem == "larger than 50 bytes"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_damaged_signed_pdf_never_raises(data: st.DataObject, signed: bytes) -> None:
    """Bytes changed, cut or inserted anywhere: an answer, never an exception."""
    at = data.draw(st.integers(0, len(signed) - 1))
    how = data.draw(st.sampled_from(["change", "cut", "insert"]))
    junk = data.draw(st.binary(min_size=1, max_size=40))
    damaged = {
        "change": signed[:at] + junk + signed[at + len(junk) :],
        "cut": signed[:at],
        "insert": signed[:at] + junk + signed[at:],
    }[how]
    check = check_signature(damaged)  # never raises
    if check.valid:
        # Only bytes outside the signed ranges (the signature's own hex string) may change
        # and leave it valid; a cut or an insertion moves the signed bytes.
        start, first, second, length = _signed_ranges(signed)
        covered = [*range(start, start + first), *range(second, second + length)]
        assert how == "change"
        assert all(damaged[i] == signed[i] for i in covered)


def _signed_ranges(pdf: bytes) -> list[int]:
    return [int(n) for n in embedded(pdf).embedded_regular_signatures[0].byte_range]


def test_b_t_carries_a_trusted_timestamp(
    app: Flask,
    with_tsa: TimestampAuthority,
    chiyoda: Municipality,
    key_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "SIGNING_PADES_LEVEL", "B-T")
    signed = sign_pdf(small_pdf(), chiyoda, reason=REASON, location=LOCATION)

    check = check_signature(signed)
    assert check.valid, check.problem
    assert check.timestamp is not None
    reader = embedded(signed)
    unsigned_attributes = reader.embedded_regular_signatures[0].signer_info["unsigned_attrs"]
    assert "signature_time_stamp_token" in [a["type"].native for a in unsigned_attributes]
    assert "/DSS" not in reader.root and not reader.embedded_timestamp_signatures
    report = pdfsig(signed, demo_ca_pem(key_dir), tmp_path)
    assert "Signature Validation: Signature is Valid." in report
    assert "Total document signed" in report
    again = sign_pdf(small_pdf("again"), chiyoda, reason=REASON, location=LOCATION)
    assert check_signature(again).timestamp is not None  # in the room the first measured


def test_b_lta_embeds_the_validation_data_under_a_document_timestamp(
    with_tsa: TimestampAuthority, chiyoda: Municipality, key_dir: Path, tmp_path: Path
) -> None:
    from pyhanko.sign.validation import DocumentSecurityStore

    signed = sign_pdf(small_pdf(), chiyoda, reason=REASON, location=LOCATION)

    check = check_signature(signed)
    assert check.valid, check.problem
    assert check.timestamp is not None
    reader = embedded(signed)
    dss = DocumentSecurityStore.read_dss(reader)
    embedded_subjects = {c.subject.native["common_name"] for c in dss.load_certs()}
    assert {"東京都千代田区", "Madoguchi Demo CA", "Test TSA", "Test TSA Root"} <= embedded_subjects
    assert len(reader.embedded_timestamp_signatures) == 1  # the archive timestamp
    report = pdfsig(signed, demo_ca_pem(key_dir), tmp_path)
    assert report.count("Signature Validation: Signature is Valid.") == 1  # ours, not the TST's
    assert "Certificate Validation: Certificate is Trusted." in report

    changed = flip_byte(signed)
    assert check_signature(changed).state is SignatureState.INVALID
    assert "Signature is Valid." not in pdfsig(changed, demo_ca_pem(key_dir), tmp_path)
    again = sign_pdf(small_pdf("again"), chiyoda, reason=REASON, location=LOCATION)
    assert check_signature(again).valid  # in the room the first measured


def test_b_lta_needs_the_tsa_s_roots(
    app: Flask, with_tsa: TimestampAuthority, chiyoda: Municipality, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "SIGNING_TSA_ROOTS", "")
    with pytest.raises(signing.SigningError, match="PORTAL_SIGNING_TSA_ROOTS"):
        sign_pdf(small_pdf(), chiyoda, reason=REASON, location=LOCATION)


def test_a_tsa_that_does_not_answer_fails_the_signature(
    app: Flask, key_dir: Path, chiyoda: Municipality, monkeypatch
) -> None:
    from tests.support.servers import free_port

    monkeypatch.setitem(app.config, "SIGNING_TSA_URL", f"http://127.0.0.1:{free_port()}/tsa")
    with pytest.raises(signing.SigningError, match="did not answer"):
        sign_pdf(small_pdf(), chiyoda, reason=REASON, location=LOCATION)


def test_a_signer_is_loaded_once_and_again_when_its_file_changes(
    app: Flask, key_dir: Path, chiyoda: Municipality
) -> None:
    first = signing.signer_for(chiyoda)
    assert signing.signer_for(chiyoda) is first
    path = signing.key_path(key_dir, "131016")
    CA.make().write_pkcs12(path)
    renewed = signing.signer_for(chiyoda)
    assert renewed is not first
    assert renewed.material.certificate != first.material.certificate


def _room(signed: bytes) -> int:
    """The hex digits the signature's /Contents holds, read off its byte range."""
    byte_range = embedded(signed).embedded_regular_signatures[0].sig_object["/ByteRange"]
    return int(byte_range[2]) - int(byte_range[1]) - 2


def test_later_signatures_reuse_the_room_the_first_measured_and_stay_valid(
    key_dir: Path, chiyoda: Municipality, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyhanko.sign.signers.pdf_signer import PdfSigningSession

    measured = []
    estimate = PdfSigningSession.estimate_signature_container_size

    async def counted(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        measured.append(1)
        return await estimate(self, *args, **kwargs)

    monkeypatch.setattr(PdfSigningSession, "estimate_signature_container_size", counted)
    first = sign_pdf(small_pdf("first"), chiyoda, reason=REASON, location=LOCATION)
    second = sign_pdf(small_pdf("second"), chiyoda, reason=REASON, location=LOCATION)

    assert len(measured) == 1  # the dummy signature that measures the room: once
    assert _room(second) == _room(first) == signing.signer_for(chiyoda).reserved[("B-B", "")]
    assert check_signature(second).valid
    report = pdfsig(second, demo_ca_pem(key_dir), tmp_path)
    assert "Signature Validation: Signature is Valid." in report

    # A remembered room that became too small (a TSA's answers grew) is measured again.
    signing.signer_for(chiyoda).reserved[("B-B", "")] = 64
    third = sign_pdf(small_pdf("third"), chiyoda, reason=REASON, location=LOCATION)
    assert check_signature(third).valid
    assert len(measured) == 2
    assert _room(third) > 64 and signing.signer_for(chiyoda).reserved[("B-B", "")] == _room(third)


def test_an_expired_certificate_never_signs(key_dir: Path, chiyoda: Municipality) -> None:
    from datetime import timedelta

    CA.make().write_pkcs12(
        signing.key_path(key_dir, "131016"),
        starts=timedelta(days=-2),
        valid_for=timedelta(days=1),
    )
    with pytest.raises(signing.SigningError, match="the certificate expired on"):
        sign_pdf(small_pdf(), chiyoda, reason=REASON, location=LOCATION)


def test_production_never_makes_a_demo_key(key_dir: Path, chiyoda: Municipality) -> None:
    settings = signing.Settings(
        key_dir=key_dir, passphrase="", tsa_url="", tsa_roots="", level="B-B", production=True
    )
    with pytest.raises(signing.SigningError, match="no signing key for 131016"):
        signing.signer_for(chiyoda, settings)
    assert not key_dir.exists()


def test_rsa_keys_sign_too(
    app: Flask, key_dir: Path, chiyoda: Municipality, tmp_path: Path, monkeypatch
) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    ca = CA.make()
    ca.write_pkcs12(
        signing.key_path(key_dir, "131016"),
        key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        passphrase="correct horse",
    )
    monkeypatch.setitem(app.config, "SIGNING_KEY_PASSPHRASE", "correct horse")
    signed = sign_pdf(small_pdf(), chiyoda, reason=REASON, location=LOCATION)
    assert check_signature(signed).valid
    assert "Signature is Valid." in pdfsig(signed, pem(ca.certificate), tmp_path)


def test_demo_keys_are_made_for_each_served_municipality_once(
    app: Flask, runner, key_dir: Path, municipalities: None
) -> None:
    result = runner.invoke(args=["signing", "demo-keys"])
    assert result.exit_code == 0, result.output
    assert "131016, 141003 made" in result.output
    files = {p.name: p.read_bytes() for p in key_dir.iterdir()}
    assert set(files) == {".lock", "demo-ca.pem", "demo-ca-key.pem", "131016.p12", "141003.p12"}
    assert all(oct(p.stat().st_mode)[-3:] == "600" for p in key_dir.iterdir())

    again = runner.invoke(args=["signing", "demo-keys"])
    assert again.exit_code == 0 and "all there" in again.output
    assert {p.name: p.read_bytes() for p in key_dir.iterdir()} == files

    (key_dir / "141003.p12").write_bytes(b"damaged")
    check = runner.invoke(args=["signing", "check"])
    assert check.exit_code == 1
    assert "131016\tok\tCN=東京都千代田区" in check.output
    assert "141003\tPROBLEM" in check.output
    runner.invoke(args=["signing", "demo-keys"])  # replaces the damaged file only
    assert (key_dir / "131016.p12").read_bytes() == files["131016.p12"]
    assert runner.invoke(args=["signing", "check"]).exit_code == 0


def test_demo_keys_are_refused_in_production(
    app: Flask, runner, key_dir: Path, municipalities: None, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "ENV", "production")
    result = runner.invoke(args=["signing", "demo-keys"])
    assert result.exit_code == 2 and "refused in production" in result.output
    assert not key_dir.exists()
    demo_dir = key_dir.parent / "demo"
    monkeypatch.setitem(app.config, "SIGNING_KEY_DIR", str(demo_dir))
    with app.app_context():
        chiyoda = db.session.scalars(select(Municipality).where(Municipality.code == "131016"))
        signing.ensure_demo_keys(demo_dir, chiyoda)
    check = runner.invoke(args=["signing", "check"])
    assert check.exit_code == 1 and "issued by the demo CA" in check.output
    shutil.rmtree(demo_dir)


def xref_stream_bomb(inflated: int = 1024**3) -> bytes:
    """A PDF of a few megabytes whose cross-reference stream inflates to ``inflated`` bytes:
    any reader must inflate it to read the file at all."""
    import zlib

    # After a full flush the compressor starts afresh, so every further megabyte of zeros
    # compresses to the same bytes: repeat them rather than compress a gigabyte.
    compressor = zlib.compressobj(9)
    zeros = b"\0" * (1024 * 1024)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    data = first + again * (inflated // len(zeros) - 2) + compressor.flush()
    head = b"%PDF-1.7\n"
    obj = (
        b"1 0 obj\n<< /Type /XRef /Size 2 /W [1 4 1] /Root 1 0 R /Filter /FlateDecode /Length "
        + str(len(data)).encode()
        + b" >>\nstream\n"
        + data
        + b"\nendstream\nendobj\n"
    )
    return head + obj + b"startxref\n" + str(len(head)).encode() + b"\n%%EOF\n"


def test_a_compression_bomb_is_not_inflated(app: Flask, key_dir: Path) -> None:
    """pyHanko's decode limits for untrusted input refuse it (the child's memory limit,
    below, is the second line)."""
    bomb = xref_stream_bomb()
    assert len(bomb) < signing.CHECK_MAX_BYTES
    started = time.monotonic()
    with app.app_context():
        check = check_signature(bomb)
    assert check.state is SignatureState.INVALID
    assert check.problem == "unreadable: PdfDecodeLimitError"
    assert time.monotonic() - started < signing.CHECK_WALL_SECONDS


def test_a_check_that_runs_too_long_is_stopped(app: Flask) -> None:
    def spin() -> signing.SignatureCheck:
        while True:
            pass

    started = time.monotonic()
    check = signing._bounded(spin)
    assert check.state is SignatureState.INVALID and check.problem == "too costly to read"
    assert time.monotonic() - started < signing.CHECK_WALL_SECONDS + 1


def test_a_check_that_takes_too_much_memory_is_stopped(app: Flask) -> None:
    def hoard() -> signing.SignatureCheck:
        hoard = bytearray(2 * signing.CHECK_MEMORY_BYTES)
        return signing.SignatureCheck(SignatureState.VALID, signer=str(len(hoard)))

    check = signing._bounded(hoard)
    assert check.state is SignatureState.INVALID and check.problem == "too costly to read"


def test_signing_and_checking_work_inside_a_running_event_loop(
    app: Flask, key_dir: Path, chiyoda: Municipality
) -> None:
    """pyHanko runs its own event loop; a caller may be running one (Playwright's sync API
    leaves one in the main thread, an async worker runs one)."""
    from concurrent.futures import ThreadPoolExecutor

    async def inside_a_loop() -> tuple[bytes, signing.SignatureCheck]:
        with app.app_context():
            signed = sign_pdf(small_pdf(), chiyoda, reason=REASON, location=LOCATION)
            return signed, check_signature(signed)

    with ThreadPoolExecutor(max_workers=1) as pool:  # a thread with no loop of its own yet
        signed, check = pool.submit(asyncio.run, inside_a_loop()).result()
    assert check.valid, check.problem
    assert check_signature(signed).valid
