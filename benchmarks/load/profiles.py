"""Where the portal's CPU went in a ``run.py --profile DIR`` run, by request and job.

    .venv/bin/python benchmarks/load/profiles.py DIR [--top 12] [--request "GET |cases|:id"]

For each request (method and path, numbers as ``:id``; journey pages as ``:page``) and each
job (``job <task>``, from ``profiled_worker.py``): how many,
CPU ms per request (median and mean, the thread's CPU clock as the profile timed it; the
profiler's own overhead included, so read the shares, not the sizes) and the share of all
the portal's CPU. Then the functions with the most inclusive time over every request, or
over one request with ``--request``.
"""

from __future__ import annotations

import argparse
import pstats
import re
import statistics
from collections import defaultdict
from pathlib import Path

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
    costs = {
        request: [pstats.Stats(str(f)).total_tt * 1000 for f in found]
        for request, found in files.items()
    }
    everything = sum(sum(c) for c in costs.values())
    print(f"{'request':48} {'count':>6} {'median ms':>10} {'mean ms':>8} {'share':>6}")
    for request, ms in sorted(costs.items(), key=lambda item: -sum(item[1])):
        print(
            f"{request.replace('|', '/'):48} {len(ms):6} {statistics.median(ms):10.1f}"
            f" {statistics.fmean(ms):8.1f} {sum(ms) / everything:6.1%}"
        )
    chosen = files[args.request] if args.request else [f for fs in files.values() for f in fs]
    if not chosen:
        parser.error(f"no request {args.request!r}")
    stats = pstats.Stats(*map(str, chosen))
    asked = args.request or "all"
    print(f"\nInclusive time over {len(chosen)} requests ({asked}), ms per request:")
    rows = sorted(stats.stats.items(), key=lambda item: -item[1][3])[: args.top]  # type: ignore[attr-defined]
    for (file, line, function), (_cc, calls, _tt, cumulative, _callers) in rows:
        where = f"{Path(file).name}:{line}({function})" if line else function
        print(f"{cumulative * 1000 / len(chosen):8.2f}  {calls / len(chosen):7.1f} calls  {where}")


if __name__ == "__main__":
    main()
