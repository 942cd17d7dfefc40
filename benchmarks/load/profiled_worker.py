"""``flask --app portal worker`` with every job profiled: ``run.py --profile DIR`` runs it.

Each job's task function gets a cProfile of its own, timed by its thread's CPU clock (the
worker runs a task in a thread: one waiting for a core or for PostgreSQL is not charged for
it), written to ``LOAD_PROFILE_DIR`` as ``job <task name>.<pid>.<n>.prof``, beside the web
requests' profiles of ``profiled.py``; ``profiles.py DIR`` lists them with the requests. The
unit of work's commit and procrastinate's own work around a job are not in it.
"""

from __future__ import annotations

import cProfile
import dataclasses
import itertools
import os
import time
from pathlib import Path
from typing import Any

from portal import create_app
from portal.jobs import TASKS, Task, queue

PROFILE_DIR = Path(os.environ["LOAD_PROFILE_DIR"])
_count = itertools.count()


def profiled(task: Task) -> Task:
    def func(**kwargs: Any) -> Any:
        profile = cProfile.Profile(time.thread_time)
        try:
            return profile.runcall(task.func, **kwargs)
        finally:
            profile.dump_stats(PROFILE_DIR / f"job {task.name}.{os.getpid()}.{next(_count)}.prof")

    return dataclasses.replace(task, func=func)


def main() -> None:
    app = create_app()  # its init_app registers every task first
    for name, task in list(TASKS.items()):
        TASKS[name] = profiled(task)
    with app.app_context():
        queue.run_worker(app)


if __name__ == "__main__":
    main()
