"""Stored certificates: one file each, under ``CERTIFICATE_DIR``, outside the web root.

A file is written to a temporary name in the same folder, flushed to disk, then renamed over
its final name: a reader (a download, a crash mid-write) never sees half a certificate. The
name is random, and the file is removed again if the transaction that records it rolls back.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from flask import current_app

from portal.db import db
from portal.journey.files import delete_after_rollback


def certificate_dir() -> Path:
    configured = current_app.config.get("CERTIFICATE_DIR")
    return Path(configured or Path(current_app.instance_path) / "certificates")


def new_storage_name() -> str:
    return f"{secrets.token_hex(16)}.pdf"


def path_of(storage_name: str) -> Path:
    return certificate_dir() / storage_name


def store(storage_name: str, data: bytes) -> Path:
    """Write ``data`` atomically; removed again if the current transaction rolls back."""
    folder = certificate_dir()
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / storage_name
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".writing-", suffix=".pdf")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, final)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    delete_after_rollback(db.session(), final)
    return final


def read(storage_name: str) -> bytes:
    return path_of(storage_name).read_bytes()
