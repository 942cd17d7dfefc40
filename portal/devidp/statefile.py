"""The provider's changing state in one SQLite file beside its keys, shared by its processes.

Like the keys, it lives in ``DEVIDP_KEY_DIR``: every worker of one provider reads the same
codes, tokens and PIN counts, so a code issued by one worker is redeemed at another.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FILENAME = "state.sqlite3"


class StateFile:
    def __init__(self, key_dir: str | os.PathLike[str], schema: str) -> None:
        self.path = Path(key_dir) / FILENAME
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path.touch(mode=0o600, exist_ok=True)
        database = sqlite3.connect(self.path, timeout=10)
        try:
            database.executescript(schema)  # CREATE ... IF NOT EXISTS: safe for every process
        finally:
            database.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection per use (threads and processes alike) holding the write lock, so a
        read and the write that depends on it are never split by another process."""
        database = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            database.execute("BEGIN IMMEDIATE")
            try:
                yield database
            except BaseException:
                database.execute("ROLLBACK")
                raise
            database.execute("COMMIT")
        finally:
            database.close()
