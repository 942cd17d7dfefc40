"""How fast the audit log appends (one entry per transaction, as a request does) and verifies,
beside a bare one-row insert and commit.

    .venv/bin/python benchmarks/audit_chain.py [--entries 5000] [--pg-url postgresql://postgres@127.0.0.1:5432]

SQLite in a temporary folder, and PostgreSQL in a database ``bench_audit`` that is dropped
and recreated (and dropped at the end).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from portal import create_app
from portal.audit import services
from portal.audit.chain import verify
from portal.extensions import db


def measure(url: str, entries: int) -> dict[str, float]:
    from flask_migrate import upgrade

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret"})
    timings = []
    with app.app_context():
        upgrade()
        for number in range(entries):
            started = time.perf_counter()
            services.append(
                f"municipality:{131016 + number % 3}",
                actor=None,
                action="request.note",
                subject=f"request:{number}",
                details={"reason": "住民票の写しを確認しました", "n": number},
            )
            db.session.commit()
            timings.append(time.perf_counter() - started)
        baseline = []
        db.session.execute(text("CREATE TABLE bench_rows (id integer, note text)"))
        db.session.commit()
        for number in range(entries):
            started = time.perf_counter()
            db.session.execute(text("INSERT INTO bench_rows VALUES (:n, 'x')"), {"n": number})
            db.session.commit()
            baseline.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = verify()
        verified = time.perf_counter() - started
        assert result.fault is None and result.entries == entries
        db.session.remove()
        db.engine.dispose()
    return {
        "one_insert_commit_p50_ms": statistics.median(baseline) * 1000,
        "append_p50_ms": statistics.median(timings) * 1000,
        "append_p95_ms": statistics.quantiles(timings, n=20)[18] * 1000,
        "verify_s": verified,
        "verify_entries_per_s": entries / verified,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sqlite = measure(f"sqlite:///{Path(folder) / 'bench.sqlite3'}", args.entries)
    print("sqlite", {k: round(v, 2) for k, v in sqlite.items()})
    admin = create_engine(f"{args.pg_url}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS bench_audit"))
        connection.execute(text("CREATE DATABASE bench_audit"))
    try:
        pg = measure(f"{args.pg_url}/bench_audit", args.entries)
        print("postgresql", {k: round(v, 2) for k, v in pg.items()})
    finally:
        with admin.connect() as connection:
            connection.execute(text("DROP DATABASE IF EXISTS bench_audit"))
        admin.dispose()


if __name__ == "__main__":
    main()
