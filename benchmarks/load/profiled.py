"""The portal of ``wsgi.py`` with every request profiled: ``run.py --profile DIR``.

Each request's cProfile, timed by the CPU clock of its thread (so a request waiting for a
core or for PostgreSQL is not charged for it), is written to ``LOAD_PROFILE_DIR`` as
``<method> <path>.<pid>.<n>.prof``, numbers in the path replaced by ``:id``.
``benchmarks/load/profiles.py DIR`` sums them up by request.
"""

from __future__ import annotations

import cProfile
import itertools
import os
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from wsgi import app as portal

PROFILE_DIR = Path(os.environ["LOAD_PROFILE_DIR"])
NUMBER = re.compile(r"/\d+(?=/|$)")
_count = itertools.count()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    profile = cProfile.Profile(time.thread_time)
    body = profile.runcall(portal, environ, start_response)
    path = NUMBER.sub("/:id", environ.get("PATH_INFO", "")).replace("/", "|")
    name = f"{environ['REQUEST_METHOD']} {path}.{os.getpid()}.{next(_count)}.prof"
    profile.dump_stats(PROFILE_DIR / name)
    return body
