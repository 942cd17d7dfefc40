"""Jobs on PostgreSQL: procrastinate, deferred on our own connection, run by a worker.

``defer`` inserts the job through the psycopg connection the SQLAlchemy session is using,
inside a savepoint (an error in that insert must not abort the caller's transaction): the job
exists when, and only when, the caller's transaction commits, and procrastinate wakes the
workers on that commit. The worker (``flask --app portal worker``) runs each job in the app
context, as one unit of work; a job that raises is retried with a doubling wait. A worker
killed mid-job leaves its job ``doing``: the workers retry such stalled jobs (whose worker
sent no heartbeat for ``STALLED_AFTER_SECONDS``, or three of its heartbeats) once a minute,
and fail those whose worker died in their last attempt, as a job whose last attempt raised
(a job that kills each worker that runs it is not run for ever); and each night they remove
finished jobs older than ``KEEP_FINISHED_DAYS``. What a failed attempt
raised is written to ``job_failures`` (see :mod:`portal.jobs.failures`), for the operators.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from dataclasses import dataclass
from typing import Any

import procrastinate
from flask import Flask
from procrastinate.exceptions import ConnectorException
from procrastinate.jobs import Job, Status
from sqlalchemy.engine import make_url

from portal.extensions import db
from portal.jobs import failures
from portal.jobs.registry import TASKS, Task, WorkerStopped

#: A worker whose heartbeat is older than this is taken for dead (it beats every 10 s).
STALLED_AFTER_SECONDS = 30
RETRY_STALLED_TASK = "jobs.retry_stalled"
REMOVE_OLD_TASK = "jobs.remove_old"
#: Finished jobs are kept this long, to see what ran; failed ones until removed by hand.
KEEP_FINISHED_DAYS = 7

logger = logging.getLogger(__name__)


def conninfo(app: Flask) -> str:
    """The database URL as libpq reads it (without SQLAlchemy's ``+psycopg``)."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def procrastinate_app(app: Flask) -> procrastinate.App:
    """One procrastinate app per portal app (its connector opens a pool only in a worker)."""
    proc = app.extensions.get("procrastinate")
    if proc is None:
        proc = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(app)))
        app.extensions["procrastinate"] = proc
    return proc


def defer_in_transaction(
    app: Flask, task_name: str, kwargs: dict[str, Any], wait_seconds: float = 0
) -> int:
    connection = db.session.connection().connection.driver_connection
    # procrastinate counts the wait from now, that is from before the commit: a few ms early.
    schedule_in = {"seconds": wait_seconds} if wait_seconds > 0 else None
    # The SAVEPOINT also begins a GET's transaction if nothing did yet (portal.transactions).
    with db.session.begin_nested():
        deferrer = procrastinate_app(app).configure_task(
            task_name, connection=connection, schedule_in=schedule_in
        )
        return deferrer.defer(**kwargs)


def worker_app(app: Flask, stalled_after: float = STALLED_AFTER_SECONDS) -> procrastinate.App:
    """A procrastinate app knowing every registered task, each run as a unit of work, and the
    workers' own periodic chores."""
    proc = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(app)))
    for task in TASKS.values():
        _register(proc, app, task)

    @proc.periodic(cron="* * * * *")
    @proc.task(name=RETRY_STALLED_TASK)
    async def retry_stalled_jobs(timestamp: int) -> None:
        await _retry_stalled(proc, app, stalled_after)

    @proc.periodic(cron="17 3 * * *")
    @proc.task(name=REMOVE_OLD_TASK)
    async def remove_old_jobs(timestamp: int) -> None:
        await proc.job_manager.delete_old_jobs(nb_hours=KEEP_FINISHED_DAYS * 24)
        await asyncio.to_thread(_remove_failures_of_removed_jobs, app)

    return proc


def _remove_failures_of_removed_jobs(app: Flask) -> None:
    from portal.transactions import unit_of_work

    with app.app_context(), unit_of_work():
        failures.remove_those_of_removed_jobs()


def _register(proc: procrastinate.App, app: Flask, task: Task) -> None:
    """The task as procrastinate runs it: one unit of work; an attempt that raises is rolled
    back, and its error written in a unit of its own before procrastinate retries it."""
    from portal.transactions import unit_of_work

    def run(context: procrastinate.JobContext, **kwargs: Any) -> None:
        with app.app_context():
            try:
                with unit_of_work():
                    task.func(**kwargs)
            except Exception as error:
                _attempt_failed(task, context.job, error)
                raise

    retry = procrastinate.RetryStrategy(max_attempts=task.max_attempts, exponential_wait=2)
    registered = proc.task(name=task.name, retry=retry, pass_context=True)(run)
    if task.cron is not None:
        proc.periodic(cron=task.cron, periodic_id=task.name)(registered)


@dataclass(frozen=True)
class Stalled:
    """The jobs of dead workers: put back to run again, or failed (their last attempt)."""

    put_back: list[int]
    failed: list[int]


def _attempt_failed(task: Task, job: Job, error: BaseException) -> None:
    """In the app context: the attempt's error for the operators, written apart from its
    rolled-back work; on the last attempt, the task's own end (``given_up``) in a unit of
    work of its own, an error there logged: the job is failed either way."""
    from portal.transactions import unit_of_work

    kwargs, tries = job.task_kwargs, job.attempts + 1
    failures.record_apart(task.name, kwargs, error, job_id=job.id, attempt=tries)
    if task.given_up is None or not task.gives_up_after(job.attempts):
        return
    try:
        with unit_of_work():
            task.given_up(tries, **kwargs)
    except Exception:
        logger.exception("job %s %r: could not end what it was for", task.name, kwargs)


async def _retry_stalled(proc: procrastinate.App, app: Flask, seconds: float) -> Stalled:
    stalled = list(await proc.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds))
    put_back, failed = [], []
    for job in stalled:
        task = TASKS.get(job.task_name)
        if task is None or not task.gives_up_after(job.attempts):
            logger.warning("retrying job %s (%s): its worker stopped", job.id, job.task_name)
            await proc.job_manager.retry_job(job)
            put_back.append(job.id)
            continue
        logger.error(
            "job %s (%s) failed: its worker stopped in its last attempt", job.id, job.task_name
        )
        # The task's end first, then the job's: a worker dying between the two leaves the
        # job stalled, and the next pass ends both again (``given_up`` is idempotent, the
        # attempt's failure written once).
        await asyncio.to_thread(_worker_stopped, app, task, job)
        await proc.job_manager.finish_job(job, Status.FAILED, False)
        failed.append(job.id)
    return Stalled([i for i in put_back if i is not None], [i for i in failed if i is not None])


def _worker_stopped(app: Flask, task: Task, job: Job) -> None:
    with app.app_context():
        error = WorkerStopped(f"its worker stopped during attempt {job.attempts + 1}")
        _attempt_failed(task, job, error)


def retry_stalled(app: Flask, seconds: float = STALLED_AFTER_SECONDS) -> Stalled:
    """Put back the jobs of workers that died mid-job, or fail those in their last attempt."""

    async def run() -> Stalled:
        proc = worker_app(app)
        async with proc.open_async():
            return await _retry_stalled(proc, app, seconds)

    return asyncio.run(run())


def run_worker(
    app: Flask, *, one_shot: bool = False, concurrency: int = 1, heartbeat_seconds: float = 10
) -> bool:
    """Run a worker until stopped (or, ``one_shot``, until no job is ready). A worker is
    taken for dead after three missed heartbeats, and never sooner than the default.

    Returns whether it stopped as asked (SIGTERM, SIGINT, or ``one_shot`` done). procrastinate
    also stops a worker by itself, as cleanly, when its connection to the database breaks (a
    restart of PostgreSQL): False then, for the command to exit with a failure, which systemd
    restarts (``Restart=on-failure``)."""
    stalled_after = max(STALLED_AFTER_SECONDS, 3 * heartbeat_seconds)
    options = {
        "wait": not one_shot,
        "concurrency": concurrency,
        "update_heartbeat_interval": heartbeat_seconds,
        "stalled_worker_timeout": stalled_after,
    }
    return asyncio.run(_run_until_stopped(worker_app(app, stalled_after), options))


async def _run_until_stopped(proc: procrastinate.App, options: dict[str, Any]) -> bool:
    """procrastinate's worker, stopped on SIGTERM or SIGINT as procrastinate's own handlers
    stop it (running jobs finish first), but telling that stop from one of its own. When the
    database goes away procrastinate either stops the worker (its listener broke) or lets
    the error of its next fetch out, as the race between them falls: both are its own."""
    loop = asyncio.get_running_loop()
    asked = asyncio.Event()
    broke = False
    signals = (signal.SIGINT, signal.SIGTERM)
    handles_signals = threading.current_thread() is threading.main_thread()
    async with proc.open_async():
        running = asyncio.ensure_future(
            proc.run_worker_async(install_signal_handlers=False, **options)
        )

        def stop() -> None:
            asked.set()
            running.cancel()  # the worker stops gracefully, then re-raises the cancellation

        if handles_signals:
            for number in signals:
                loop.add_signal_handler(number, stop)
        try:
            await running
        except asyncio.CancelledError:
            if not asked.is_set():
                raise
        except ConnectorException:
            logger.exception("the worker's connection to the database broke")
            broke = True
        finally:
            if handles_signals:
                for number in signals:
                    loop.remove_signal_handler(number)
    one_shot_done = not options["wait"] and not broke
    return asked.is_set() or one_shot_done
