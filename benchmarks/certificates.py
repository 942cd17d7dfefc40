"""Time to render one certificate in a warm process, and memory after 500 renders.

Run by hand from the repository root::

    .venv/bin/python benchmarks/certificates.py            # 500 renders, about 1.5 minutes
    .venv/bin/python benchmarks/certificates.py --renders 100

A fresh SQLite database in a temporary instance folder, one filed birth notification (the
acceptance certificate: a table of answers, the QR code as inline SVG) decided by a clerk;
then the certificate's document is rendered and sealed (``services.seal``, where the
signature will go) as the job does, ``--renders`` times, after ``--warm-up`` renders that
are not counted. Prints the median and p95 per render and the resident set size (RSS) after
the warm-up and after the last render, and the median CPU time per render. Goal: median
under 150 ms, flat memory.
"""

from __future__ import annotations

import argparse
import os
import statistics
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

        def once() -> float:
            start, start_cpu = time.perf_counter(), time.process_time()
            pdf = documents.render(certificate, "7QK2-M9XD", utcnow())
            services.seal(certificate, pdf)
            cpu.append(time.process_time() - start_cpu)
            return time.perf_counter() - start

        first = once()
        for _ in range(args.warm_up):
            once()
        warm_rss = rss_mb()
        cpu.clear()
        times = [once() for _ in range(args.renders)]
        last_rss = rss_mb()
    times.sort()
    median = statistics.median(times) * 1000
    p95 = times[max(int(len(times) * 0.95) - 1, 0)] * 1000
    print(f"first render (cold, imports WeasyPrint): {first * 1000:.0f} ms")
    print(f"renders: {len(times)}  median: {median:.0f} ms  p95: {p95:.0f} ms")
    # On a shared machine the wall clock includes waiting for a core; the CPU time does not.
    print(f"CPU per render: median {statistics.median(cpu) * 1000:.0f} ms")
    print(f"RSS after warm-up: {warm_rss:.0f} MB  after {len(times)} renders: {last_rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
