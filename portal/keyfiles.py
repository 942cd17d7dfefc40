"""Files of secrets the portal makes for itself (signing keys, salts): written for their
owner only and whole, and told apart by their stamp so that what was parsed from them is
parsed again only when they change."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_private(path: Path, data: bytes, *, keep_existing: bool = False) -> bool:
    """Write ``data`` to a file only its owner reads (0600), atomically: a reader never sees
    half of it. With ``keep_existing`` a file already there (another process made it first)
    is kept. True when ``data`` is what the file now holds."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if not keep_existing:
            os.replace(temporary, path)
            return True
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)


def stamp(path: Path) -> tuple[int, int]:
    """The file's version as far as a cache needs it: its modification time and size."""
    status = path.stat()
    return status.st_mtime_ns, status.st_size
