"""Where the portal's CPU went in a ``run.py --profile DIR`` run, by request and job.

    .venv/bin/python benchmarks/load/profiles.py DIR [--top 12] [--request "GET |cases|:id"]

For each request (method and path, numbers as ``:id``; journey pages as ``:page``) and each
job (``job <task>``, from ``profiled_worker.py``): how many,
CPU ms per request (median and mean, the thread's CPU clock as the profile timed it; the
profiler's own overhead included, so read the shares, not the sizes), the SQL statements it
sent, and the share of all the portal's CPU. Then the share of a few named costs (the
frameworks' parts) in the web requests' time, or in one request's with ``--request``, and
the functions with the most inclusive time over every request and job, or that request.
"""

from __future__ import annotations

import argparse
import pstats
import re
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

#: Inclusive costs worth naming: (label, the end of the file's path, function). Where a file
#: has two functions of the name, one calling the other (Flask's two contexts' ``push``,
#: Flask-Babel's ``gettext`` and its domain's), the outer one's time is taken.
COSTS = [
    (
        "Flask: before-request hooks (sign-in session, CSRF, limits)",
        "flask/app.py",
        "preprocess_request",
    ),
    ("Flask: after-request hooks (commit, headers, cookie)", "flask/app.py", "process_response"),
    ("Flask: contexts pushed", "flask/ctx.py", "push"),
    ("Jinja: render_template", "flask/templating.py", "render_template"),
    ("WTForms: forms built", "wtforms/form.py", "__call__"),
    ("SQLAlchemy: Session.execute", "sqlalchemy/orm/session.py", "execute"),
    ("SQLAlchemy: Session.scalar", "sqlalchemy/orm/session.py", "scalar"),
    ("SQLAlchemy: Session.scalars", "sqlalchemy/orm/session.py", "scalars"),
    ("SQLAlchemy: Session.flush", "sqlalchemy/orm/session.py", "flush"),
    ("SQLAlchemy: lazy loads", "sqlalchemy/orm/strategies.py", "_load_for_state"),
    ("psycopg: cursor.execute", "psycopg/cursor.py", "execute"),
    ("the portal: commit at the end of the request", "portal/transactions.py", "_commit"),
    ("JsonLogic: jsonLogic", "json_logic/__init__.py", "jsonLogic"),
    ("Flask-Limiter: check", "flask_limiter/_extension.py", "_check_request_limit"),
    ("Flask-WTF: CSRF check", "flask_wtf/csrf.py", "csrf_protect"),
    ("Flask-Babel: gettext", "flask_babel/__init__.py", "gettext"),
    ("MarkupSafe: escape", "markupsafe/__init__.py", "escape"),
    ("requests: HTTP to the provider", "requests/sessions.py", "request"),
]
#: Statements sent to the database: psycopg's ``Cursor.execute``.
SQL = ("psycopg/cursor.py", "execute")

#: Journey pages (``/cases/:id/<page>``) are one request here; named pages are not.
JOURNEY_PAGE = re.compile(r"^(\w+ \|cases\|:id\|)(?!receipt$|submit$|documents$)[^|]+$")


def request_of(file: Path) -> str:
    name = file.name.rsplit(".", 3)[0]
    return JOURNEY_PAGE.sub(r"\1:page", name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--request", help='one request, as listed ("GET |cases|:id|:page")')
    args = parser.parse_args(argv)

    files: dict[str, list[Path]] = defaultdict(list)
    for file in args.folder.glob("*.prof"):
        files[request_of(file)].append(file)
    costs: dict[str, list[float]] = defaultdict(list)
    statements: dict[str, int] = defaultdict(int)
    for request, found in files.items():
        for file in found:
            stats = pstats.Stats(str(file))
            costs[request].append(stats.total_tt * 1000)  # type: ignore[attr-defined]
            statements[request] += calls_of(stats, *SQL)
    everything = sum(sum(c) for c in costs.values())
    print(f"{'request':48} {'count':>6} {'median ms':>10} {'mean ms':>8} {'SQL':>5} {'share':>6}")
    for request, ms in sorted(costs.items(), key=lambda item: -sum(item[1])):
        print(
            f"{request.replace('|', '/'):48} {len(ms):6} {statistics.median(ms):10.1f}"
            f" {statistics.fmean(ms):8.1f} {statements[request] / len(ms):5.1f}"
            f" {sum(ms) / everything:6.1%}"
        )
    chosen = files[args.request] if args.request else [f for fs in files.values() for f in fs]
    if not chosen:
        parser.error(f"no request {args.request!r}")
    web = chosen if args.request else [f for f in chosen if not f.name.startswith("job ")]
    if web:
        print_costs(pstats.Stats(*map(str, web)), len(web), args.request or "every request")
    stats = pstats.Stats(*map(str, chosen))
    asked = args.request or "all, jobs too"
    print(f"\nInclusive time over {len(chosen)} requests ({asked}), ms per request:")
    rows = sorted(stats.stats.items(), key=lambda item: -item[1][3])[: args.top]  # type: ignore[attr-defined]
    for (file, line, function), (_cc, calls, _tt, cumulative, _callers) in rows:
        where = f"{Path(file).name}:{line}({function})" if line else function
        print(f"{cumulative * 1000 / len(chosen):8.2f}  {calls / len(chosen):7.1f} calls  {where}")


def rows_of(stats: pstats.Stats, path_end: str, function: str) -> list[tuple[Any, ...]]:
    """The profile's rows (calls, calls, own time, inclusive time, callers) of the functions of
    that name in files whose path ends so."""
    return [
        row
        for (file, _line, name), row in stats.stats.items()  # type: ignore[attr-defined]
        if name == function and file.endswith(path_end)
    ]


def calls_of(stats: pstats.Stats, path_end: str, function: str) -> int:
    return sum(row[1] for row in rows_of(stats, path_end, function))


def print_costs(stats: pstats.Stats, count: int, asked: str) -> None:
    """The share of the requests' time in each of :data:`COSTS` (they nest: no sum)."""
    total: float = stats.total_tt  # type: ignore[attr-defined]
    print(f"\nNamed costs over {count} requests ({asked}), inclusive; they nest, so no sum:")
    for label, path_end, function in COSTS:
        rows = rows_of(stats, path_end, function)
        outer = max(rows, key=lambda row: row[3], default=(0, 0, 0.0, 0.0))
        cumulative, calls = outer[3], outer[1]
        print(f"  {label:62} {cumulative / total:6.1%}  {calls / count:6.2f} calls/request")


if __name__ == "__main__":
    main()
