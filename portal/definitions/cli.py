"""``flask --app portal definitions check``, ``... load``, ``... export DIR`` and
``... import DIR``."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from portal.cli import UnitOfWorkGroup
from portal.definitions import checker, services, versions
from portal.definitions.sources import FORMS_DIR, WORKFLOWS_DIR, read_sources
from portal.extensions import db
from portal.tenancy.models import Municipality

definitions_cli = UnitOfWorkGroup("definitions", help="Check and load forms and workflows.")

_dirs = [
    click.option(
        "--forms",
        "forms_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=FORMS_DIR,
        show_default=True,
    ),
    click.option(
        "--workflows",
        "workflows_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=WORKFLOWS_DIR,
        show_default=True,
    ),
]


def _with_dirs(func):  # noqa: ANN001, ANN201 - click decorator
    for option in reversed(_dirs):
        func = option(func)
    return func


@definitions_cli.command("check")
@_with_dirs
def check(forms_dir: Path, workflows_dir: Path) -> None:
    """Validate every file and cross-reference; print file, place and message for each fault."""
    sources = read_sources(forms_dir, workflows_dir)
    problems = checker.check(sources)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise click.exceptions.Exit(1)
    click.echo(f"{len(sources.files)} files, no problems")


@definitions_cli.command("load")
@_with_dirs
def load(forms_dir: Path, workflows_dir: Path) -> None:
    """Store new versions; nothing at all when any file has a fault."""
    try:
        report = services.load(read_sources(forms_dir, workflows_dir))
    except services.DefinitionsRefused as refused:
        for problem in refused.problems:
            click.echo(str(problem), err=True)
        click.echo("nothing was loaded", err=True)
        raise click.exceptions.Exit(1) from None
    for label in report.added:
        click.echo(f"added {label}")
    click.echo(f"{len(report.added)} added, {len(report.unchanged)} unchanged")


_municipality = click.option(
    "--municipality",
    "code",
    metavar="CODE",
    help="A municipality's own versions (its 6-digit code) instead of the national ones.",
)


def _scope(code: str | None) -> versions.Scope:
    if code is None:
        return versions.NATIONAL
    municipality = db.session.scalar(select(Municipality).filter_by(code=code))
    if municipality is None:
        raise click.BadParameter(f"no municipality has the code {code!r}", param_hint="CODE")
    return versions.Scope(municipality)


@definitions_cli.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@_municipality
def export(directory: Path, code: str | None) -> None:
    """Write the published versions as the YAML tree of forms/ and workflows/."""
    written = versions.export_tree(directory, _scope(code))
    click.echo(f"{len(written)} files written to {directory}")


@definitions_cli.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_municipality
def import_(directory: Path, code: str | None) -> None:
    """Make a draft of every file of such a tree that differs from its published version."""
    report = versions.import_tree(directory, actor=None, scope=_scope(code))
    for draft in report.drafted:
        click.echo(f"drafted {draft.label}")
    for problem in report.problems:
        click.echo(str(problem), err=True)
    click.echo(f"{len(report.drafted)} drafted, {len(report.unchanged)} unchanged")
