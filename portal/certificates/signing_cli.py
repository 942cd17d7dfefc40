"""``flask --app portal signing demo-keys`` and ``... signing check``: the municipalities'
signing keys (see :mod:`portal.certificates.signing`)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from portal.certificates import signing
from portal.extensions import db
from portal.japan.clock import utcnow
from portal.tenancy.models import Municipality

signing_cli = AppGroup("signing", help="The municipalities' keys that sign certificates.")


def served_municipalities() -> list[Municipality]:
    """Those with departments of their own: each issues certificates in its own name."""
    query = select(Municipality).where(Municipality.departments.any()).order_by(Municipality.code)
    return list(db.session.scalars(query))


@signing_cli.command("demo-keys")
def demo_keys() -> None:
    """Make a demo CA and a key per served municipality in PORTAL_SIGNING_KEY_DIR (kept when
    still good: run it as often as you like). Never in production."""
    settings = signing.Settings.of(current_app.config)
    if settings.production:
        raise click.UsageError(
            "demo keys are refused in production: put each municipality's PKCS#12 file in "
            f"{settings.key_dir} (see README.md)"
        )
    made = signing.ensure_demo_keys(settings.key_dir, served_municipalities(), settings.passphrase)
    click.echo(
        f"demo signing keys in {settings.key_dir}: "
        + (", ".join(made) + " made" if made else "all there")
    )


@signing_cli.command("check")
def check_keys() -> None:
    """List each served municipality's key and certificate; exit 1 if any cannot sign (in
    production a demo key cannot)."""
    settings = signing.Settings.of(current_app.config)
    now = utcnow()
    failed = False
    for municipality in served_municipalities():
        path = signing.key_path(settings.key_dir, municipality.code)
        try:
            material = signing.read_key_file(path, settings.passphrase)
        except signing.SigningError as error:
            click.echo(f"{municipality.code}\tPROBLEM\t{error}")
            failed = True
            continue
        problems = [
            p
            for p in signing.key_problems(material, now)
            if settings.production or p != "issued by the demo CA"
        ]
        subject = material.certificate.subject.rfc4514_string()
        until = f"{material.certificate.not_valid_after_utc:%Y-%m-%d}"
        state = "PROBLEM" if problems else "ok"
        click.echo(
            f"{municipality.code}\t{state}\t{subject}\tuntil {until}"
            + ("\t" + "; ".join(problems) if problems else "")
        )
        failed = failed or bool(problems)
    click.echo(
        f"level {settings.pades_level}" + (f", TSA {settings.tsa_url}" * bool(settings.tsa_url))
    )
    if failed:
        raise click.exceptions.Exit(1)
