"""``flask --app portal backup PATH`` and ``flask --app portal restore PATH``."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from portal.backup import services
from portal.backup.archive import DamagedBackup
from portal.backup.databases import DatabaseToolFailed

NOT_IN_A_BACKUP = (
    "Not in a backup: instance/ and the PORTAL_* settings (secret keys, the signing keys, the "
    "status lists' key); they are secrets, to be backed up apart, and the restored portal "
    "needs the same ones."
)


@click.command(
    "backup",
    short_help="Back up the database and the files it names to one archive.",
    help="Write a backup of the database and of every upload and certificate it names to "
    "PATH, one tar file (a pg_dump custom-format dump on PostgreSQL, a copy made by SQLite's "
    f"online backup API on SQLite) with a manifest of SHA-256 digests. {NOT_IN_A_BACKUP}",
)
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    try:
        made = services.make(path.absolute())
    except (DatabaseToolFailed, OSError) as failed:
        raise click.ClickException(str(failed)) from None
    for name in made.missing:
        click.echo(f"warning: {name} is named by the database but was not there", err=True)
    files = len(made.manifest.members) - 1
    click.echo(
        f"backup written to {path}: {made.manifest.database} database at revision "
        f"{made.manifest.alembic_revision}, {files} file(s)"
    )


@click.command(
    "restore",
    short_help="Restore a backup made by `backup`, after checking all of it.",
    help="Restore the backup at PATH into the configured database and file folders. The "
    "whole archive is checked first (its manifest, each member's SHA-256, the database kind, "
    "a revision this version knows) and nothing is touched if any check fails. Refuses a "
    "database that has tables unless --force. Stop the portal and its workers first. "
    f"{NOT_IN_A_BACKUP}",
)
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="Restore over a database that has tables (on PostgreSQL the backup's tables are "
    "dropped and made again; others stay).",
)
@click.option("--yes", is_flag=True, help="With --force: do not ask for confirmation.")
@with_appcontext
def restore_command(path: Path, force: bool, yes: bool) -> None:
    try:
        with services.verified(path) as backup:
            if not services.database_is_empty():
                if not force:
                    raise click.ClickException(
                        "the database is not empty; restore into a new database, or give "
                        "--force to replace everything in it"
                    )
                if not yes:
                    click.confirm("Replace the database's contents with the backup's?", abort=True)
            placed = services.restore(backup)
            behind = backup.behind
    except (DamagedBackup, services.RestoreRefused) as refused:
        raise click.ClickException(f"restore refused, nothing changed: {refused}") from None
    except (DatabaseToolFailed, OSError) as failed:
        raise click.ClickException(f"restore failed: {failed}") from None
    click.echo(
        f"restored {path} (made {backup.manifest.created_at}): database at revision "
        f"{backup.manifest.alembic_revision}, {placed} file(s)"
    )
    if behind:
        click.echo("the backup is from an older version: run `flask --app portal db upgrade`")
