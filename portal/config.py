"""Deploy-time settings: code defaults, then ``instance/config.py``, then ``PORTAL_*`` variables.

Every setting is documented in README.md. Runtime settings that admins change live in the
database, not here.
"""

from __future__ import annotations

import ipaddress
import math
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many

from portal.japan.clock import JAPAN_ZONE_NAME

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
    "PSEUDONYM_KEY": "",
    "BASE_URL": "",
    "DATABASE_URL": "",
    #: A streaming replica the read-only pages may read from (portal/replica.py).
    "REPLICA_DATABASE_URL": "",
    #: "transaction": DATABASE_URL is a pgbouncer in transaction mode (no prepared
    #: statements); the workers, which LISTEN, connect to PostgreSQL itself.
    "DATABASE_POOLER": "",
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
    "TRUSTED_HOSTS": "",
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_MAX_HOURS": 12,
    "SESSION_COOKIE_NAME": "madoguchi_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_SECURE": False,
    "BABEL_DEFAULT_LOCALE": "ja",
    "BABEL_DEFAULT_TIMEZONE": JAPAN_ZONE_NAME,
    "LANGUAGES": ("ja", "en"),
    "LANGUAGE_COOKIE_NAME": "madoguchi_lang",
    "WTF_CSRF_TIME_LIMIT": None,
    "UPLOAD_MAX_BYTES": 10 * 1024 * 1024,
    "UPLOAD_DIR": "",
    "CERTIFICATE_DIR": "",
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    "FORM_MAX_BYTES": 256 * 1024,
    "SQLALCHEMY_TRACK_MODIFICATIONS": False,
    "SMTP_HOST": "",
    "SMTP_PORT": 587,
    "SMTP_USERNAME": "",
    "SMTP_PASSWORD": "",
    "SMTP_STARTTLS": True,
    "MAIL_FROM": "",
    "STATUS_LIST_KEY_FILE": "",
    "STATUS_LIST_TTL": 300,
    "STATUS_LIST_SIZE": 131072,
    #: Days a draft (a case never sent) is kept after it was last changed.
    "DRAFT_RETENTION_DAYS": 90,
    "RATELIMIT_STORAGE_URI": "memory://",
    #: None: on, except in an app made for tests (which a test may switch on).
    "RATE_LIMITS_ENABLED": None,
    "VERIFY_RATE_LIMIT": "10 per minute",
    "STATUS_LIST_RATE_LIMIT": "60 per minute",
    "SIGNING_KEY_DIR": "",
    "SIGNING_KEY_PASSPHRASE": "",
    "SIGNING_TSA_URL": "",
    "SIGNING_TSA_ROOTS": "",
    "SIGNING_PADES_LEVEL": "B-LTA",
    "METRICS_TOKEN": "",
}

#: Settings that must be strings even when the environment gives "123" (which
#: ``from_prefixed_env`` would turn into a number).
STRING_SETTINGS = (
    "ENV",
    "SECRET_KEY",
    "PSEUDONYM_KEY",
    "BASE_URL",
    "DATABASE_URL",
    "REPLICA_DATABASE_URL",
    "DATABASE_POOLER",
    "OIDC_DISCOVERY_URL",
    "OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET",
    "OIDC_ACR",
    "STAFF_OIDC_DISCOVERY_URL",
    "STAFF_OIDC_CLIENT_ID",
    "STAFF_OIDC_CLIENT_SECRET",
    "STAFF_OIDC_ACR",
    "DEVIDP_ISSUER",
    "SMTP_HOST",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "MAIL_FROM",
    "TRUSTED_HOSTS",
    "STATUS_LIST_KEY_FILE",
    "RATELIMIT_STORAGE_URI",
    "VERIFY_RATE_LIMIT",
    "STATUS_LIST_RATE_LIMIT",
    "SIGNING_KEY_DIR",
    "SIGNING_KEY_PASSPHRASE",
    "SIGNING_TSA_URL",
    "SIGNING_TSA_ROOTS",
    "SIGNING_PADES_LEVEL",
    "METRICS_TOKEN",
)
#: Settings that must be whole numbers, with the range production accepts.
INTEGER_SETTINGS = {
    "TRUSTED_PROXIES": (0, 5),
    "SESSION_IDLE_MINUTES": (1, 240),
    "SESSION_MAX_HOURS": (1, 24),
    "UPLOAD_MAX_BYTES": (1, 1024**3),
    "FORM_MAX_BYTES": (1024, 16 * 1024 * 1024),
    "MAX_CONTENT_LENGTH": (1024, 1024**3 + 16 * 1024 * 1024),
    "SMTP_PORT": (1, 65535),
    "STATUS_LIST_TTL": (60, 86400),
    "STATUS_LIST_SIZE": (16384, 1 << 24),
    "DRAFT_RETENTION_DAYS": (1, 3650),
}
#: Limits every process shares (``limits``' storages with a moving window and a client we
#: install); ``memory://`` counts per process, so N workers would allow N times the limit.
SHARED_LIMIT_STORAGES = ("redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster")
RATE_LIMIT_SETTINGS = ("VERIFY_RATE_LIMIT", "STATUS_LIST_RATE_LIMIT")
#: A random secret of 32 characters carries well over this many bits; "a" * 32, a phrase
#: or a repeated pattern carries far fewer.
MIN_SECRET_BITS = 80
COOKIE_PREFIXES = ("SESSION_COOKIE_", "REMEMBER_COOKIE_")
#: What deploy/portal.env.example writes where the operator's own value goes.
PLACEHOLDER = "CHANGE-ME"


class UnsafeConfiguration(RuntimeError):
    """Raised at start-up when production settings would be unsafe; says what to fix."""


def finalize(config: dict[str, Any], instance_path: Path) -> None:
    """Derive the settings that depend on others, then refuse unsafe production ones."""
    for key in STRING_SETTINGS:
        value = config.get(key)
        config[key] = "" if value is None else str(value)
    _whole_numbers(config)
    config["SMTP_STARTTLS"] = _flag("SMTP_STARTTLS", config["SMTP_STARTTLS"])
    _rate_limits(config)
    if config["STATUS_LIST_SIZE"] % 8:
        raise UnsafeConfiguration("PORTAL_STATUS_LIST_SIZE: use a multiple of 8")
    if config["DRAFT_RETENTION_DAYS"] < 1:
        # Zero or fewer days would delete every draft, the one being filled in included.
        raise UnsafeConfiguration(
            f"PORTAL_DRAFT_RETENTION_DAYS: {config['DRAFT_RETENTION_DAYS']} is not a positive"
            " number of days"
        )
    production = config["ENV"] == "production"
    config["DEVELOPMENT_PROVIDER"] = not config["OIDC_DISCOVERY_URL"]
    config["SIGNING_KEY_DIR"] = config["SIGNING_KEY_DIR"] or str(instance_path / "signing")
    if production:
        _refuse_unsafe(config)
    else:
        _refuse_signing_problems(config)
    if config["DEVELOPMENT_PROVIDER"]:
        config["OIDC_DISCOVERY_URL"] = (
            config["DEVIDP_ISSUER"].rstrip("/") + "/.well-known/openid-configuration"
        )
        config["OIDC_CLIENT_ID"] = config["OIDC_CLIENT_ID"] or DEVELOPMENT_CLIENT_ID
        config["OIDC_CLIENT_SECRET"] = config["OIDC_CLIENT_SECRET"] or DEVELOPMENT_CLIENT_SECRET
    if not config["STAFF_OIDC_DISCOVERY_URL"]:
        for name in ("DISCOVERY_URL", "CLIENT_ID", "CLIENT_SECRET", "ACR"):
            config[f"STAFF_OIDC_{name}"] = config[f"OIDC_{name}"]
    _databases(config, instance_path)
    for prefix in COOKIE_PREFIXES:
        config[prefix + "SECURE"] = config[prefix + "SECURE"] or production
    config["PREFERRED_URL_SCHEME"] = "https" if production else "http"
    config["TRUSTED_HOSTS"] = _trusted_hosts(config, production)
    config["MAX_FORM_MEMORY_SIZE"] = config["FORM_MAX_BYTES"]


#: What PORTAL_DATABASE_POOLER may say: nothing (PostgreSQL itself, or a pooler in session
#: mode), or "transaction" (pgbouncer's pool_mode=transaction).
POOLERS = ("", "transaction")


def _databases(config: dict[str, Any], instance_path: Path) -> None:
    """The primary's URL and engine options; the replica's URL (both PostgreSQL, or none)."""
    database_url = config["DATABASE_URL"] or f"sqlite:///{instance_path / 'portal.sqlite3'}"
    config["SQLALCHEMY_DATABASE_URI"] = _sqlalchemy_url(database_url)
    on_postgresql = config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    replica = _sqlalchemy_url(config["REPLICA_DATABASE_URL"])
    if replica and not (on_postgresql and replica.startswith("postgresql")):
        raise UnsafeConfiguration(
            "PORTAL_REPLICA_DATABASE_URL: a PostgreSQL standby of PORTAL_DATABASE_URL's "
            "PostgreSQL (postgresql://...), or nothing"
        )
    if replica and replica == config["SQLALCHEMY_DATABASE_URI"]:
        raise UnsafeConfiguration(
            "PORTAL_REPLICA_DATABASE_URL: that is PORTAL_DATABASE_URL; name the standby"
        )
    config["REPLICA_SQLALCHEMY_DATABASE_URI"] = replica
    pooler = config["DATABASE_POOLER"].strip().lower()
    if pooler not in POOLERS or (pooler and not on_postgresql):
        raise UnsafeConfiguration(
            "PORTAL_DATABASE_POOLER: 'transaction' for a pgbouncer in transaction mode in front "
            "of PostgreSQL, or nothing"
        )
    config["DATABASE_POOLER"] = pooler
    if on_postgresql:
        # A connection the server dropped (a restart, a failover) is found out when it is
        # taken from the pool, and replaced, instead of failing the request that took it.
        options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.setdefault("pool_pre_ping", True)
        if pooler == "transaction":
            # Each transaction may run on another server connection: a statement psycopg
            # prepared on one is unknown on the next. Never prepare.
            options["connect_args"] = {**options.get("connect_args", {}), "prepare_threshold": None}
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _trusted_hosts(config: dict[str, Any], production: bool) -> list[str] | None:
    """The ``Host`` values a request may carry (Flask answers 400 to any other): in
    production the host of ``BASE_URL`` and those listed; in development any, unless listed."""
    hosts = config["TRUSTED_HOSTS"].split()
    if production and (base_host := urlsplit(config["BASE_URL"]).hostname):
        hosts.insert(0, base_host)
    return list(dict.fromkeys(hosts)) or None


def _sqlalchemy_url(url: str) -> str:
    """Accept the ``postgresql://`` URLs operators write and use the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _whole_numbers(config: dict[str, Any]) -> None:
    """A number given as text (the environment, a config file) becomes one, or is refused:
    a limit that is not a number would fail every request that reads it."""
    for key in INTEGER_SETTINGS:
        value = config[key]
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            config[key] = int(value)
        except (TypeError, ValueError):
            raise UnsafeConfiguration(f"PORTAL_{key}: {value!r} is not a whole number") from None


def _rate_limits(config: dict[str, Any]) -> None:
    """Limits are on unless switched off (or the app is a test's); a limit that cannot be
    read would fail every request it guards, so it stops the start instead."""
    enabled = config["RATE_LIMITS_ENABLED"]
    if enabled is None:
        enabled = not config.get("TESTING")
    config["RATE_LIMITS_ENABLED"] = _flag("RATE_LIMITS_ENABLED", enabled)
    for key in RATE_LIMIT_SETTINGS:
        try:
            parse_many(config[key])
        except ValueError:
            raise UnsafeConfiguration(
                f"PORTAL_{key}: {config[key]!r} is not a limit such as '10 per minute'"
            ) from None


def _flag(key: str, value: Any) -> bool:
    """On or off, however it was written; anything else is refused, not taken for "on"."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise UnsafeConfiguration(f"PORTAL_{key}: {value!r} is neither true nor false")


def secret_bits(secret: str) -> float:
    """A lower estimate of a secret's entropy: its characters' frequencies (Shannon), times
    its length, scaled down by how much of it repeats (share of distinct 4-grams)."""
    if not secret.strip():
        return 0.0
    counts = Counter(secret)
    per_character = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values())
    grams = [secret[i : i + 4] for i in range(max(len(secret) - 3, 1))]
    return per_character * len(secret) * len(set(grams)) / len(grams)


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _https_url_problem(setting: str, url: str) -> str | None:
    """Every absolute URL production uses is https, to a real host."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return f"PORTAL_{setting}: use an https:// URL (not {url!r})"
    if _is_loopback(parts.hostname):
        return f"PORTAL_{setting}: {parts.hostname} is this machine; name the real host"
    return None


def _refuse_unsafe(config: dict[str, Any]) -> None:
    problems = []
    secret = config["SECRET_KEY"]
    if secret in ("", DEFAULT_SECRET_KEY) or len(secret) < 32:
        problems.append("PORTAL_SECRET_KEY: set a random value of at least 32 characters")
    elif secret_bits(secret) < MIN_SECRET_BITS:
        problems.append(
            "PORTAL_SECRET_KEY: too predictable; use e.g. "
            '`python -c "import secrets; print(secrets.token_urlsafe(48))"`'
        )
    problems += [
        f"PORTAL_{key}: still {PLACEHOLDER}, as in deploy/portal.env.example; set your own value"
        for key in STRING_SETTINGS
        if PLACEHOLDER in config[key]
    ]
    problems += _pseudonym_key_problems(config)
    problems += _metrics_token_problems(config)
    problems += _base_url_problems(config)
    problems += _provider_problems(config)
    if config.get("DEVIDP_LOAD_PERSONAS") not in (None, 0, "0", "", False):
        problems.append(
            "PORTAL_DEVIDP_LOAD_PERSONAS: load-test personas (one PIN for all) are for load "
            "tests of a development set-up; unset it"
        )
    if not config["DATABASE_URL"] or config["DATABASE_URL"].startswith("sqlite"):
        problems.append("PORTAL_DATABASE_URL: SQLite is for development; use PostgreSQL")
    problems += _request_handling_problems(config)
    problems += _mail_problems(config)
    problems += _verification_problems(config)
    problems += _signing_problems(config)
    if problems:
        raise UnsafeConfiguration(
            "Refusing to start with PORTAL_ENV=production. Fix:\n- " + "\n- ".join(problems)
        )


def _pseudonym_key_problems(config: dict[str, Any]) -> list[str]:
    """The key of the residents' per-department codes: its own random value, kept for good
    (a new key gives every resident new codes), and never the session secret."""
    key = config["PSEUDONYM_KEY"]
    if len(key) < 32 or secret_bits(key) < MIN_SECRET_BITS:
        return ["PORTAL_PSEUDONYM_KEY: set a random value of at least 32 characters"]
    if key == config["SECRET_KEY"]:
        return ["PORTAL_PSEUDONYM_KEY: use a value of its own, not PORTAL_SECRET_KEY"]
    return []


def _metrics_token_problems(config: dict[str, Any]) -> list[str]:
    """Unset, the metrics endpoint answers nobody; set, it must not be guessable."""
    token = config["METRICS_TOKEN"]
    if token and (len(token) < 32 or secret_bits(token) < MIN_SECRET_BITS):
        return ["PORTAL_METRICS_TOKEN: set a random value of at least 32 characters, or none"]
    return []


def _base_url_problems(config: dict[str, Any]) -> list[str]:
    if not config["BASE_URL"]:
        return [
            "PORTAL_BASE_URL: required; the portal's public address, e.g. https://portal.city.jp"
        ]
    problem = _https_url_problem("BASE_URL", config["BASE_URL"])
    parts = urlsplit(config["BASE_URL"])
    if problem is None and (parts.path not in ("", "/") or parts.query or parts.fragment):
        problem = "PORTAL_BASE_URL: only the scheme and host (and port), no path"
    return [problem] if problem else []


def _provider_problems(config: dict[str, Any]) -> list[str]:
    """Both audiences' providers: a real https one, with a client secret of its own."""
    if config["DEVELOPMENT_PROVIDER"]:
        return [
            "PORTAL_OIDC_DISCOVERY_URL: the development ID provider cannot be used in production; "
            "set your OpenID Connect provider's discovery URL"
        ]
    problems = []
    development = config["DEVIDP_ISSUER"].rstrip("/")
    for prefix in ("OIDC_", "STAFF_OIDC_"):
        url = config[prefix + "DISCOVERY_URL"]
        if not url:
            continue  # the staff follow the residents' provider
        if not config[prefix + "CLIENT_ID"] or not config[prefix + "CLIENT_SECRET"]:
            problems.append(
                f"PORTAL_{prefix}CLIENT_ID and PORTAL_{prefix}CLIENT_SECRET: both are required"
                + (" with PORTAL_STAFF_OIDC_DISCOVERY_URL" if prefix == "STAFF_OIDC_" else "")
            )
        if url.rstrip("/").startswith(development) or url.startswith(DEVELOPMENT_PROVIDER_ISSUER):
            problems.append(f"PORTAL_{prefix}DISCOVERY_URL: that is the development ID provider")
        elif problem := _https_url_problem(prefix + "DISCOVERY_URL", url):
            problems.append(problem)
        if config[prefix + "CLIENT_SECRET"] == DEVELOPMENT_CLIENT_SECRET:
            problems.append(
                f"PORTAL_{prefix}CLIENT_SECRET: that is the development provider's published secret"
            )
    if not config["OIDC_ACR"].split():
        problems.append(
            "PORTAL_OIDC_ACR: name the assurance level residents must sign in with "
            "(the My Number card's)"
        )
    return problems


def _mail_problems(config: dict[str, Any]) -> list[str]:
    """Mail carries residents' procedures: encrypted to the server, from a real sender."""
    host = config["SMTP_HOST"]
    if not host:
        return []  # no e-mail: messages stay in the mailbox
    problems = []
    if not config["SMTP_STARTTLS"] and not _is_loopback(host):
        problems.append(
            "PORTAL_SMTP_STARTTLS: must be on for an SMTP server on another host "
            "(or relay through one on this machine)"
        )
    if "@" not in config["MAIL_FROM"]:
        problems.append("PORTAL_MAIL_FROM: the sender's address, e.g. noreply@city.example.jp")
    if config["SMTP_PASSWORD"] and not config["SMTP_USERNAME"]:
        problems.append("PORTAL_SMTP_USERNAME: required with PORTAL_SMTP_PASSWORD")
    return problems


def _verification_problems(config: dict[str, Any]) -> list[str]:
    """The status lists' key is the deployment's own, kept (verifiers hold its public part);
    the verify page's limits hold across all processes."""
    problems = []
    if not config["STATUS_LIST_KEY_FILE"]:
        problems.append(
            "PORTAL_STATUS_LIST_KEY_FILE: the PEM file of the status lists' EC P-256 signing key"
            " (`flask --app portal status-lists init-key` writes one)"
        )
    scheme = urlsplit(config["RATELIMIT_STORAGE_URI"]).scheme
    if scheme not in SHARED_LIMIT_STORAGES:
        problems.append(
            "PORTAL_RATELIMIT_STORAGE_URI: a storage all processes share, e.g. "
            "redis://cache.internal:6379/0 (memory:// counts per process)"
        )
    if not config["RATE_LIMITS_ENABLED"]:
        problems.append("PORTAL_RATE_LIMITS_ENABLED: the verify page must stay rate-limited")
    return problems


def _signing_problems(config: dict[str, Any]) -> list[str]:
    """The certificates' signing keys and timestamps (see portal/certificates/signing.py)."""
    # Imported here: the certificates package imports models, which import this module.
    from portal.certificates.signing import setting_problems

    return setting_problems(config)


def _refuse_signing_problems(config: dict[str, Any]) -> None:
    """A signing level or TSA URL that cannot work is refused in development too: every
    certificate's render job would fail on it."""
    if problems := _signing_problems(config):
        raise UnsafeConfiguration("Fix:\n- " + "\n- ".join(problems))


def _request_handling_problems(config: dict[str, Any]) -> list[str]:
    problems = []
    for key in ("DEBUG", "TESTING"):
        if config.get(key):
            problems.append(f"PORTAL_{key}: must be off in production")
    for key in ("WTF_CSRF_ENABLED", "WTF_CSRF_CHECK_DEFAULT"):
        if not config.get(key, True):
            problems.append(f"PORTAL_{key}: CSRF protection must stay on")
    for prefix in COOKIE_PREFIXES:
        if config.get(prefix + "HTTPONLY") is not True:
            problems.append(f"PORTAL_{prefix}HTTPONLY: must be True")
        if config.get(prefix + "SAMESITE") not in ("Lax", "Strict"):
            problems.append(f"PORTAL_{prefix}SAMESITE: must be Lax or Strict")
    for key, (low, high) in INTEGER_SETTINGS.items():
        if not low <= config[key] <= high:
            problems.append(f"PORTAL_{key}: {config[key]} is outside {low}..{high}")
    if config["SESSION_IDLE_MINUTES"] > config["SESSION_MAX_HOURS"] * 60:
        problems.append("PORTAL_SESSION_IDLE_MINUTES: longer than PORTAL_SESSION_MAX_HOURS")
    for key in ("UPLOAD_MAX_BYTES", "FORM_MAX_BYTES"):
        if config[key] >= config["MAX_CONTENT_LENGTH"]:
            problems.append(
                f"PORTAL_{key}: must be below the request limit PORTAL_MAX_CONTENT_LENGTH "
                f"({config['MAX_CONTENT_LENGTH']})"
            )
    return problems
