"""PIN attempts and lockout, per persona, like the counter on a real My Number card.

A real card locks its user-authentication certificate after three wrong PINs until the holder
visits the municipal office; here the lock lifts after ``DEVIDP_LOCK_SECONDS`` so development
can go on. The counts are kept in the provider's state file (``statefile``), which every
process of the provider shares: two workers do not give six tries.
"""

from __future__ import annotations

import hmac
import math
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from .personas import Persona
from .statefile import StateFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS pin_counters (
    persona_id TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    locked_until REAL NOT NULL
);
"""


class Outcome(Enum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    #: This attempt used up the tries: the card has just been locked.
    LOCKED_NOW = "locked_now"
    #: The card was already locked; the PIN was not even compared.
    LOCKED = "locked"


@dataclass(frozen=True)
class PinCheck:
    outcome: Outcome
    tries_left: int
    locked_seconds: int = 0

    @property
    def accepted(self) -> bool:
        return self.outcome is Outcome.ACCEPTED

    @property
    def locked_minutes(self) -> int:
        return max(1, math.ceil(self.locked_seconds / 60))


class PinGuard:
    """Counts wrong PINs where all processes see them; the ``clock`` (wall time, which the
    processes agree on) is replaceable so tests need not wait."""

    def __init__(
        self,
        key_dir: str | os.PathLike[str],
        attempts: int,
        lock_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.file = StateFile(key_dir, SCHEMA)
        self.attempts = attempts
        self.lock_seconds = lock_seconds
        self.clock = clock

    def locked_seconds(self, persona_id: str) -> int:
        """Seconds until the persona's card unlocks; 0 when it is not locked."""
        with self.file.transaction() as database:
            return self._remaining(self._read(database, persona_id)[1])

    def check(self, persona: Persona, pin: str) -> PinCheck:
        # One write transaction from reading the count to writing it: no other process can
        # compare a PIN in between.
        with self.file.transaction() as database:
            failures, locked_until = self._read(database, persona.id)
            remaining = self._remaining(locked_until)
            if remaining:
                return PinCheck(Outcome.LOCKED, 0, remaining)
            if hmac.compare_digest(pin.encode(), persona.pin.encode()):
                database.execute("DELETE FROM pin_counters WHERE persona_id = ?", (persona.id,))
                return PinCheck(Outcome.ACCEPTED, self.attempts)
            failures += 1
            if failures >= self.attempts:
                self._write(database, persona.id, 0, self.clock() + self.lock_seconds)
                return PinCheck(Outcome.LOCKED_NOW, 0, self.lock_seconds)
            self._write(database, persona.id, failures, 0.0)
            return PinCheck(Outcome.WRONG, self.attempts - failures)

    @staticmethod
    def _read(database: sqlite3.Connection, persona_id: str) -> tuple[int, float]:
        row = database.execute(
            "SELECT failures, locked_until FROM pin_counters WHERE persona_id = ?", (persona_id,)
        ).fetchone()
        return (int(row[0]), float(row[1])) if row else (0, 0.0)

    @staticmethod
    def _write(
        database: sqlite3.Connection, persona_id: str, failures: int, locked_until: float
    ) -> None:
        database.execute(
            "INSERT INTO pin_counters (persona_id, failures, locked_until) VALUES (?, ?, ?)"
            " ON CONFLICT (persona_id) DO UPDATE"
            " SET failures = excluded.failures, locked_until = excluded.locked_until",
            (persona_id, failures, locked_until),
        )

    def _remaining(self, locked_until: float) -> int:
        return max(0, math.ceil(locked_until - self.clock()))
