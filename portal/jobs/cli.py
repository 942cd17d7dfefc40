"""``flask --app portal worker`` and ``flask --app portal jobs ...``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from portal.db import on_postgresql
from portal.jobs import queue

jobs_cli = AppGroup("jobs", help="The job queue (PostgreSQL).")


def _postgresql_only() -> None:
    if not on_postgresql():
        raise click.UsageError(
            "jobs run in the portal's own process on SQLite; a worker needs PostgreSQL"
        )


def _connected_directly() -> None:
    """A worker LISTENs for new jobs, and a LISTEN lasts as long as its session: through a
    pooler in transaction mode it would hear nothing (or another client's connection would)."""
    if current_app.config["DATABASE_POOLER"] == "transaction":
        raise click.UsageError(
            "a worker LISTENs, which pgbouncer's transaction mode cannot carry: run it with "
            "PORTAL_DATABASE_URL naming PostgreSQL itself, and without PORTAL_DATABASE_POOLER"
        )


@click.command("worker")
@click.option("--one-shot", is_flag=True, help="Stop once no job is ready (for cron or tests).")
@click.option("--concurrency", default=1, show_default=True, help="Jobs run at once.")
@click.option(
    "--heartbeat-seconds",
    default=10.0,
    show_default=True,
    help="How often the worker tells the database it is alive.",
)
@with_appcontext
def worker_command(one_shot: bool, concurrency: int, heartbeat_seconds: float) -> None:
    """Run the portal's background jobs (procrastinate's worker, with the app context)."""
    _postgresql_only()
    _connected_directly()
    asked = queue.run_worker(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        one_shot=one_shot,
        concurrency=concurrency,
        heartbeat_seconds=heartbeat_seconds,
    )
    if not asked:
        click.echo(
            "The worker stopped by itself (its connection to the database broke, see above):"
            " exiting with status 1, for systemd to start it again.",
            err=True,
        )
        raise SystemExit(1)


@jobs_cli.command("retry-stalled")
@click.option(
    "--after",
    "seconds",
    default=float(queue.STALLED_AFTER_SECONDS),
    show_default=True,
    help="Seconds without a heartbeat after which a worker is taken for dead.",
)
def retry_stalled_command(seconds: float) -> None:
    """Put back the jobs of workers that died mid-job, or fail those that were in their last
    attempt (workers do it every minute)."""
    _postgresql_only()
    stalled = queue.retry_stalled(current_app._get_current_object(), seconds)  # type: ignore[attr-defined]
    if stalled.put_back:
        click.echo(f"{len(stalled.put_back)} stalled job(s) put back: {stalled.put_back}")
    if stalled.failed:
        failed = stalled.failed
        click.echo(f"{len(failed)} stalled job(s) failed, in their last attempt: {failed}")
    if not stalled.put_back and not stalled.failed:
        click.echo("none stalled")
