"""A department's queue page and claim-next over one million requests, on PostgreSQL (issue 7).

Run by hand from the repository root (not in CI)::

    .venv/bin/python benchmarks/queue.py             # seeds bench_queue once, then measures
    .venv/bin/python benchmarks/queue.py --reseed    # drops and seeds it again

Seeding: the schema and the demo data with the project's own commands (``db upgrade``,
``municipalities load``, ``definitions load``, ``demo load``), clerks through the accounts
service, then accounts, cases and requests in bulk with ``INSERT ... SELECT
generate_series``: 1,000,000 requests over 200 served municipalities (8 departments each),
most of them final, 50,000 open in one department (Chiyoda's residents division). The
database is kept and reused while its marker row matches the arguments.

Measured through the real app in this process, with Flask's test client (no HTTP):

- the queue page ``GET /staff/departments/<id>``: the first page, deeper pages reached by
  following the page's own "next" link, and filtered pages; ``--iterations`` times each;
- ``POST /staff/departments/<id>/claim-next``: ``--clerks`` threads, each its own clerk
  and session, each claiming ``--claims`` times; then SQL checks that no request was claimed
  twice;
- the EXPLAIN (ANALYZE, BUFFERS) of the queue page's heaviest statement on ``requests``,
  as the app sent it, so a regression in the plan is visible.

Goal: p95 < 50 ms for both.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this folder comes first on sys.path, and this file would stand in for the
# standard library's ``queue`` (psycopg and SQLAlchemy's pool import it): take the folder off.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

GOAL_P95_MS = 50.0
#: The department whose queue is measured: Chiyoda's residents division (the demo's).
QUEUE_MUNICIPALITY = "131016"
QUEUE_KIND = "resident_registration"
#: Municipalities served in the seed besides the demo's two, each with every department kind.
EXTRA_SERVED = 198
BENCH_ISSUER = "https://bench.invalid"
CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
SEED_VERSION = 2


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# Settings ----------------------------------------------------------------------------------


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Seed one million requests into PostgreSQL (once) and print p50/p95 of a "
            "department's queue page (50,000 open requests) and of claim-next under "
            "concurrent clerks, through the real app. Goal: p95 < 50 ms."
        )
    )
    parser.add_argument(
        "--requests", type=int, default=1_000_000, help="requests seeded (1,000,000)"
    )
    parser.add_argument(
        "--open", type=int, default=50_000, help="open requests in the measured department"
    )
    parser.add_argument("--reseed", action="store_true", help="drop the database and seed again")
    parser.add_argument(
        "--iterations", type=int, default=100, help="requests per queue page measured (100)"
    )
    parser.add_argument("--depth", type=int, default=5, help="keyset pages followed (5)")
    parser.add_argument(
        "--filter",
        action="append",
        default=None,
        metavar="NAME=VALUE",
        help="a filtered queue page to measure, as GET parameters (repeatable; "
        "default: state=submitted, state=in_review, overdue=1, mine=1, form=mic.tennyu, "
        "and receipt= with an open request's receipt number)",
    )
    parser.add_argument("--clerks", type=int, default=8, help="concurrent clerks (8)")
    parser.add_argument("--claims", type=int, default=50, help="claims per clerk (50)")
    parser.add_argument(
        "--think",
        type=float,
        default=0.1,
        help="seconds each clerk waits between claims (0.1: eight clerks pressing 'next' ten "
        "times a second each, far above any counter's pace; 0: back to back, which saturates "
        "the cores, so the latency is queueing for them: clerks / claims per s)",
    )
    parser.add_argument(
        "--pg-url",
        default="postgresql://postgres@127.0.0.1:5432",
        help="PostgreSQL server, without a database (postgresql://postgres@127.0.0.1:5432)",
    )
    parser.add_argument(
        "--pg-database", default="bench_queue", help="database seeded and kept (bench_queue)"
    )
    parser.add_argument(
        "--pg-admin-database",
        default="postgres",
        help="database to connect to for CREATE/DROP DATABASE (postgres)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if args.filter is None:
        args.filter = [
            "state=submitted",
            "state=in_review",
            "overdue=1",
            "mine=1",
            "form=mic.tennyu",
            "receipt=",
        ]
    if not 10_000 <= args.requests <= 20_000_000 or not 100 <= args.open <= args.requests // 10:
        parser.error("--requests: 10,000 to 20,000,000; --open: 100 to a tenth of --requests")
    if not 1 <= args.clerks <= 64 or not 1 <= args.claims <= 10_000:
        parser.error("--clerks: 1 to 64; --claims: 1 to 10,000")
    if args.pg_database in ("postgres", "template0", "template1", args.pg_admin_database):
        parser.error(f"refusing to use the database {args.pg_database!r}")
    return args


def database_url(args: argparse.Namespace) -> str:
    return f"{args.pg_url.rstrip('/')}/{args.pg_database}"


def connect(args: argparse.Namespace, database: str | None = None) -> Any:
    import psycopg

    name = database or args.pg_database
    return psycopg.connect(f"{args.pg_url.rstrip('/')}/{name}", autocommit=True)


def portal_environment(args: argparse.Namespace, instance: Path) -> dict[str, str]:
    """The settings the portal runs with: the caller's environment without PORTAL_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(PORTAL_INSTANCE_PATH=str(instance), PORTAL_DATABASE_URL=database_url(args))
    return env


@contextlib.contextmanager
def portal_app(env: dict[str, str]) -> Iterator[Any]:
    """The portal in this process, configured from ``env``."""
    for key in [k for k in os.environ if k.startswith("PORTAL_")]:
        del os.environ[key]
    os.environ.update({k: v for k, v in env.items() if k.startswith("PORTAL_")})
    from portal import create_app
    from portal.extensions import db

    app = create_app()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# Seeding -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    """What the marker row says was seeded."""

    requests: int
    open: int
    department_id: int
    clerk_ids: list[int]
    seconds: float


def seed_wanted(args: argparse.Namespace) -> dict[str, int]:
    return {"version": SEED_VERSION, "requests": args.requests, "open": args.open}


def existing_seed(args: argparse.Namespace) -> Seed | None:
    """The seed kept in the database, when it was made with these arguments."""
    import psycopg

    try:
        connection = connect(args)
    except psycopg.OperationalError:
        return None
    with connection:
        found = connection.execute("SELECT to_regclass('bench_queue_seed') IS NOT NULL").fetchone()
        if not found or not found[0]:
            return None
        row = connection.execute("SELECT wanted, seed FROM bench_queue_seed").fetchone()
    if row is None or row[0] != seed_wanted(args):
        return None
    return Seed(**row[1])


def recreate_database(args: argparse.Namespace) -> None:
    from psycopg import sql

    name = sql.Identifier(args.pg_database)
    with connect(args, args.pg_admin_database) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(name))


def run_flask(arguments: list[str], env: dict[str, str], timeout: float = 600) -> None:
    import subprocess

    command = [sys.executable, "-m", "flask", "--app", "portal", *arguments]
    done = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed:\n{done.stdout}\n{done.stderr}")


def prepare_with_app(env: dict[str, str], clerks: int) -> tuple[int, list[int], list[dict]]:
    """The measured department, its clerks (granted by the accounts service), and every
    form of every workflow's current snapshot, for the bulk insert to file against."""
    from sqlalchemy import select

    from portal.accounts import services as accounts
    from portal.definitions.services import current_catalog, parsed_snapshot, snapshot_for
    from portal.extensions import db
    from portal.tenancy.models import Department, Municipality

    with portal_app(env) as app, app.app_context():
        department = db.session.scalars(
            select(Department)
            .join(Municipality)
            .where(Municipality.code == QUEUE_MUNICIPALITY, Department.kind == QUEUE_KIND)
        ).one()
        # Claimers first, then as many again who hold the requests already in review.
        clerk_ids = []
        for number in range(1, 2 * clerks + 1):
            account = accounts.account_for(BENCH_ISSUER, f"bench-clerk-{number}")
            account.display_name = f"Bench clerk {number}"
            accounts.grant_clerk(account, [department])
            db.session.flush()
            clerk_ids.append(account.id)
        forms = []
        for workflow_key in sorted(current_catalog().workflows):
            snapshot = snapshot_for(workflow_key)
            db.session.flush()
            parsed = parsed_snapshot(snapshot.digest, lambda s=snapshot: s)
            for form in parsed.forms.values():
                forms.append(
                    {
                        "snapshot_id": snapshot.id,
                        "digest": snapshot.digest,
                        "workflow_key": workflow_key,
                        "form_id": form.id,
                        "form_version": form.version,
                        "kind": form.department_kind,
                    }
                )
        db.session.commit()
        return department.id, clerk_ids, forms


#: The bulk load, in order. Parameters: %(requests)s, %(open)s, %(department)s,
#: %(claimers)s (the first clerks, who claim), %(holders)s (the others' ids, an array).
SEED_SQL = [
    # More served municipalities: 198 cities and towns with all eight departments.
    """
    INSERT INTO departments (municipality_id, kind, name_ja, name_en)
    SELECT m.id, k.kind, k.kind || '課', initcap(replace(k.kind, '_', ' ')) || ' Division'
    FROM (SELECT id FROM municipalities
          WHERE kind IN ('city', 'town', 'special_ward') AND code NOT IN ('131016', '141003')
          ORDER BY code LIMIT %(extra)s) m
    CROSS JOIN (SELECT DISTINCT kind FROM departments) k
    ON CONFLICT DO NOTHING
    """,
    """
    CREATE TEMP TABLE served AS
    SELECT row_number() OVER (ORDER BY m.id) - 1 AS n, m.id, m.code
    FROM municipalities m WHERE EXISTS (SELECT 1 FROM departments d WHERE d.municipality_id = m.id)
    """,
    """
    CREATE TEMP TABLE served_elsewhere AS
    SELECT row_number() OVER (ORDER BY n) - 1 AS n, id, code FROM served WHERE code <> '131016'
    """,
    """
    CREATE TEMP TABLE unserved AS
    SELECT row_number() OVER (ORDER BY m.id) - 1 AS n, m.id FROM municipalities m
    WHERE m.kind <> 'ward'
      AND NOT EXISTS (SELECT 1 FROM departments d WHERE d.municipality_id = m.id)
    """,
    # One resident for every two cases: residents with several life events.
    """
    INSERT INTO accounts (issuer, subject, display_name, identity, created_at)
    SELECT %(issuer)s, 'bench-resident-' || g, '住民 ' || g, '{}', now() - interval '2 years'
    FROM generate_series(1, %(cases)s / 2) g
    """,
    """
    CREATE TEMP TABLE residents AS
    SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM accounts
    WHERE issuer = %(issuer)s AND subject LIKE 'bench-resident-%%'
    """,
    # Cases 1..open_cases are the measured department's (Chiyoda, moving); then the rest.
    """
    CREATE TEMP TABLE bench_cases AS
    SELECT g AS n,
           CASE WHEN g <= %(queue_cases)s THEN 'moving'
                ELSE (ARRAY['birth', 'childcare', 'death', 'moving'])[1 + g %% 4] END AS workflow,
           now() - make_interval(secs => (%(cases)s - g) * (63072000.0 / %(cases)s))
               AS created_at
    FROM generate_series(1, %(cases)s) g
    """,
    """
    INSERT INTO cases (account_id, snapshot_id, snapshot_digest, workflow_key, status, answers,
                       locked_keys, declined_forms, completed_pages, receipt_number, language,
                       created_at, updated_at, submitted_at)
    SELECT r.id, s.snapshot_id, s.digest, c.workflow, 'submitted', '{}', '[]', '[]', '[]',
           to_char(c.created_at, 'YYMMDD') || '-' || substr(code.symbols, 1, 4) || '-'
               || substr(code.symbols, 5, 4),
           CASE WHEN c.n %% 10 = 0 THEN 'en' ELSE 'ja' END,
           c.created_at, c.created_at, c.created_at
    FROM bench_cases c
    JOIN residents r ON r.n = c.n %% (SELECT count(*) FROM residents)
    JOIN (SELECT DISTINCT workflow_key, snapshot_id, digest FROM bench_forms) s
      ON s.workflow_key = c.workflow
    -- eight symbols of the receipt alphabet, one number per case (an odd multiplier modulo
    -- 2^40 is a bijection): unique, and shaped as the portal writes them (261127-K7Q2-9M4X)
    CROSS JOIN LATERAL (
        SELECT string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ',
                                 ((((c.n::bigint * 743398301) %% 1099511627776) >> (5 * i))
                                     %% 32)::int + 1, 1), '' ORDER BY i) AS symbols
        FROM generate_series(0, 7) i
    ) code
    ORDER BY c.n
    """,
    """
    CREATE TEMP TABLE case_ids AS
    SELECT row_number() OVER (ORDER BY id) AS n, id, account_id, created_at FROM cases
    WHERE receipt_number IS NOT NULL AND workflow_key IS NOT NULL
      AND account_id IN (SELECT id FROM residents)
    """,
    # Two requests per case, of two different forms of its workflow.
    """
    CREATE TEMP TABLE bench_requests AS
    WITH numbered AS (
        SELECT c.n, c.id AS case_id, c.account_id, c.created_at, s.slot, bc.workflow
        FROM case_ids c JOIN bench_cases bc ON bc.n = c.n CROSS JOIN (VALUES (0), (1)) s(slot)
    )
    SELECT x.*, f.form_id, f.form_version, f.kind FROM numbered x
    JOIN LATERAL (
        SELECT form_id, form_version, kind FROM bench_forms f
        WHERE f.workflow_key = x.workflow
          AND (x.n > %(queue_cases)s OR (x.slot = 0) = (f.kind = %(kind)s))
        ORDER BY f.form_id
        OFFSET (x.n / 2 + x.slot) %% (
            SELECT count(*) FROM bench_forms f2
            WHERE f2.workflow_key = x.workflow
              AND (x.n > %(queue_cases)s OR (x.slot = 0) = (f2.kind = %(kind)s)))
        LIMIT 1
    ) f ON true
    """,
    """
    INSERT INTO requests (case_id, form_id, form_version, municipality_id, office_id,
                          department_id, status, deadline, created_at, version, assignee_id,
                          answers, answers_digest, resident_code, paused_since, paused_days,
                          first_approver_id, decided_at)
    SELECT q.case_id, q.form_id, q.form_version, m.id, m.id,
           CASE WHEN q.status = 'at_counter' THEN NULL ELSE d.id END,
           q.status, (q.created_at + interval '14 days')::date, q.created_at, 1 + q.n %% 3,
           CASE WHEN q.status IN ('in_review', 'waiting_for_resident',
                                  'awaiting_second_approval')
                THEN (%(holders)s::int[])[1 + q.n %% cardinality(%(holders)s::int[])] END,
           json_build_object('person.name', '住民 ' || q.account_id,
                             'person.kana', 'ジュウミン',
                             'move.new_address', json_build_object('postal_code', '100-0001',
                                                                   'street', '1-' || q.n)),
           md5(q.case_id || q.form_id),
           upper(substr(md5(m.code || q.kind || q.account_id), 1, 4) || '-'
                 || substr(md5(m.code || q.kind || q.account_id), 5, 4) || '-'
                 || substr(md5(m.code || q.kind || q.account_id), 9, 4)),
           CASE WHEN q.status = 'waiting_for_resident' THEN current_date - 3 END,
           0,
           CASE WHEN q.status = 'awaiting_second_approval'
                THEN (%(holders)s::int[])[1 + (q.n + 1) %% cardinality(%(holders)s::int[])] END,
           CASE WHEN q.status IN ('approved', 'rejected', 'withdrawn', 'handed_over')
                THEN q.created_at + interval '5 days' END
    FROM (
        SELECT r.*,
               CASE
                 -- the measured department: its open requests, then decided ones
                 WHEN r.n <= %(queue_cases)s AND r.slot = 0 THEN
                   CASE WHEN r.n > %(open)s THEN 'approved'
                        WHEN r.n %% 100 < 70 THEN 'submitted'
                        WHEN r.n %% 100 < 88 THEN 'in_review'
                        WHEN r.n %% 100 < 96 THEN 'waiting_for_resident'
                        ELSE 'awaiting_second_approval' END
                 WHEN r.n <= %(queue_cases)s THEN 'approved'
                 ELSE
                   CASE WHEN (r.n * 7 + r.slot) %% 1000 < 30 THEN 'at_counter'
                        WHEN (r.n * 7 + r.slot) %% 1000 < 860 THEN 'approved'
                        WHEN (r.n * 7 + r.slot) %% 1000 < 900 THEN 'rejected'
                        WHEN (r.n * 7 + r.slot) %% 1000 < 940 THEN 'withdrawn'
                        WHEN (r.n * 7 + r.slot) %% 1000 < 960 THEN 'handed_over'
                        WHEN (r.n * 7 + r.slot) %% 1000 < 980 THEN 'submitted'
                        ELSE 'in_review' END
               END AS status,
               r.n %% (SELECT count(*) FROM served_elsewhere) AS elsewhere_n,
               r.n %% (SELECT count(*) FROM unserved) AS unserved_n
        FROM bench_requests r
    ) q
    -- the municipality: Chiyoda for the measured cases, else any other served one; a
    -- procedure at the counter goes to a municipality not served here
    LEFT JOIN served_elsewhere e ON e.n = q.elsewhere_n
    JOIN served s ON s.id = CASE WHEN q.n <= %(queue_cases)s
                                 THEN (SELECT id FROM served WHERE code = '131016') ELSE e.id END
    LEFT JOIN unserved u ON u.n = q.unserved_n
    JOIN municipalities m ON m.id = CASE WHEN q.status = 'at_counter' THEN u.id ELSE s.id END
    LEFT JOIN departments d ON d.municipality_id = s.id AND d.kind = q.kind
    ORDER BY q.case_id, q.slot
    """,
]


def seed(args: argparse.Namespace, instance: Path) -> Seed:
    """Everything from an empty database, timed; the marker row written last."""
    started = time.monotonic()
    recreate_database(args)
    env = portal_environment(args, instance)
    for command in (
        ["db", "upgrade"],
        ["municipalities", "load"],
        ["definitions", "load"],
        ["demo", "load"],
    ):
        run_flask(command, env)
        log(f"  {' '.join(command)}: {time.monotonic() - started:.1f} s")
    department_id, clerk_ids, forms = prepare_with_app(env, args.clerks)
    cases = args.requests // 2
    # The measured department takes one request of each of its cases; a tenth of them decided.
    queue_cases = args.open + args.open // 5
    parameters = {
        "extra": EXTRA_SERVED,
        "issuer": BENCH_ISSUER,
        "cases": cases,
        "queue_cases": queue_cases,
        "open": args.open,
        "kind": QUEUE_KIND,
        "holders": clerk_ids[args.clerks :],
    }
    with connect(args) as connection:
        connection.execute(
            "CREATE TEMP TABLE bench_forms (snapshot_id int, digest text, workflow_key text,"
            " form_id text, form_version int, kind text)"
        )
        with connection.cursor().copy(
            "COPY bench_forms (snapshot_id, digest, workflow_key, form_id, form_version, kind)"
            " FROM STDIN"
        ) as copy:
            for form in forms:
                copy.write_row(
                    [form[k] for k in ("snapshot_id", "digest", "workflow_key", "form_id")]
                    + [form["form_version"], form["kind"]]
                )
        for statement in SEED_SQL:
            step = time.monotonic()
            done = connection.execute(statement, parameters)
            first = " ".join(statement.split())[:60]
            log(f"  {first}...: {done.rowcount} rows, {time.monotonic() - step:.1f} s")
        step = time.monotonic()
        connection.execute("VACUUM ANALYZE")
        log(f"  VACUUM ANALYZE: {time.monotonic() - step:.1f} s")
        made = Seed(
            requests=connection.execute("SELECT count(*) FROM requests").fetchone()[0],
            open=connection.execute(
                "SELECT count(*) FROM requests WHERE department_id = %s AND status IN"
                " ('submitted', 'in_review', 'waiting_for_resident', 'awaiting_second_approval')",
                [department_id],
            ).fetchone()[0],
            department_id=department_id,
            clerk_ids=clerk_ids[: args.clerks],
            seconds=round(time.monotonic() - started, 1),
        )
        connection.execute("CREATE TABLE bench_queue_seed (wanted jsonb, seed jsonb)")
        connection.execute(
            "INSERT INTO bench_queue_seed VALUES (%s, %s)",
            [json.dumps(seed_wanted(args)), json.dumps(made.__dict__)],
        )
    return made


def upgrade_kept(args: argparse.Namespace, env: dict[str, str]) -> None:
    """A kept seed gets the migrations added since (a new index), then fresh statistics."""
    started = time.monotonic()
    run_flask(["db", "upgrade"], env, timeout=1800)
    with connect(args) as connection:
        connection.execute("ANALYZE")
    log(f"  kept seed: db upgrade and ANALYZE in {time.monotonic() - started:.1f} s")


# Measuring ---------------------------------------------------------------------------------


@dataclass
class Timings:
    """Latencies of one kind of request, with the SQL statements each sent."""

    label: str
    seconds: list[float] = field(default_factory=list)
    #: CPU time of this process's thread per request (the test client and the app): unlike
    #: the wall time, it does not grow when other processes take the cores.
    cpu_seconds: list[float] = field(default_factory=list)
    #: Time spent in the request's SQL statements, as the app waited for them.
    sql_seconds: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    #: The statements of one request (the last measured): text, parameters, seconds.
    sample: list[tuple[str, Any, float]] = field(default_factory=list)
    #: Each statement on ``requests`` of that request, slowest first, with its EXPLAIN.
    plans: list[tuple[tuple[str, Any, float], dict[str, Any]]] = field(default_factory=list)

    def explain_requests(self, args: argparse.Namespace, entries: list[Any]) -> None:
        self.sample = list(entries)
        on_requests = [e for e in entries if re.search(r"\bFROM requests\b", e[0])]
        for entry in sorted(on_requests, key=lambda e: -e[2]):
            self.plans.append((entry, explain(args, entry)))

    def percentile_ms(self, fraction: float) -> float | None:
        if not self.seconds:
            return None
        ordered = sorted(self.seconds)
        return 1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def cpu_median_ms(self) -> float | None:
        return 1000 * statistics.median(self.cpu_seconds) if self.cpu_seconds else None

    def sql_median_ms(self) -> float | None:
        return 1000 * statistics.median(self.sql_seconds) if self.sql_seconds else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "count": len(self.seconds),
            "p50_ms": _round(self.percentile_ms(0.50)),
            "p95_ms": _round(self.percentile_ms(0.95)),
            "cpu_ms_median": _round(self.cpu_median_ms()),
            "sql_ms_median": _round(self.sql_median_ms()),
            "statements": statistics.median(self.statements) if self.statements else None,
            "errors": dict(self.errors),
            "plans": [plan for _entry, plan in self.plans],
            "statements_of_one": [(" ".join(e[0].split())[:200], e[2]) for e in self.sample],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class StatementLog:
    """Every statement the app sends in this thread, with its parameters and time taken."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.local = threading.local()
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def start(self) -> None:
        self.local.entries = []

    def entries(self) -> list[tuple[str, Any, float]]:
        return getattr(self.local, "entries", [])

    def _before(self, conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> None:
        self.local.began = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> None:
        if hasattr(self.local, "entries"):
            took = time.perf_counter() - self.local.began
            self.local.entries.append((statement, params, took))


def signed_in_client(app: Any, account_id: int) -> Any:
    """A test client with a staff session opened as a sign-in opens it (no provider)."""
    from portal.accounts.models import Account
    from portal.auth.sessions import SESSION_KEY, open_session
    from portal.extensions import db

    client = app.test_client()
    with app.app_context():
        key, _row = open_session(db.session.get(Account, account_id), "staff", None)
        db.session.commit()
    with client.session_transaction() as session:
        session[SESSION_KEY] = key
        session["_user_id"] = str(account_id)
        session["_fresh"] = True
    return client


def next_link(page: str, queue_url: str) -> str | None:
    """The page's link to the next keyset page: rel="next", else a link to the queue with a
    cursor-looking parameter."""
    for tag in re.findall(r"<a\b[^>]*>", page):
        href = re.search(r'href="([^"]+)"', tag)
        if href and re.search(r'rel="[^"]*next', tag):
            return unescape(href.group(1))
    for href in re.findall(r'href="([^"]+)"', page):
        url = unescape(href)
        if url.startswith(queue_url + "?") and re.search(r"(after|cursor|before)=", url):
            return url
    return None


def time_get(client: Any, url: str, log_: StatementLog, timings: Timings) -> str:
    log_.start()
    began, cpu = time.perf_counter(), time.thread_time()
    response = client.get(url)
    took, cpu_took = time.perf_counter() - began, time.thread_time() - cpu
    if response.status_code != 200:
        timings.errors[str(response.status_code)] += 1
    timings.seconds.append(took)
    timings.cpu_seconds.append(cpu_took)
    timings.sql_seconds.append(sum(e[2] for e in log_.entries()))
    timings.statements.append(len(log_.entries()))
    return response.get_data(as_text=True)


@dataclass
class QueueResult:
    pages: list[Timings]
    first_page_status: int


def measure_queue(
    app: Any, log_: StatementLog, seed_: Seed, args: argparse.Namespace
) -> QueueResult:
    queue_url = f"/staff/departments/{seed_.department_id}"
    client = signed_in_client(app, seed_.clerk_ids[0])
    first = client.get(queue_url)
    # Pages: the first, each keyset page the first one leads to, and the filters.
    urls: list[tuple[str, str]] = [("first page", queue_url)]
    page = first.get_data(as_text=True)
    for depth in range(2, args.depth + 2):
        found = next_link(page, queue_url)
        if found is None:
            break
        urls.append((f"keyset page {depth}", found))
        page = client.get(found).get_data(as_text=True)
    separator = "&" if "?" in queue_url else "?"
    for narrowing in args.filter:
        if narrowing == "receipt=":
            narrowing += open_receipt(args, seed_.department_id)
        urls.append((f"filter {narrowing}", f"{queue_url}{separator}{narrowing}"))
    results = []
    for label, url in urls:
        timings = Timings(label)
        for _ in range(3):  # warm: caches, the parsed snapshots, the plan
            client.get(url)
        for _ in range(args.iterations):
            time_get(client, url, log_, timings)
        timings.explain_requests(args, log_.entries())
        results.append(timings)
        log(f"  {label}: p95 {timings.percentile_ms(0.95):.1f} ms")
    return QueueResult(results, first.status_code)


def open_receipt(args: argparse.Namespace, department_id: int) -> str:
    """The receipt number of an open request of the department, for the receipt filter."""
    with connect(args) as connection:
        (receipt,) = connection.execute(
            "SELECT c.receipt_number FROM requests r JOIN cases c ON c.id = r.case_id"
            " WHERE r.department_id = %s AND r.status = 'in_review' ORDER BY r.id DESC LIMIT 1",
            [department_id],
        ).fetchone()
    return str(receipt)


def generic_plan_ms(args: argparse.Namespace, sql: str, params: Any) -> float | None:
    """Execution time of the statement's generic plan: psycopg prepares a statement after its
    fifth run, and PostgreSQL may then plan it once for every parameter value (a department
    of 500 requests and one of 60,000 alike). A plan fast above and slow here is that trap."""
    import psycopg

    if not isinstance(params, dict) or not params:
        return None
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", sql)))
    numbered = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", sql)
    with connect(args) as connection:
        connection.execute("BEGIN")
        connection.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        connection.execute(f"PREPARE bench_generic AS {numbered.replace('%%', '%')}")
        cursor = psycopg.ClientCursor(connection)
        placeholders = ", ".join(["%s"] * len(names))
        (plan,) = cursor.execute(
            f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE bench_generic({placeholders})",
            [params[name] for name in names],
        ).fetchone()[0]
        connection.execute("ROLLBACK")
    return plan.get("Execution Time")


def explain(args: argparse.Namespace, statement: tuple[str, Any, float]) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of a statement as the app sent it, summarized."""
    sql, params, _took = statement
    with connect(args) as connection:
        connection.execute("BEGIN")  # ANALYZE runs it: a FOR UPDATE or a write is rolled back
        (plan,) = connection.execute(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params
        ).fetchone()[0]
        connection.execute("ROLLBACK")
    generic = generic_plan_ms(args, sql, params)
    nodes = []

    def walk(node: dict[str, Any], depth: int) -> None:
        nodes.append(
            {
                "depth": depth,
                "node": node["Node Type"],
                "relation": node.get("Relation Name"),
                "index": node.get("Index Name"),
                "rows": node.get("Actual Rows"),
                "loops": node.get("Actual Loops"),
                "hit": node.get("Shared Hit Blocks", 0),
                "read": node.get("Shared Read Blocks", 0),
                "ms": node.get("Actual Total Time"),
                "filter": node.get("Filter") or node.get("Index Cond"),
            }
        )
        for child in node.get("Plans", []):
            walk(child, depth + 1)

    walk(plan["Plan"], 0)
    return {
        "sql": " ".join(sql.split()),
        "execution_ms": plan.get("Execution Time"),
        "planning_ms": plan.get("Planning Time"),
        "generic_execution_ms": generic,
        "nodes": nodes,
    }


@dataclass
class ClaimResult:
    timings: Timings
    seconds: float
    claimed: list[int]
    double_claims_sql: int
    double_claims_seen: int
    assigned_sql: int
    available: bool


def measure_claims(
    app: Any, log_: StatementLog, seed_: Seed, args: argparse.Namespace
) -> ClaimResult:
    """Each clerk its own process, client and session; each claims ``--claims`` times."""
    queue_url = f"/staff/departments/{seed_.department_id}"
    claim_url = f"{queue_url}/claim-next"
    clerk_ids = seed_.clerk_ids[: args.clerks]
    clients = [signed_in_client(app, clerk) for clerk in clerk_ids]
    tokens = []
    for client in clients:
        found = CSRF.search(client.get(queue_url).get_data(as_text=True))
        tokens.append(found.group(1) if found else "")
    log_.start()
    probe = clients[0].post(claim_url, data={"csrf_token": tokens[0]})
    timings = Timings("claim-next")
    if probe.status_code in (404, 405):
        timings.errors[f"{probe.status_code} (no claim-next on this branch)"] += 1
        return ClaimResult(timings, 0.0, [], 0, 0, 0, False)
    # The plan of the claim query as one clerk alone sends it (ANALYZE locks, then rolls back).
    timings.explain_requests(args, log_.entries())
    with connect(args) as connection:
        (since,) = connection.execute("SELECT now()").fetchone()
    # Each clerk its own process, as gunicorn's workers are: threads of one interpreter would
    # share one GIL, and a thread holding a lock would wait for the others' Python.
    context = multiprocessing.get_context("fork")
    start = context.Barrier(len(clients))
    results = context.Queue()

    def clerk(index: int) -> None:
        from portal.extensions import db

        with app.app_context():
            db.engine.dispose(close=False)  # the parent's connections stay the parent's
        client, token = clients[index], tokens[index]
        found: list[tuple[float, float, float, int, int, int | None]] = []
        start.wait()
        for _ in range(args.claims):
            log_.start()
            began, cpu = time.perf_counter(), time.thread_time()
            response = client.post(claim_url, data={"csrf_token": token})
            took, cpu_took = time.perf_counter() - began, time.thread_time() - cpu
            request_id = re.search(r"/staff/requests/(\d+)", response.headers.get("Location", ""))
            entries = log_.entries()
            found.append(
                (
                    took,
                    cpu_took,
                    sum(e[2] for e in entries),
                    len(entries),
                    response.status_code,
                    int(request_id.group(1)) if request_id else None,
                )
            )
            if args.think:
                time.sleep(args.think)
        results.put(found)

    processes = [context.Process(target=clerk, args=(i,)) for i in range(len(clients))]
    began = time.perf_counter()
    for process in processes:
        process.start()
    claimed: list[int] = []
    for _ in processes:
        for took, cpu_took, sql_took, statements, status, request_id in results.get():
            timings.seconds.append(took)
            timings.cpu_seconds.append(cpu_took)
            timings.sql_seconds.append(sql_took)
            timings.statements.append(statements)
            if status in (302, 303) and request_id is not None:
                claimed.append(request_id)
            else:
                timings.errors[str(status)] += 1
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - began
    with connect(args) as connection:
        (double,) = connection.execute(
            "SELECT count(*) FROM (SELECT request_id FROM request_events"
            " WHERE action = 'claim' AND at >= %s GROUP BY request_id HAVING count(*) > 1) t",
            [since],
        ).fetchone()
        (assigned,) = connection.execute(
            "SELECT count(DISTINCT request_id) FROM request_events"
            " WHERE action = 'claim' AND at >= %s AND actor_id = ANY(%s)",
            [since, clerk_ids],
        ).fetchone()
    seen_twice = sum(1 for count in Counter(claimed).values() if count > 1)
    return ClaimResult(timings, elapsed, claimed, double, seen_twice, assigned, True)


# Output ------------------------------------------------------------------------------------


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def report(
    seed_: Seed,
    seeded_now: bool,
    queue: QueueResult,
    claims: ClaimResult,
    args: argparse.Namespace,
    load: tuple[float, float],
) -> str:
    lines = [
        f"seed: {seed_.requests:,} requests, {seed_.open:,} open in department "
        f"{seed_.department_id} ({'seeded now' if seeded_now else 'kept from an earlier run'}"
        f" in {seed_.seconds:.1f} s)",
        "",
        f"{'measured':<34} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'CPU ms':>7} {'SQL ms':>7} "
        f"{'SQL/req':>8} "
        f"{'errors':>7}  p95<{GOAL_P95_MS:.0f}ms",
        "-" * 102,
    ]
    for timings in [*queue.pages, claims.timings]:
        p95 = timings.percentile_ms(0.95)
        errors = sum(timings.errors.values())
        met = "-" if p95 is None or errors else ("yes" if p95 < GOAL_P95_MS else "NO")
        statements = statistics.median(timings.statements) if timings.statements else None
        lines.append(
            f"{timings.label:<34} {len(timings.seconds):>5} {ms(timings.percentile_ms(0.5)):>8}"
            f" {ms(p95):>8} {ms(timings.cpu_median_ms()):>7} {ms(timings.sql_median_ms()):>7}"
            f" {ms(statements):>8} {errors:>7}  {met}"
        )
        for error, count in timings.errors.items():
            lines.append(f"{'':<34} {count} x {error}")
    lines.append("")
    if claims.available:
        rate = len(claims.claimed) / claims.seconds if claims.seconds else 0.0
        lines.append(
            f"claim-next: {args.clerks} clerks x {args.claims} claims ({args.think:g} s between "
            f"a clerk's claims), {len(claims.claimed)} "
            f"claimed in {claims.seconds:.1f} s = {rate:.1f} claims/s; claimed twice: "
            f"{claims.double_claims_sql} (request_events), {claims.double_claims_seen} (as "
            f"redirected); distinct requests claimed in SQL: {claims.assigned_sql}"
        )
    else:
        lines.append("claim-next: not measured, the route answers 404/405 on this branch")
    if queue.first_page_status != 200:
        lines.append(f"queue page answered {queue.first_page_status}")
    lines.append("")
    lines.append("plans: each statement on requests of one request, EXPLAIN (ANALYZE, BUFFERS)")
    for timings in [*queue.pages, claims.timings]:
        lines.extend(
            plan_lines(timings, full=timings is queue.pages[0] or timings is claims.timings)
        )
    lines.append(
        f"\nthrough Flask's test client, signed in as clerks of the department (claim-next: one "
        f"process per clerk); "
        f"{args.iterations} GETs per page after 3 warm-ups; database {args.pg_database}\n"
        "CPU ms: median CPU time of the measuring thread per request (test client + app, "
        "without PostgreSQL's); SQL ms: median time the app waited for its statements; "
        "SQL/req: median statements per request (BEGIN/COMMIT not "
        f"counted)\nload average (1 min) at the start and the end: {load[0]:.1f}, {load[1]:.1f} "
        f"on {os.cpu_count()} cores"
    )
    return "\n".join(lines)


def plan_lines(timings: Timings, *, full: bool) -> list[str]:
    """The plans of a request's statements on requests: each node with its relation, index,
    rows and buffers, or, not ``full``, only the scans; ``full`` also lists the statements."""
    if not timings.plans:
        return [f"  {timings.label}: no statement on requests"]
    lines = [f"  {timings.label}:"]
    if full:
        lines.append(f"    {len(timings.sample)} statements of one request (ms in the app):")
        lines += [
            f"      {e[2] * 1000:6.1f}  {' '.join(e[0].split())[:110]}" for e in timings.sample
        ]
    for (sql, _params, took), plan in timings.plans:
        lines.append(
            f"    {took * 1000:.1f} ms in the app; EXPLAIN ANALYZE execution "
            f"{plan['execution_ms']:.1f} ms, planning {plan['planning_ms']:.1f} ms, generic plan "
            f"{ms(plan['generic_execution_ms'])} ms: "
            f"{' '.join(sql.split())[: 600 if full else 90]}"
        )
        for node in plan["nodes"]:
            if not full and "Scan" not in node["node"]:
                continue
            where = " ".join(
                part
                for part in (
                    f"on {node['relation']}" if node["relation"] else "",
                    f"using {node['index']}" if node["index"] else "",
                )
                if part
            )
            indent = "  " * node["depth"] if full else ""
            lines.append(
                f"      {indent}{node['node']} {where}: rows {node['rows']} x {node['loops']}"
                f" loops, {node['ms']:.1f} ms, buffers hit {node['hit']} read {node['read']}"
                + (f"; {node['filter']}" if full and node["filter"] else "")
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    with tempfile.TemporaryDirectory(prefix="queuebench-") as workdir:
        instance = Path(workdir)
        seed_ = None if args.reseed else existing_seed(args)
        seeded_now = seed_ is None
        if seed_ is None:
            log(f"seeding {args.pg_database}: {args.requests:,} requests")
            seed_ = seed(args, instance)
            log(f"seeded in {seed_.seconds:.1f} s")
        env = portal_environment(args, instance)
        if not seeded_now:
            upgrade_kept(args, env)
        if args.clerks > len(seed_.clerk_ids):
            raise SystemExit(
                f"the kept seed has {len(seed_.clerk_ids)} claiming clerks: "
                f"--reseed for {args.clerks}"
            )
        with portal_app(env) as app:
            from portal.extensions import db

            with app.app_context():
                log_ = StatementLog(db.engine)
            load_before = os.getloadavg()[0]
            log("queue page")
            queue = measure_queue(app, log_, seed_, args)
            log("claim-next")
            claims = measure_claims(app, log_, seed_, args)
            load = (load_before, os.getloadavg()[0])
    if args.json:
        print(
            json.dumps(
                {
                    "seed": seed_.__dict__,
                    "pages": [t.as_dict() for t in queue.pages],
                    "claims": claims.timings.as_dict(),
                    "claimed": len(claims.claimed),
                    "claims_per_second": len(claims.claimed) / claims.seconds
                    if claims.seconds
                    else None,
                    "claimed_twice": claims.double_claims_sql,
                    "load_average": load,
                },
                indent=2,
                default=str,
            )
        )
    else:
        print(report(seed_, seeded_now, queue, claims, args, load))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
