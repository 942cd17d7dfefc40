"""``flask --app portal definitions check``, ``... load``, ``... export DIR`` and
``... import DIR``."""

from __future__ import annotations

from pathlib import Path

import click

from portal.cli import UnitOfWorkGroup
from portal.definitions import checker, services, versions
from portal.definitions.sources import FORMS_DIR, WORKFLOWS_DIR, read_sources

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


@definitions_cli.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export(directory: Path) -> None:
    """Write the published national versions as the YAML tree of forms/ and workflows/."""
    written = versions.export_tree(directory)
    click.echo(f"{len(written)} files written to {directory}")


@definitions_cli.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def import_(directory: Path) -> None:
    """Make a draft of every file of such a tree that differs from its published version."""
    report = versions.import_tree(directory, actor=None)
    for draft in report.drafted:
        click.echo(f"drafted {draft.label}")
    for problem in report.problems:
        click.echo(str(problem), err=True)
    click.echo(f"{len(report.drafted)} drafted, {len(report.unchanged)} unchanged")
