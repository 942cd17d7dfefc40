"""``flask --app portal audit verify``: check every audit chain from its start."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.audit.chain import verify

audit_cli = AppGroup("audit", help="The hash-chained audit log.")


@audit_cli.command("verify")
def verify_chains() -> None:
    """Recompute every chain; exit 1 naming the first entry edited, inserted or deleted."""
    result = verify()
    if result.fault is not None:
        click.echo(f"audit log broken: {result.fault}", err=True)
        raise click.exceptions.Exit(1)
    click.echo(f"{result.chains} chain(s), {result.entries} entries verified")
