"""Background work: tasks deferred in the same transaction as the change that causes them.

``@jobs.task(name="...")`` registers a task; ``jobs.defer(name, **kwargs)`` asks for it to
run. On PostgreSQL the job is a procrastinate job inserted in the caller's transaction and run
by ``flask --app portal worker`` (see :mod:`portal.jobs.queue`); on SQLite, the embedded
default, it runs in this process right after the unit of work commits (see
:mod:`portal.jobs.inprocess`). Either way a rolled-back transaction enqueues nothing, and a
job may run more than once: tasks are idempotent.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from flask import Flask, current_app

from portal.db import on_postgresql
from portal.jobs import inprocess
from portal.jobs.registry import TASKS, Task, WorkerStopped, task

__all__ = ["TASKS", "Task", "WorkerStopped", "defer", "defer_later", "init_app", "task"]

#: Modules whose import registers tasks; a worker imports them all.
TASK_MODULES = (
    "portal.mailbox.tasks",
    "portal.casework.tasks",
    "portal.notifications.tasks",
    "portal.certificates.tasks",
    "portal.retention.tasks",
)


def init_app(app: Flask) -> None:
    from portal.jobs.cli import jobs_cli, worker_command

    for module in TASK_MODULES:
        importlib.import_module(module)
    app.cli.add_command(worker_command)
    app.cli.add_command(jobs_cli)


def defer(task_name: str, **kwargs: Any) -> None:
    """Enqueue ``task_name`` in the current transaction: it runs once that commits, never if
    it rolls back. Flushes at most; the caller's unit of work commits."""
    _enqueue(task_name, kwargs, wait_seconds=0)


def defer_later(task_name: str, wait_seconds: float, **kwargs: Any) -> None:
    """As :func:`defer`, for a worker to run no sooner than ``wait_seconds`` after the commit
    (a retry that gives a failing service time to come back). On SQLite no worker waits: the
    job runs after the commit, as any other."""
    _enqueue(task_name, kwargs, wait_seconds=wait_seconds)


def _enqueue(task_name: str, kwargs: dict[str, Any], wait_seconds: float) -> None:
    if task_name not in TASKS:
        raise LookupError(f"no task named {task_name!r}")
    json.dumps(kwargs)  # a task's arguments are JSON; refuse others here, not in the worker
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if on_postgresql():
        from portal.jobs import queue

        queue.defer_in_transaction(app, task_name, kwargs, wait_seconds=wait_seconds)
    else:
        inprocess.defer_after_commit(task_name, kwargs)
