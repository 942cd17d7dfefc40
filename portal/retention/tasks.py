"""The nightly retention run, as a periodic job of the workers (PostgreSQL)."""

from __future__ import annotations

from portal import jobs
from portal.retention import services

RETENTION_TASK = "retention.run"
#: 03:40 in Japan (18:40 UTC; procrastinate reads a cron in UTC, and Japan keeps no summer
#: time): after the day's work, and clear of the workers' own 03:17 UTC clean-up.
NIGHTLY_CRON = "40 18 * * *"


@jobs.task(name=RETENTION_TASK, max_attempts=3, cron=NIGHTLY_CRON)
def run_retention(timestamp: int | None = None) -> None:
    """Idempotent: what was removed is not found again, and each batch commits on its own."""
    services.run()
