"""The provider's secrets on disk: RSA signing keys, the pairwise salt and the session secret.

Everything lives in one directory (``DEVIDP_KEY_DIR``) as files readable by the owner only, and
is created on first use. The files are read again on every use, so ``rotate-key`` takes effect
in a running provider without a restart; parsing is cached by file name and modification time.
"""

from __future__ import annotations

import os
import secrets
import threading
from functools import lru_cache
from pathlib import Path

from joserfc.jwk import RSAKey

from portal import keyfiles
from portal.japan.clock import utcnow

SIGNING_PREFIX = "signing-"
SIGNING_SUFFIX = ".pem"
SALT_FILE = "pairwise-salt"
SECRET_KEY_FILE = "secret-key"
#: Published keys: the newest signs, the one before it still verifies tokens in flight.
PUBLISHED_KEYS = 2
ALGORITHM = "RS256"
KEY_SIZE = 2048
_STAMP_FORMAT = "%Y%m%d%H%M%S%f"

_lock = threading.Lock()


def ensure_keys(key_dir: str | os.PathLike[str]) -> list[str]:
    """Create the directory, a signing key and the pairwise salt if missing; return the kids.

    Idempotent: existing files are never touched. Kids are listed newest first.
    """
    directory = _directory(key_dir)
    with _lock:
        if not _signing_key_paths(directory):
            _generate_signing_key(directory)
    pairwise_salt(directory)
    return [
        _load_key(str(path), *keyfiles.stamp(path)).kid or ""
        for path in _signing_key_paths(directory)
    ]


def rotate_signing_key(key_dir: str | os.PathLike[str]) -> str:
    """Add a new signing key, which signs from now on; return its kid.

    Older key files are kept (JWKS publishes the newest two), so a token signed just before
    the rotation still verifies.
    """
    directory = _directory(key_dir)
    with _lock:
        path = _generate_signing_key(directory)
    return _load_key(str(path), *keyfiles.stamp(path)).kid or ""


def signing_key(key_dir: str | os.PathLike[str]) -> RSAKey:
    """The newest private key, with ``kid`` (its RFC 7638 thumbprint), ``alg`` and ``use``."""
    directory = _directory(key_dir)
    paths = _signing_key_paths(directory)
    if not paths:
        ensure_keys(directory)
        paths = _signing_key_paths(directory)
    return _load_key(str(paths[0]), *keyfiles.stamp(paths[0]))


def public_jwks(key_dir: str | os.PathLike[str]) -> dict[str, list[dict[str, object]]]:
    """The JWK Set to publish: the public parts of the newest two signing keys."""
    signing_key(key_dir)  # creates the first key if there is none yet
    paths = _signing_key_paths(_directory(key_dir))[:PUBLISHED_KEYS]
    keys = [
        dict(_load_key(str(path), *keyfiles.stamp(path)).as_dict(private=False)) for path in paths
    ]
    return {"keys": keys}


def pairwise_salt(key_dir: str | os.PathLike[str]) -> bytes:
    """The secret that makes pairwise subjects unguessable; created once, never changed.

    Changing it would give every person a new ``sub`` at every client.
    """
    path = _directory(key_dir) / SALT_FILE
    if not path.exists():
        keyfiles.write_private(path, secrets.token_hex(32).encode("ascii"), keep_existing=True)
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


def secret_key(key_dir: str | os.PathLike[str]) -> str:
    """The Flask session secret used when ``SECRET_KEY`` is not configured; created once."""
    path = _directory(key_dir) / SECRET_KEY_FILE
    if not path.exists():
        keyfiles.write_private(path, secrets.token_urlsafe(48).encode("ascii"), keep_existing=True)
    return path.read_text(encoding="ascii").strip()


def _directory(key_dir: str | os.PathLike[str]) -> Path:
    directory = Path(key_dir)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def _signing_key_paths(directory: Path) -> list[Path]:
    """Signing key files, newest first (the name starts with a fixed-width UTC time stamp)."""
    paths = [
        path for path in directory.glob(f"{SIGNING_PREFIX}*{SIGNING_SUFFIX}") if path.is_file()
    ]
    return sorted(paths, key=lambda path: path.name, reverse=True)


def _generate_signing_key(directory: Path) -> Path:
    stamp = int(utcnow().strftime(_STAMP_FORMAT))
    existing = _signing_key_paths(directory)
    if existing:
        # Keep names strictly increasing even for two rotations within a microsecond.
        newest = existing[0].name.removeprefix(SIGNING_PREFIX).split("-", 1)[0]
        if newest.isdigit():
            stamp = max(stamp, int(newest) + 1)
    name = f"{SIGNING_PREFIX}{stamp:020d}-{secrets.token_hex(4)}{SIGNING_SUFFIX}"
    key = RSAKey.generate_key(KEY_SIZE, private=True)
    path = directory / name
    keyfiles.write_private(path, key.as_pem(private=True), keep_existing=True)
    return path


@lru_cache(maxsize=32)
def _load_key(path: str, mtime_ns: int, size: int) -> RSAKey:
    """Parse a PEM key once per file version (the extra arguments are the cache key)."""
    key = RSAKey.import_key(Path(path).read_bytes(), {"alg": ALGORITHM, "use": "sig"})
    key.ensure_kid()
    return key
