"""``flask --app portal.devidp ...``: manage the provider's keys and look up subjects."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .keys import ensure_keys, rotate_signing_key
from .personas import PERSONAS, persona_by_id
from .subjects import subject_for


def init_app(app: Flask) -> None:
    app.cli.add_command(init_keys)
    app.cli.add_command(rotate_key)
    app.cli.add_command(subject)


def _key_dir() -> str:
    return str(current_app.config["DEVIDP_KEY_DIR"])


@click.command("init-keys")
@with_appcontext
def init_keys() -> None:
    """Create the signing key and pairwise salt if missing (safe to run again)."""
    kids = ensure_keys(_key_dir())
    click.echo(f"Keys in {_key_dir()}")
    for number, kid in enumerate(kids):
        click.echo(f"  {'signing' if number == 0 else 'older  '} kid={kid}")


@click.command("rotate-key")
@with_appcontext
def rotate_key() -> None:
    """Add a new signing key; the previous one stays published for tokens in flight."""
    kid = rotate_signing_key(_key_dir())
    click.echo(f"New signing key kid={kid}; JWKS publishes it and the one before it.")


@click.command("subject")
@click.argument("persona_id")
@click.option(
    "--client",
    "client_id",
    default=None,
    help="The client the subject is for (default: the first configured client).",
)
@with_appcontext
def subject(persona_id: str, client_id: str | None) -> None:
    """Print the pairwise ``sub`` that PERSONA_ID gets at a client."""
    if persona_by_id(persona_id) is None:
        known = ", ".join(persona.id for persona in PERSONAS)
        raise click.BadParameter(f"unknown persona; one of: {known}", param_hint="PERSONA_ID")
    clients = [client["client_id"] for client in current_app.config["DEVIDP_CLIENTS"]]
    client_id = client_id or clients[0]
    if client_id not in clients:
        raise click.BadParameter(
            f"not a configured client; one of: {', '.join(clients)}", param_hint="--client"
        )
    click.echo(subject_for(_key_dir(), persona_id, client_id))
