"""The key that signs the status list tokens: one EC P-256 key of the portal, in a PEM file.

Development keeps it in ``instance/status-list-key.pem``, made by ``flask --app portal
status-lists init-key`` (the Makefile's ``database`` target) or on first use. Production names
the file in ``PORTAL_STATUS_LIST_KEY_FILE`` and refuses to start without a readable P-256 key:
a key made up on the spot by one process would sign tokens no verifier has the key for.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from portal import keyfiles
from portal.config import UnsafeConfiguration

ALGORITHM = "ES256"
CURVE = "P-256"
DEFAULT_FILE_NAME = "status-list-key.pem"

_lock = threading.Lock()

status_lists_cli = AppGroup("status-lists", help="The status lists' signing key.")


def init_app(app: Flask) -> None:
    """Production checks its key at start-up, not at the first verifier's request."""
    app.cli.add_command(status_lists_cli)
    if app.config["ENV"] == "production":
        path = key_path(app.config, app.instance_path)
        try:
            _load(str(path), *keyfiles.stamp(path))
        except (OSError, ValueError, JoseError) as error:
            raise UnsafeConfiguration(
                "Refusing to start with PORTAL_ENV=production. Fix:\n- PORTAL_STATUS_LIST_KEY_FILE:"
                f" {path} is not a readable EC P-256 private key in PEM ({error})"
            ) from None


def key_path(config: Any, instance_path: str) -> Path:
    return Path(config["STATUS_LIST_KEY_FILE"] or Path(instance_path) / DEFAULT_FILE_NAME)


def signing_key() -> ECKey:
    """The private key, with its ``kid`` (the RFC 7638 thumbprint) set. Outside production a
    missing file is created; the file is read again when it changes (a new key)."""
    path = key_path(current_app.config, current_app.instance_path)
    if not path.exists() and current_app.config["ENV"] != "production":
        ensure_key(path)
    return _load(str(path), *keyfiles.stamp(path))


def public_jwks() -> dict[str, list[dict[str, Any]]]:
    """The JWK Set a verifier checks the tokens with."""
    key = signing_key()
    public = dict(key.as_dict(private=False))
    public.update(kid=key.kid, alg=ALGORITHM, use="sig")
    return {"keys": [public]}


def ensure_key(path: Path) -> bool:
    """Write a new key to ``path`` (owner-only) unless one is there; True when written."""
    with _lock:
        if path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = ECKey.generate_key(CURVE, private=True).as_pem(private=True)
        return keyfiles.write_private(path, pem, keep_existing=True)


@lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int, size: int) -> ECKey:
    """Parsed once per file version (name, time and size)."""
    key = ECKey.import_key(Path(path).read_bytes())
    if key.curve_name != CURVE or not key.is_private:
        raise ValueError(f"not a {CURVE} private key")
    key.ensure_kid()
    return key


@status_lists_cli.command("init-key")
def init_key_command() -> None:
    """Create the signing key if there is none (never replaces one)."""
    path = key_path(current_app.config, current_app.instance_path)
    if ensure_key(path):
        click.echo(f"status list signing key written to {path}")
    else:
        click.echo(f"status list signing key kept: {path}")
