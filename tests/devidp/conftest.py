"""Fixtures for the development ID provider's own tests: an app per test on a copy of keys.

RSA key generation is the slow part, so one key directory is made per session and copied.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.devidp import create_app
from portal.devidp.keys import ensure_keys

from .flow import CLIENT, ISSUER, OTHER_CLIENT


@pytest.fixture(scope="session")
def _key_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    template = tmp_path_factory.mktemp("devidp-template") / "keys"
    ensure_keys(template)
    return template


@pytest.fixture
def key_dir(tmp_path: Path, _key_template: Path) -> Path:
    directory = tmp_path / "devidp"
    shutil.copytree(_key_template, directory)
    return directory


@pytest.fixture
def make_idp(key_dir: Path) -> Callable[..., Flask]:
    """``make_idp(DEVIDP_PIN_ATTEMPTS=5)``: a provider with these settings over the defaults."""

    def make(**overrides: Any) -> Flask:
        config: dict[str, Any] = {
            "TESTING": True,
            "DEVIDP_ISSUER": ISSUER,
            "DEVIDP_KEY_DIR": str(key_dir),
            "DEVIDP_CLIENTS": [CLIENT, OTHER_CLIENT],
        }
        config.update(overrides)
        return create_app(config)

    return make


@pytest.fixture
def idp(make_idp: Callable[..., Flask]) -> Flask:
    return make_idp()


@pytest.fixture
def browser(idp: Flask) -> FlaskClient:
    """The resident's browser at the provider (and, for /token, the client's server)."""
    return idp.test_client()
