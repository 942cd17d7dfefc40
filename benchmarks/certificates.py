"""Time to render one certificate in a warm process, and memory after 500 renders.

Run by hand from the repository root::

    .venv/bin/python benchmarks/certificates.py            # 500 renders, about 1.5 minutes
    .venv/bin/python benchmarks/certificates.py --renders 100

A fresh SQLite database in a temporary instance folder, one filed birth notification (the
acceptance certificate: a table of answers, the QR code as inline SVG) decided by a clerk;
then the certificate's document is rendered and sealed (``services.seal``: signed, PAdES
B-B, by the municipality's demo key) as the job does, ``--renders`` times, after
``--warm-up`` renders that are not counted. Prints the median and p95 per certificate (and
the signature's share), the resident set size (RSS) after the warm-up and after every 100,
and the median CPU time. Goal: median under 150 ms, flat memory.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def rss_mb() -> float:
    """The resident set size now (not the peak), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--renders", type=int, default=500)
    parser.add_argument("--warm-up", type=int, default=5)
    args = parser.parse_args(argv)

    instance = Path(tempfile.mkdtemp(prefix="bench-certificates-"))
    os.environ["PORTAL_INSTANCE_PATH"] = str(instance)
    from flask_migrate import upgrade

    from portal import create_app
    from portal.casework.lifecycle import Action
    from portal.casework.services import act
    from portal.certificates import documents, services
    from portal.certificates.models import Certificate
    from portal.extensions import db
    from portal.japan.clock import utcnow
    from tests.factories import AccountFactory, CaseFactory, MunicipalityFactory, RoleFactory

    app = create_app(
        {"SECRET_KEY": "bench-" + os.urandom(16).hex(), "BASE_URL": "https://portal.example.jp"}
    )
    with app.app_context():
        upgrade()
        municipality = MunicipalityFactory(name_ja="千代田区", prefecture_ja="東京都")
        case = CaseFactory(
            account=AccountFactory(display_name="山田 太郎"),
            workflow_key="birth",
            filed=True,
            forms=["moj.shussei"],
            municipality=municipality,
            answers={
                "newborn.family_name": "山田",
                "newborn.given_name": "花子",
                "newborn.sex": "female",
                "birth.date": "2026-11-25",
            },
        )
        request = case.requests[0]
        clerk = RoleFactory(department=request.department).account
        act(request, Action.CLAIM, clerk)
        act(request, Action.APPROVE, clerk)
        db.session.commit()
        certificate = db.session.scalars(db.select(Certificate)).one()

        cpu: list[float] = []
        signing: list[float] = []

        def once() -> float:
            start, start_cpu = time.perf_counter(), time.process_time()
            pdf = documents.render(certificate, "7QK2-M9XD", utcnow())
            rendered = time.perf_counter()
            services.seal(certificate, pdf)
            end = time.perf_counter()
            cpu.append(time.process_time() - start_cpu)
            signing.append(end - rendered)
            return end - start

        first = once()
        for _ in range(args.warm_up):
            once()
        rss = [rss_mb()]
        cpu.clear()
        signing.clear()
        times = []
        for count in range(1, args.renders + 1):
            times.append(once())
            if count % 100 == 0 or count == args.renders:
                rss.append(rss_mb())
    print(f"first certificate (cold: imports WeasyPrint and pyHanko): {first * 1000:.0f} ms")
    print(
        f"certificates: {len(times)}  render and sign median: {_ms(times, 0.5)}  "
        f"p95: {_ms(times, 0.95)}  (of which signing: median {_ms(signing, 0.5)})"
    )
    # On a shared machine the wall clock includes waiting for a core; the CPU time does not.
    print(f"CPU per certificate: median {_ms(cpu, 0.5)}")
    print("RSS after the warm-up, then every 100: " + " ".join(f"{mb:.0f}" for mb in rss) + " MB")
    return 0


def _ms(samples: list[float], quantile: float) -> str:
    ordered = sorted(samples)
    return f"{ordered[max(round(len(ordered) * quantile) - 1, 0)] * 1000:.0f} ms"


if __name__ == "__main__":
    sys.exit(main())
