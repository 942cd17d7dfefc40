"""The tasks this portal knows, by name: what a job may ask for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Task:
    """A task: its stable name (stored in the queue, so never renamed lightly), the function
    that does the work, and how often a worker tries it before giving up."""

    name: str
    func: Callable[..., Any]
    #: How often a failed job is tried again (procrastinate's ``max_attempts``: the job is
    #: given up when an attempt fails after this many before it); between the tries a worker
    #: waits 2, 4, 8, ... seconds (doubling).
    max_attempts: int = 12
    #: A cron schedule (read in UTC) on which the workers defer it themselves, with the
    #: ``timestamp`` it was due at; None: only deferred by the portal.
    cron: str | None = None
    #: Called with the tries the job had in all and the job's arguments, in a unit of work
    #: of its own, when the workers give the job up: its last attempt failed, or its worker
    #: died in it (a crash the task could not record, say a render that ran out of memory).
    #: What the task tracks (a pending certificate) must not wait for ever. Idempotent: it
    #: may run again for the same job.
    given_up: Callable[..., Any] | None = None

    def gives_up_after(self, earlier_attempts: int) -> bool:
        """Whether a failed attempt after ``earlier_attempts`` others is the last one
        (procrastinate's rule: no retry once ``max_attempts`` attempts came before)."""
        return earlier_attempts >= self.max_attempts


class WorkerStopped(Exception):
    """What an attempt ended with when its worker died in it (killed, out of memory, its
    machine gone): the attempt itself could record nothing."""


TASKS: dict[str, Task] = {}


def task(
    *,
    name: str,
    max_attempts: int = 12,
    cron: str | None = None,
    given_up: Callable[..., Any] | None = None,
) -> Callable[[F], F]:
    """Register ``func`` as the task ``name``: ``@jobs.task(name="mailbox.send_email")``;
    with ``cron`` the workers also run it on that schedule (in UTC).

    A task takes JSON keyword arguments (ids, not objects: the row may have changed by the time
    it runs), runs as one unit of work and must be idempotent: it may run again after a worker
    died in it.
    """

    def register(func: F) -> F:
        known = TASKS.get(name)
        if known is not None and known.func.__qualname__ != func.__qualname__:
            raise ValueError(f"task {name!r} is already {known.func.__qualname__}")
        TASKS[name] = Task(name, func, max_attempts, cron, given_up)
        return func

    return register
