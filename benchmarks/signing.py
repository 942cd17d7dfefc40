"""How long a certificate's PAdES signature takes in a warm worker (the signer loaded once and
kept), RSA-2048 against ECDSA P-256, beside reloading the key for every signature; B-T and
B-LTA against a local test TSA; and how long ``check_signature`` takes on a signed PDF and on
hostile ones.

    .venv/bin/python benchmarks/signing.py [--signatures 200] [--json]

Keys are made in a temporary folder; the TSA is pyHanko's ``DummyTimeStamper`` served over
HTTP on a loopback port (tests/certificates/pki.py), so the B-T/B-LTA figures leave out a
real TSA's network time. No database is needed.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec, rsa

# This folder off sys.path (benchmarks/queue.py would shadow the standard library's queue),
# the repository root on it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal import create_app  # noqa: E402
from portal.certificates import signing  # noqa: E402
from portal.tenancy.models import Municipality  # noqa: E402
from tests.certificates.pki import CA, TimestampAuthority  # noqa: E402

CHIYODA = Municipality(
    code="131016", prefecture_ja="東京都", name_ja="千代田区", name_en="Chiyoda City, Tokyo"
)


def certificate_like_pdf(size: int = 35_000) -> bytes:
    """A one-page PDF about as large as a rendered certificate (35 KB with IPAex fonts)."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    content = DecodedStreamObject()
    content.set_data(b"% padding\n" * (size // 10))
    page[NameObject("/Contents")] = writer._add_object(content)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def timed(action: Callable[[], object], times: int) -> dict[str, float]:
    timings = []
    for _ in range(times):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    timings.sort()
    return {
        "p50_ms": round(statistics.median(timings) * 1000, 1),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1] * 1000, 1),
    }


def sign(pdf: bytes) -> bytes:
    return signing.sign_pdf(pdf, CHIYODA, reason="証明書の発行", location="東京都千代田区")


def many_revisions(signed: bytes, revisions: int) -> bytes:
    """The signed PDF with ``revisions`` incremental updates appended, each changing the page."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    pdf = signed
    for number in range(revisions):
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        page = writer.root["/Pages"]["/Kids"][0]
        page["/Contents"] = writer.add_object(generic.StreamObject(stream_data=b"%% %d" % number))
        writer.update_container(page)
        output = io.BytesIO()
        writer.write(output)
        pdf = output.getvalue()
    return pdf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signatures", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    n = args.signatures
    pdf = certificate_like_pdf()
    results: dict[str, object] = {"pdf_bytes": len(pdf), "signatures": n}
    folder = Path(tempfile.mkdtemp(prefix="bench-signing-"))
    app = create_app({"SIGNING_KEY_DIR": str(folder / "keys"), "SECRET_KEY": "bench"})
    ca = CA.make()
    keys = {
        "rsa2048": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    }
    with app.app_context():
        for name, make_key in keys.items():
            ca.write_pkcs12(signing.key_path(folder / "keys", "131016"), key=make_key())
            signing._signers.clear()
            started = time.perf_counter()
            sign(pdf)
            results[f"{name}_first_ms"] = round((time.perf_counter() - started) * 1000, 1)
            results[f"{name}_warm"] = timed(lambda: sign(pdf), n)

            def reload_and_sign() -> None:
                signing._signers.clear()
                sign(pdf)

            results[f"{name}_reloading_key"] = timed(reload_and_sign, max(n // 4, 20))
        signed = sign(pdf)
        results["check_valid"] = timed(lambda: signing.check_signature(signed), n)
        hostile = {
            "garbage_2mb": b"%PDF-1.7\n" + bytes(range(256)) * 8192,
            "nested_arrays_2mb": b"%PDF-1.7\n1 0 obj\n" + b"[" * 2_000_000,
            "signed_then_50_revisions": many_revisions(signed, 50),
        }
        for name, data in hostile.items():
            state = signing.check_signature(data).state.value
            timing = timed(lambda data=data: signing.check_signature(data), 5)
            results[f"check_{name}"] = {**timing, "state": state}

        tsa = TimestampAuthority(CA.make("Bench TSA Root", "Bench"))
        roots = folder / "tsa-roots.pem"
        roots.write_bytes(tsa.ca_pem)
        tsa.server.start()
        app.config.update(SIGNING_TSA_URL=tsa.url, SIGNING_TSA_ROOTS=str(roots))
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        for level in ("B-T", "B-LTA"):
            app.config["SIGNING_PADES_LEVEL"] = level
            sign(pdf)
            results[f"p256_{level}_local_tsa"] = timed(lambda: sign(pdf), max(n // 4, 20))
        lta = sign(pdf)
        results["check_b_lta"] = timed(lambda: signing.check_signature(lta), max(n // 4, 20))
        results["b_lta_bytes"] = len(lta)
        tsa.server.stop()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for key, value in results.items():
        print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
