"""Deploy-time settings: code defaults, then ``instance/config.py``, then ``PORTAL_*`` variables.

Every setting is documented in README.md. Runtime settings that admins change live in the
database, not here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from portal.clock import JAPAN_ZONE_NAME

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_SECRET_KEY = "development-only-secret-key-do-not-deploy"
DEVELOPMENT_PROVIDER_ISSUER = "http://127.0.0.1:5001"
DEVELOPMENT_CLIENT_ID = "madoguchi-portal"
DEVELOPMENT_CLIENT_SECRET = "madoguchi-development-secret"
#: The assurance level of the My Number card's public personal authentication at the
#: development provider; a real deployment names its provider's value.
DEVELOPMENT_CARD_ACR = "urn:madoguchi:acr:mynumber-card"

DEFAULTS: dict[str, Any] = {
    "ENV": "development",
    "SECRET_KEY": DEFAULT_SECRET_KEY,
    "DATABASE_URL": "",
    "OIDC_DISCOVERY_URL": "",
    "OIDC_CLIENT_ID": "",
    "OIDC_CLIENT_SECRET": "",
    "OIDC_ACR": DEVELOPMENT_CARD_ACR,
    "STAFF_OIDC_DISCOVERY_URL": "",
    "STAFF_OIDC_CLIENT_ID": "",
    "STAFF_OIDC_CLIENT_SECRET": "",
    "STAFF_OIDC_ACR": "",
    "DEVIDP_ISSUER": DEVELOPMENT_PROVIDER_ISSUER,
    "TRUSTED_PROXIES": 0,
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_MAX_HOURS": 12,
    "SESSION_COOKIE_NAME": "madoguchi_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "BABEL_DEFAULT_LOCALE": "ja",
    "BABEL_DEFAULT_TIMEZONE": JAPAN_ZONE_NAME,
    "LANGUAGES": ("ja", "en"),
    "LANGUAGE_COOKIE_NAME": "madoguchi_lang",
    "WTF_CSRF_TIME_LIMIT": None,
    "UPLOAD_MAX_BYTES": 10 * 1024 * 1024,
    "UPLOAD_DIR": "",
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    "SQLALCHEMY_TRACK_MODIFICATIONS": False,
}

#: Settings that must be strings even when the environment gives "123" (which
#: ``from_prefixed_env`` would turn into a number).
STRING_SETTINGS = (
    "ENV",
    "SECRET_KEY",
    "DATABASE_URL",
    "OIDC_DISCOVERY_URL",
    "OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET",
    "OIDC_ACR",
    "STAFF_OIDC_DISCOVERY_URL",
    "STAFF_OIDC_CLIENT_ID",
    "STAFF_OIDC_CLIENT_SECRET",
    "STAFF_OIDC_ACR",
    "DEVIDP_ISSUER",
)


class UnsafeConfiguration(RuntimeError):
    """Raised at start-up when production settings would be unsafe; says what to fix."""


def finalize(config: dict[str, Any], instance_path: Path) -> None:
    """Derive the settings that depend on others, then refuse unsafe production ones."""
    for key in STRING_SETTINGS:
        value = config.get(key)
        config[key] = "" if value is None else str(value)
    production = config["ENV"] == "production"
    config["DEVELOPMENT_PROVIDER"] = not config["OIDC_DISCOVERY_URL"]
    if production:
        _refuse_unsafe(config)
    if config["DEVELOPMENT_PROVIDER"]:
        config["OIDC_DISCOVERY_URL"] = (
            config["DEVIDP_ISSUER"].rstrip("/") + "/.well-known/openid-configuration"
        )
        config["OIDC_CLIENT_ID"] = config["OIDC_CLIENT_ID"] or DEVELOPMENT_CLIENT_ID
        config["OIDC_CLIENT_SECRET"] = config["OIDC_CLIENT_SECRET"] or DEVELOPMENT_CLIENT_SECRET
    if not config["STAFF_OIDC_DISCOVERY_URL"]:
        for name in ("DISCOVERY_URL", "CLIENT_ID", "CLIENT_SECRET", "ACR"):
            config[f"STAFF_OIDC_{name}"] = config[f"OIDC_{name}"]
    database_url = config["DATABASE_URL"] or f"sqlite:///{instance_path / 'portal.sqlite3'}"
    config["SQLALCHEMY_DATABASE_URI"] = _sqlalchemy_url(database_url)
    config["SESSION_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"] or production
    config["PREFERRED_URL_SCHEME"] = "https" if production else "http"


def _sqlalchemy_url(url: str) -> str:
    """Accept the ``postgresql://`` URLs operators write and use the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _refuse_unsafe(config: dict[str, Any]) -> None:
    problems = []
    if config["SECRET_KEY"] in ("", DEFAULT_SECRET_KEY) or len(config["SECRET_KEY"]) < 32:
        problems.append("PORTAL_SECRET_KEY: set a random value of at least 32 characters")
    if config["DEVELOPMENT_PROVIDER"]:
        problems.append(
            "PORTAL_OIDC_DISCOVERY_URL: the development ID provider cannot be used in production; "
            "set your OpenID Connect provider's discovery URL"
        )
    elif not config["OIDC_CLIENT_ID"] or not config["OIDC_CLIENT_SECRET"]:
        problems.append("PORTAL_OIDC_CLIENT_ID and PORTAL_OIDC_CLIENT_SECRET: both are required")
    if config["STAFF_OIDC_DISCOVERY_URL"] and not (
        config["STAFF_OIDC_CLIENT_ID"] and config["STAFF_OIDC_CLIENT_SECRET"]
    ):
        problems.append(
            "PORTAL_STAFF_OIDC_CLIENT_ID and PORTAL_STAFF_OIDC_CLIENT_SECRET: both are required "
            "with PORTAL_STAFF_OIDC_DISCOVERY_URL"
        )
    if not config["DATABASE_URL"] or config["DATABASE_URL"].startswith("sqlite"):
        problems.append("PORTAL_DATABASE_URL: SQLite is for development; use PostgreSQL")
    if problems:
        raise UnsafeConfiguration(
            "Refusing to start with PORTAL_ENV=production. Fix:\n- " + "\n- ".join(problems)
        )
