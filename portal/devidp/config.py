"""Settings of the development ID provider: defaults here, then ``PORTAL_*``, then the caller's.

Only settings starting with ``DEVIDP_`` are the provider's own; ``ENV`` and ``SECRET_KEY`` are
shared with the portal (both read the same ``PORTAL_*`` environment).
"""

from __future__ import annotations

from copy import deepcopy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from portal.japan.clock import JAPAN_ZONE_NAME

from .personas import LOAD_PERSONAS_MAX

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTANCE_PATH = REPO_ROOT / "instance"
TEMPLATE_FOLDER = REPO_ROOT / "templates"
STATIC_FOLDER = REPO_ROOT / "portal" / "static"
TRANSLATIONS_FOLDER = REPO_ROOT / "translations"

PORTAL_URL = "http://127.0.0.1:5000"


def development_client(portal_url: str) -> dict[str, Any]:
    """The portal as this provider's one client, at wherever ``make run`` serves it: on a
    loopback host both 127.0.0.1 and localhost, since a browser may be pointed at either."""
    parts = urlsplit(portal_url.rstrip("/"))
    origins = [f"{parts.scheme}://{parts.netloc}"]
    if parts.hostname in ("127.0.0.1", "localhost"):
        port = f":{parts.port}" if parts.port else ""
        origins = [f"{parts.scheme}://{host}{port}" for host in ("127.0.0.1", "localhost")]
    return {
        "client_id": "madoguchi-portal",
        "client_secret": "madoguchi-development-secret",
        "client_name": "Madoguchi",
        "redirect_uris": [f"{origin}/auth/callback" for origin in origins],
        "post_logout_redirect_uris": [f"{origin}/" for origin in origins],
    }


DEFAULTS: dict[str, Any] = {
    "ENV": "development",
    "DEVIDP_ISSUER": "http://127.0.0.1:5001",
    "DEVIDP_KEY_DIR": None,  # <instance>/devidp
    #: Where the portal runs; the default client's redirect URIs are registered there.
    "DEVIDP_PORTAL_URL": PORTAL_URL,
    "DEVIDP_CLIENTS": None,  # the portal at DEVIDP_PORTAL_URL
    "DEVIDP_ID_TOKEN_LIFETIME": 300,
    "DEVIDP_ACCESS_TOKEN_LIFETIME": 600,
    "DEVIDP_CODE_LIFETIME": 60,
    "DEVIDP_PIN_ATTEMPTS": 3,
    "DEVIDP_LOCK_SECONDS": 900,
    #: Load-test residents load-0001 … load-N (one PIN); 0: none (see personas.py).
    "DEVIDP_LOAD_PERSONAS": 0,
    # True: the ID token carries no profile, address or email claims, only /userinfo does.
    "DEVIDP_CLAIMS_IN_USERINFO_ONLY": False,
    # The portal runs on the same host in development: a cookie of its own name.
    "SESSION_COOKIE_NAME": "devidp_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "BABEL_DEFAULT_LOCALE": "ja",
    "BABEL_DEFAULT_TIMEZONE": JAPAN_ZONE_NAME,
    "BABEL_TRANSLATION_DIRECTORIES": str(TRANSLATIONS_FOLDER),
    "WTF_CSRF_TIME_LIMIT": None,
    # Flask-WTF's HTTPS referrer check cannot pass: every page sends Referrer-Policy: no-referrer.
    "WTF_CSRF_SSL_STRICT": False,
    "OAUTH2_SCOPES_SUPPORTED": ["openid", "profile", "address", "email"],
    "MAX_CONTENT_LENGTH": 64 * 1024,
}

LANGUAGES = ("ja", "en")

PRODUCTION_REFUSAL = (
    "the development ID provider must never run in production (PORTAL_ENV=production): "
    "it signs anyone in with a demo PIN. Configure the portal with your real OpenID Connect "
    "provider instead (PORTAL_OIDC_DISCOVERY_URL)."
)


def defaults() -> dict[str, Any]:
    return deepcopy(DEFAULTS)


def finalize(config: dict[str, Any], instance_path: Path) -> None:
    """Normalise types, fill the defaults that depend on the instance path, check clients."""
    config["ENV"] = str(config.get("ENV") or "development")
    config["DEVIDP_ISSUER"] = str(config["DEVIDP_ISSUER"]).rstrip("/")
    config["DEVIDP_KEY_DIR"] = str(config.get("DEVIDP_KEY_DIR") or instance_path / "devidp")
    for key in (
        "DEVIDP_ID_TOKEN_LIFETIME",
        "DEVIDP_ACCESS_TOKEN_LIFETIME",
        "DEVIDP_CODE_LIFETIME",
        "DEVIDP_PIN_ATTEMPTS",
        "DEVIDP_LOCK_SECONDS",
        "DEVIDP_LOAD_PERSONAS",
    ):
        config[key] = int(config[key])
    config["DEVIDP_CLAIMS_IN_USERINFO_ONLY"] = _boolean(
        "DEVIDP_CLAIMS_IN_USERINFO_ONLY", config["DEVIDP_CLAIMS_IN_USERINFO_ONLY"]
    )
    if config["DEVIDP_PIN_ATTEMPTS"] < 1:
        raise ValueError("DEVIDP_PIN_ATTEMPTS must be at least 1")
    if not 0 <= config["DEVIDP_LOAD_PERSONAS"] <= LOAD_PERSONAS_MAX:
        raise ValueError(f"DEVIDP_LOAD_PERSONAS must be between 0 and {LOAD_PERSONAS_MAX}")
    config["OAUTH2_TOKEN_EXPIRES_IN"] = {
        "authorization_code": config["DEVIDP_ACCESS_TOKEN_LIFETIME"]
    }
    if config.get("DEVIDP_CLIENTS") is None:
        config["DEVIDP_CLIENTS"] = [development_client(str(config["DEVIDP_PORTAL_URL"]))]
    _check_clients(config["DEVIDP_CLIENTS"])
    if config.get("SECRET_KEY") is not None:
        config["SECRET_KEY"] = str(config["SECRET_KEY"])


def _boolean(name: str, value: Any) -> bool:
    """``from_prefixed_env`` reads ``true``/``false`` as JSON; accept ``1``/``0`` too."""
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("1", "true", "yes"):
        return True
    if str(value).lower() in ("0", "false", "no", ""):
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}")


def _check_clients(clients: Any) -> None:
    """Fail at start-up, with the setting's name, rather than at the first sign-in."""
    if not isinstance(clients, list) or not clients:
        raise ValueError("DEVIDP_CLIENTS must be a non-empty list of clients")
    seen: set[str] = set()
    for client in clients:
        if not isinstance(client, dict):
            raise ValueError("DEVIDP_CLIENTS: every client must be an object")
        for key in ("client_id", "client_secret"):
            if not isinstance(client.get(key), str) or not client[key]:
                raise ValueError(f"DEVIDP_CLIENTS: every client needs a {key}")
        uris = client.get("redirect_uris")
        if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
            raise ValueError(f"DEVIDP_CLIENTS: {client['client_id']} needs redirect_uris")
        if client["client_id"] in seen:
            raise ValueError(f"DEVIDP_CLIENTS: {client['client_id']} is listed twice")
        seen.add(client["client_id"])
