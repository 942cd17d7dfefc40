"""Where the time of one journey step goes: cProfile in one process, through the test client.

Run by hand from the repository root::

    .venv/bin/python benchmarks/profile_step.py                 # SQLite, 20 journeys
    .venv/bin/python benchmarks/profile_step.py --database postgresql

It prepares a fresh database as ``journey.py`` does, walks the moving journey once to learn
its pages, then replays it ``--journeys`` times (one warm-up journey first) through Flask's
test client: no HTTP, no gunicorn, no other clients. For each kind of request it prints the
CPU time per request, then the functions where the steps' time goes, by inclusive time in
the portal's own code and by exclusive time anywhere, and the share of a few known costs.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import secrets
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

# This folder off sys.path (benchmarks/queue.py would shadow the standard library's queue),
# the repository root on it: the benchmark is imported as benchmarks.journey.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import journey as bench  # noqa: E402

#: Inclusive costs worth naming: (label, file fragment, function name).
KNOWN_COSTS = [
    ("Jinja rendering (render_template)", "flask/templating.py", "render_template"),
    ("WTForms: building the page's form", "portal/journey/fields/page.py", "page_form"),
    ("WTForms: validate()", "wtforms/form.py", "validate"),
    ("Journey(case): flow.pages + procedures", "portal/journey/views.py", "__init__"),
    ("flow.pages (all calls)", "portal/journey/flow.py", "pages"),
    ("flow.procedures (all calls)", "portal/journey/flow.py", "procedures"),
    ("Journey.rows (municipality lookups)", "portal/journey/views.py", "rows"),
    ("SQLAlchemy Session.execute", "sqlalchemy/orm/session.py", "execute"),
    ("SQLAlchemy Session.commit", "sqlalchemy/orm/session.py", "commit"),
    ("SQLAlchemy Session.flush", "sqlalchemy/orm/session.py", "flush"),
    ("JSON decoding (json.loads)", "json/__init__.py", "loads"),
    ("JSON encoding (json.dumps)", "json/__init__.py", "dumps"),
    ("access.case_or_404 (load the case)", "portal/access.py", "case_or_404"),
    ("Flask-Login user loader", "portal/transactions.py", "_load_account"),
    ("session cookie: open", "flask/sessions.py", "open_session"),
    ("session cookie: save", "flask/sessions.py", "save_session"),
    ("Babel gettext (all calls)", "flask_babel/__init__.py", "gettext"),
    ("current_catalog()", "portal/definitions/services.py", "current_catalog"),
]


def kind_of(method: str, path: str) -> str:
    slug = path.rsplit("/", 1)[-1].split("?")[0]
    if slug == "check":
        page = "check page"
    elif slug == "procedures":
        page = "procedures page"
    elif slug.startswith("f-"):
        page = "form page"
    else:
        page = "question page"
    return f"{method} {page}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--journeys", type=int, default=20, help="journeys profiled (20)")
    parser.add_argument("--top", type=int, default=30, help="rows per listing (30)")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--pg-database", default="bench")
    parser.add_argument("--pg-admin-database", default="postgres")
    parser.add_argument(
        "--timer",
        choices=("cpu", "wall"),
        default="cpu",
        help="profile CPU time (default; waits such as SQLite's fsync at commit do not count) "
        "or wall-clock time",
    )
    parser.add_argument("--pstats", help="also write the raw profile to this file")
    parser.add_argument(
        "--show-sql",
        action="store_true",
        help="also print the SQL of the first request of each kind, with its column count",
    )
    parser.add_argument(
        "--breakdown",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also time the hot spots of the first run directly (written against older code: "
        "off by default until brought up to date)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.journeys <= 500:
        parser.error("--journeys: 1 to 500")

    cleanup = bench.Cleanup()
    workdir = Path(tempfile.mkdtemp(prefix="madoguchi-profile-"))
    cleanup.add("temporary folder", lambda: shutil.rmtree(workdir, ignore_errors=True))
    try:
        target = bench.prepare(args.database, args, secrets.token_urlsafe(32), workdir, cleanup)
        journey = bench.make_residents(target, 1)
        with bench.portal_app(target) as app:
            profile(app, journey, args)
    finally:
        cleanup.run_all()
    return 0


def median_ms(action: Any, repeat: int = 200) -> float:
    """The median wall-clock time of one call, in ms (after one untimed call)."""
    action()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return 1000 * sorted(times)[len(times) // 2]


def breakdown(app: Any, client: Any, token: str, journey: bench.Journey, account_id: int) -> None:
    """Direct timings of the suspected hot spots for a case at its check page, no profiler."""
    from unittest import mock

    from flask_login import login_user
    from sqlalchemy import select
    from sqlalchemy.orm import lazyload

    from portal.accounts.models import Account
    from portal.definitions import logic
    from portal.extensions import db
    from portal.journey import flow, services, views
    from portal.journey.fields.page import page_form
    from portal.journey.models import Case

    started = client.post("/cases/", data={"csrf_token": token, "workflow": "moving"})
    case_url = started.headers["Location"]
    for slug, answers in journey.route:
        client.post(f"{case_url}/{slug}", data={**answers, "csrf_token": token})
    case_id = int(case_url.rsplit("/", 1)[-1])

    def load_case() -> Case:
        db.session.expunge_all()
        return db.session.scalars(select(Case).where(Case.id == case_id)).one()

    def load_case_without_snapshot() -> Case:
        db.session.expunge_all()
        query = select(Case).where(Case.id == case_id).options(lazyload(Case.snapshot))
        return db.session.scalars(query).one()

    def load_account() -> Account | None:
        db.session.expunge_all()
        return db.session.get(Account, account_id)

    with app.test_request_context("/"):
        case = load_case()
        snapshot = services.snapshot_of(case)
        answers, declined = dict(case.answers), list(case.declined_forms)
        rows: list[tuple[str, Any]] = [
            ("load the case (joined snapshot, ~100 KB JSON)", load_case),
            ("load the case without its snapshot", load_case_without_snapshot),
            ("load the account (user loader, roles selectin)", load_account),
            ("flow.pages()", lambda: flow.pages(snapshot, answers, declined)),
            ("flow.procedures()", lambda: flow.procedures(snapshot, answers, declined)),
        ]
        timed = [(label, median_ms(action)) for label, action in rows]
        case = load_case()
        with mock.patch.object(logic, "validate", lambda rule: []):
            timed += [
                (
                    "flow.pages(), rules not re-validated",
                    median_ms(lambda: flow.pages(snapshot, answers, declined)),
                ),
                (
                    "flow.procedures(), rules not re-validated",
                    median_ms(lambda: flow.procedures(snapshot, answers, declined)),
                ),
            ]
        page = next(p for p in flow.pages(snapshot, answers, declined) if p.slug.startswith("f-"))
        with app.test_request_context(f"{case_url}/{page.slug}"):
            login_user(db.session.get(Account, account_id))
            locked = set(case.locked_keys)
            views_rows: list[tuple[str, Any]] = [
                ("views.Journey(case): pages + procedures", lambda: views.Journey(case)),
                (
                    f"page_form() for {page.slug}",
                    lambda: page_form(page.fields, case.answers, locked=locked, files={}),
                ),
                (
                    f"GET {page.slug} view body: page_form + render",
                    lambda: views._question_page(views.Journey(case), page),
                ),
            ]
            timed += [(label, median_ms(action)) for label, action in views_rows]
        calls = {"evaluate": 0}
        real_evaluate = flow.evaluate

        def counting(*a: Any, **kw: Any) -> Any:
            calls["evaluate"] += 1
            return real_evaluate(*a, **kw)

        with mock.patch.object(flow, "evaluate", counting):
            flow.pages(snapshot, answers, declined)
        db.session.rollback()
    client.post(f"{case_url}/discard", data={"csrf_token": token})
    print("Direct timings at the check page, no profiler (median of 200 calls):")
    for label, ms in timed:
        print(f"  {label:<56} {ms:6.2f} ms")
    print(f"  (one flow.pages() evaluates {calls['evaluate']} JsonLogic rules)\n")


def profile(app: Any, journey: bench.Journey, args: argparse.Namespace) -> None:
    from sqlalchemy import event

    from portal.extensions import db
    from tests.support.people import csrf_token, login_as

    with app.app_context():
        from sqlalchemy import select

        from portal.accounts.models import Account

        account_id = db.session.scalars(
            select(Account.id).where(Account.subject == "benchmark-resident-00")
        ).one()
    client = app.test_client()
    login_as(client, account_id)
    token = csrf_token(client.get("/").text)

    cpu: dict[str, list[float]] = defaultdict(list)
    profiler = cProfile.Profile(time.process_time if args.timer == "cpu" else time.perf_counter)
    wall: dict[str, list[float]] = defaultdict(list)

    statements: dict[str, list[str]] = defaultdict(list)
    current: list[list[str]] = []
    shown: dict[str, list[str]] = {}

    def count_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if current:
            current[-1].append(statement.split(None, 1)[0].upper())
            if args.show_sql and kind_now[-1] not in shown_done:
                shown.setdefault(kind_now[-1], []).append(statement)

    kind_now: list[str] = []
    shown_done: set[str] = set()

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count_statement)

    def request(method: str, url: str, **kw: Any) -> Any:
        kind = kind_of(method, url)
        current.append(statements[kind])
        kind_now.append(kind)
        started, started_wall = time.process_time(), time.perf_counter()
        response = client.open(url, method=method, **kw)
        cpu[kind].append(time.process_time() - started)
        wall[kind].append(time.perf_counter() - started_wall)
        current.pop()
        kind_now.pop()
        if kind in shown:
            shown_done.add(kind)
        return response

    def walk(profiled: bool) -> int:
        started = client.post("/cases/", data={"csrf_token": token, "workflow": "moving"})
        case_url = started.headers["Location"]
        client.get(client.get(case_url).headers["Location"])
        for index, (slug, answers) in enumerate(journey.route):
            url = f"{case_url}/{slug}"
            if profiled:
                profiler.enable()
                answered = client.post(url, data={**answers, "csrf_token": token})
                page = client.get(answered.headers["Location"])
                profiler.disable()
            else:
                answered = request("POST", url, data={**answers, "csrf_token": token})
                page = request("GET", answered.headers["Location"])
            assert answered.status_code == 302, (url, answered.status_code)
            assert page.status_code == 200, (answered.headers["Location"], page.status_code)
            assert answered.headers["Location"].endswith("/" + journey.next_slug(index))
        client.post(f"{case_url}/discard", data={"csrf_token": token})
        return len(journey.route)

    if args.breakdown:
        breakdown(app, client, token, journey, account_id)
    walk(profiled=False)  # the first journey warms caches up
    cpu.clear()
    wall.clear()
    statements.clear()
    timed_steps = sum(walk(profiled=False) for _ in range(args.journeys))
    steps = sum(walk(profiled=True) for _ in range(args.journeys))

    print(
        f"{args.database}: {timed_steps} steps timed, then {steps} profiled ({args.journeys} "
        f"journeys of {len(journey.route)} steps each), one process, Flask's test client\n"
    )
    print("Per request, without the profiler (ms): CPU median and mean, wall-clock mean")
    total_cpu = total_wall = 0.0
    for kind in sorted(cpu):
        values = sorted(cpu[kind])
        total_cpu += sum(values)
        total_wall += sum(wall[kind])
        print(
            f"  {kind:<24} n={len(values):<5} CPU median {1000 * values[len(values) // 2]:6.2f}"
            f"  mean {1000 * sum(values) / len(values):6.2f}"
            f"   wall mean {1000 * sum(wall[kind]) / len(values):6.2f}"
            f"   SQL/request {len(statements[kind]) / len(values):4.1f}"
        )
    print(
        f"  one step (POST + GET), mean: CPU {1000 * total_cpu / max(1, timed_steps):.2f} ms, "
        f"wall {1000 * total_wall / max(1, timed_steps):.2f} ms"
    )
    every = [name for kind in statements for name in statements[kind]]
    kinds = ", ".join(f"{every.count(n) / timed_steps:.1f} {n}" for n in sorted(set(every)))
    print(f"  SQL statements per step: {len(every) / max(1, timed_steps):.1f} ({kinds})\n")

    for kind, sqls in sorted(shown.items()):
        print(f"SQL of one {kind}:")
        for sql in sqls:
            columns = sql.split(" FROM ", 1)[0].count(",") + 1 if sql.startswith("SELECT") else 0
            print(f"  [{columns} columns] {' '.join(sql.split())[:600]}")
        print()

    stats = pstats.Stats(profiler)
    entries = stats.stats  # type: ignore[attr-defined]
    profiled_total = sum(tt for (_cc, _nc, tt, _ct, _callers) in entries.values())
    per_step = 1000 * profiled_total / max(1, steps)
    print(
        f"Under the profiler ({args.timer} time): {per_step:.2f} ms per step; the profiler "
        "slows Python-heavy code most, so read the shares, not the milliseconds\n"
    )

    print("Known costs, inclusive, per step (they nest, so they do not add up):")
    for label, fragment, function in KNOWN_COSTS:
        inclusive = sum(
            ct
            for (filename, _line, name), (_cc, _nc, _tt, ct, _callers) in entries.items()
            if name == function and filename.endswith(fragment)
        )
        calls = sum(
            nc
            for (filename, _line, name), (_cc, nc, _tt, _ct, _callers) in entries.items()
            if name == function and filename.endswith(fragment)
        )
        if calls:
            print(
                f"  {label:<42} {1000 * inclusive / steps:6.2f} ms "
                f"({100 * inclusive / profiled_total:4.1f} %), {calls / steps:5.1f} calls"
            )

    repo = str(bench.REPO_ROOT)
    print(f"\nThe portal's own functions by inclusive time (top {args.top}):")
    own = [
        (ct, nc, f"{filename.removeprefix(repo + '/')}:{line} {name}")
        for (filename, line, name), (_cc, nc, _tt, ct, _callers) in entries.items()
        if filename.startswith(repo + "/portal") or filename.startswith(repo + "/templates")
    ]
    for ct, nc, where in sorted(own, reverse=True)[: args.top]:
        print(
            f"  {1000 * ct / steps:7.2f} ms/step {100 * ct / profiled_total:5.1f} %"
            f"  {nc / steps:6.1f} calls/step  {where}"
        )

    print(f"\nAll functions by exclusive time (top {args.top}):")
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(args.top)
    text = buffer.getvalue()
    print(text[text.find("   ncalls") :].rstrip().replace(repo + "/", ""))
    if args.pstats:
        profiler.dump_stats(args.pstats)
        print(f"\nraw profile: {args.pstats} (e.g. python -m pstats {args.pstats})")


if __name__ == "__main__":
    sys.exit(main())
