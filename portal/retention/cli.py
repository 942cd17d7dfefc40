"""``flask --app portal retention run [--dry-run]``: what the nightly job does, by hand or
from cron (SQLite has no worker to run it)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.retention import services

retention_cli = AppGroup("retention", help="Drafts and decided cases past their retention.")


@retention_cli.command("run")
@click.option("--dry-run", is_flag=True, help="Count what is due; change nothing.")
@click.option(
    "--batch-size",
    default=services.BATCH_SIZE,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Cases per transaction.",
)
def run_command(dry_run: bool, batch_size: int) -> None:
    """Anonymise drafts untouched for PORTAL_DRAFT_RETENTION_DAYS; anonymise or delete decided
    cases whose forms' retention has ended. Each batch commits on its own."""
    outcome = services.run(dry_run=dry_run, batch_size=batch_size)
    would = "would be " if dry_run else ""
    click.echo(f"drafts {would}anonymised: {outcome.drafts_anonymised}")
    click.echo(f"decided cases {would}anonymised: {outcome.cases_anonymised}")
    click.echo(f"decided cases {would}deleted: {outcome.cases_deleted}")
    click.echo(f"decided cases kept (retention not over, or none): {outcome.cases_kept}")
