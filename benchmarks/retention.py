"""How long the retention run takes over 1,000 old drafts and 1,000 decided cases past their
retention (half births, anonymised; half deaths, deleted), each with an upload and the
decided ones with a certificate, on SQLite and on PostgreSQL.

    .venv/bin/python benchmarks/retention.py [--cases 1000] [--batch-size 500]
        [--pg-url postgresql://postgres@127.0.0.1:5432]

SQLite in a temporary folder, and PostgreSQL in a database ``bench_retention`` that is
dropped and recreated (and dropped at the end). The data is made with the tests' factories.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

# This folder off sys.path (benchmarks/queue.py would shadow the standard library's queue),
# the repository on it (for the tests' factories).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from portal import create_app  # noqa: E402
from portal.audit.chain import verify  # noqa: E402
from portal.casework.lifecycle import RequestStatus  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.japan.clock import utcnow  # noqa: E402
from portal.journey.models import Case  # noqa: E402
from portal.retention import services  # noqa: E402


def fill(cases: int) -> None:
    from tests.factories import (
        AttachmentFactory,
        CaseFactory,
        CertificateFactory,
        MunicipalityFactory,
    )

    municipality = MunicipalityFactory()
    long_ago, untouched = utcnow() - timedelta(days=11 * 366), utcnow() - timedelta(days=120)
    for number in range(cases):
        draft = CaseFactory(workflow_key="birth", answers={"applicant.family_name": "山田"})
        AttachmentFactory(case=draft)
        draft.updated_at = untouched
        form_id, workflow = ("moj.shussei", "birth") if number % 2 else ("moj.shibou", "death")
        case = CaseFactory(
            filed=True, workflow_key=workflow, forms=[form_id], municipality=municipality
        )
        for request in case.requests:
            request.status, request.decided_at = RequestStatus.APPROVED, long_ago
        AttachmentFactory(case=case)
        CertificateFactory(request=case.requests[0])
        if number % 100 == 99:
            db.session.commit()
    db.session.commit()


def measure(url: str, cases: int, batch_size: int, folder: Path) -> dict[str, float]:
    from flask_migrate import upgrade

    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-secret",
            "UPLOAD_DIR": str(folder / "uploads"),
            "CERTIFICATE_DIR": str(folder / "certificates"),
        }
    )
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        fill(cases)
        filled = time.perf_counter() - started
        started = time.perf_counter()
        outcome = services.run(batch_size=batch_size)
        ran = time.perf_counter() - started
        assert outcome.drafts_anonymised == cases, outcome
        assert outcome.cases_anonymised + outcome.cases_deleted == cases, outcome
        # The drafts and the births are anonymised; the deaths are deleted.
        assert db.session.scalar(select(func.count(Case.anonymised_at))) == cases + cases // 2
        started = time.perf_counter()
        again = services.run(batch_size=batch_size)
        idle = time.perf_counter() - started
        assert again.drafts_anonymised == again.cases_deleted == again.cases_anonymised == 0
        assert verify().fault is None
        db.session.remove()
        db.engine.dispose()
    return {
        "fill_s": filled,
        "run_s": ran,
        "cases_per_s": 2 * cases / ran,
        "batches": outcome.batches,
        "second_run_s": idle,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=services.BATCH_SIZE)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sqlite = measure(
            f"sqlite:///{Path(folder) / 'bench.sqlite3'}", args.cases, args.batch_size, Path(folder)
        )
    print(f"sqlite {args.cases} drafts + {args.cases} decided:", _shown(sqlite))
    admin = create_engine(f"{args.pg_url}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS bench_retention"))
        connection.execute(text("CREATE DATABASE bench_retention"))
    try:
        with tempfile.TemporaryDirectory() as folder:
            pg = measure(
                f"{args.pg_url}/bench_retention", args.cases, args.batch_size, Path(folder)
            )
        print(f"postgresql {args.cases} drafts + {args.cases} decided:", _shown(pg))
    finally:
        with admin.connect() as connection:
            connection.execute(text("DROP DATABASE IF EXISTS bench_retention"))
        admin.dispose()


def _shown(figures: dict[str, float]) -> dict[str, float]:
    return {key: round(value, 2) for key, value in figures.items()}


if __name__ == "__main__":
    main()
