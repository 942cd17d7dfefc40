"""CPU per journey request with a switchable change on and off, alternating in one process.

Run by hand from the repository root::

    .venv/bin/python benchmarks/ab_step.py --database postgresql --pg-database bench_ab

On a machine shared with other work, wall-clock throughput says little and even CPU time
drifts with the load; alternating the two variants in short windows inside one process lets
both see the same drift. It prepares a database as ``journey.py`` does, walks the moving
journey through Flask's test client (no HTTP), and for each window counts the CPU of this
process and, on PostgreSQL, of the database's backends, per request.

Variants (``--change``): ``lazy-begin``: a GET's transaction begins at its first write
(``portal.transactions``), off means every request begins one as before.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# This folder off sys.path (benchmarks/queue.py would shadow the standard library's queue),
# the repository root on it: the benchmark is imported as benchmarks.journey.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import journey as bench  # noqa: E402


def switch_lazy_begin(on: bool) -> None:
    from sqlalchemy import event

    from portal import transactions
    from portal.extensions import db

    listening = event.contains(db.session, "after_begin", transactions._reads_begin_nothing)
    if on and not listening:
        event.listen(db.session, "after_begin", transactions._reads_begin_nothing)
    elif not on and listening:
        event.remove(db.session, "after_begin", transactions._reads_begin_nothing)


CHANGES: dict[str, Callable[[bool], None]] = {"lazy-begin": switch_lazy_begin}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--change", choices=sorted(CHANGES), default="lazy-begin")
    parser.add_argument("--windows", type=int, default=8, help="windows per variant (8)")
    parser.add_argument("--journeys", type=int, default=3, help="journeys per window (3)")
    parser.add_argument(
        "--gets",
        type=int,
        default=0,
        help="instead of journeys, GET one form page this many times per window",
    )
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--pg-database", default="bench")
    parser.add_argument("--pg-admin-database", default="postgres")
    args = parser.parse_args(argv)

    cleanup = bench.Cleanup()
    workdir = Path(tempfile.mkdtemp(prefix="madoguchi-ab-"))
    cleanup.add("temporary folder", lambda: shutil.rmtree(workdir, ignore_errors=True))
    try:
        target = bench.prepare(args.database, args, secrets.token_urlsafe(32), workdir, cleanup)
        journey = bench.make_residents(target, 1)
        with bench.portal_app(target) as app:
            measure(app, target, journey, args)
    finally:
        cleanup.run_all()
    return 0


def measure(app: Any, target: Any, journey: bench.Journey, args: argparse.Namespace) -> None:
    from sqlalchemy import select

    from portal.accounts.models import Account
    from portal.extensions import db
    from tests.support.people import csrf_token, login_as

    with app.app_context():
        account_id = db.session.scalars(
            select(Account.id).where(Account.subject == "benchmark-resident-00")
        ).one()
    client = app.test_client()
    login_as(client, account_id)
    token = csrf_token(client.get("/").text)

    def walk() -> int:
        started = client.post("/cases/", data={"csrf_token": token, "workflow": "moving"})
        case_url = started.headers["Location"]
        client.get(client.get(case_url).headers["Location"])
        for slug, answers in journey.route:
            answered = client.post(f"{case_url}/{slug}", data={**answers, "csrf_token": token})
            assert answered.status_code == 302, (slug, answered.status_code)
            assert client.get(answered.headers["Location"]).status_code == 200
        client.post(f"{case_url}/discard", data={"csrf_token": token})
        return 2 * len(journey.route) + 4

    def one_page() -> Callable[[], int]:
        """A case half-way through, and its GET repeated: a read-only journey page."""
        started = client.post("/cases/", data={"csrf_token": token, "workflow": "moving"})
        case_url = started.headers["Location"]
        client.get(client.get(case_url).headers["Location"])
        half = journey.route[: len(journey.route) // 2]
        location = case_url
        for slug, answers in half:
            answered = client.post(f"{case_url}/{slug}", data={**answers, "csrf_token": token})
            location = answered.headers["Location"]

        def gets() -> int:
            for _ in range(args.gets):
                assert client.get(location).status_code == 200
            return args.gets

        return gets

    if args.gets:
        walk = one_page()  # noqa: F811 - the measured unit, instead of whole journeys

    def backends_cpu() -> float:
        return sum(bench.cpu_seconds(pid) for pid in bench.postgres_backends(args, target))

    switch = CHANGES[args.change]
    results: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    walk()  # warm-up
    for window in range(2 * args.windows):
        on = window % 2 == 0
        switch(on)
        walk()  # the first journey after a switch is not counted
        requests = 0
        own, backends = time.process_time(), backends_cpu()
        for _ in range(args.journeys):
            requests += walk()
        own, backends = time.process_time() - own, backends_cpu() - backends
        results[on].append((1000 * own / requests, 1000 * backends / requests))
    switch(True)

    unit = f"{args.gets} GETs of one page" if args.gets else f"{args.journeys} journeys"
    print(f"{args.database}, change {args.change}: {args.windows} windows of {unit} per")
    print("variant, alternating; CPU ms per request, median of the windows")
    for on in (False, True):
        own = statistics.median(o for o, _ in results[on])
        backends = statistics.median(b for _, b in results[on])
        print(
            f"  {'on ' if on else 'off'}  portal {own:5.2f}  database backends {backends:5.2f}"
            f"  together {own + backends:5.2f}"
        )


if __name__ == "__main__":
    sys.exit(main())
