"""PIN attempts and lockout, per persona, like the counter on a real My Number card.

A real card locks its user-authentication certificate after three wrong PINs until the holder
visits the municipal office; here the lock lifts after ``DEVIDP_LOCK_SECONDS`` so development
can go on. State is in memory: the provider is one development process.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from .personas import Persona


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


@dataclass
class _Counter:
    failures: int = 0
    locked_until: float = 0.0


class PinGuard:
    """Counts wrong PINs; the ``clock`` is replaceable so tests need not wait."""

    def __init__(
        self,
        attempts: int,
        lock_seconds: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.attempts = attempts
        self.lock_seconds = lock_seconds
        self.clock = clock
        self._counters: dict[str, _Counter] = {}
        self._lock = threading.Lock()

    def locked_seconds(self, persona_id: str) -> int:
        """Seconds until the persona's card unlocks; 0 when it is not locked."""
        with self._lock:
            counter = self._counters.get(persona_id)
            if counter is None:
                return 0
            return self._remaining(counter)

    def check(self, persona: Persona, pin: str) -> PinCheck:
        with self._lock:
            counter = self._counters.setdefault(persona.id, _Counter())
            remaining = self._remaining(counter)
            if remaining:
                return PinCheck(Outcome.LOCKED, 0, remaining)
            if hmac.compare_digest(pin.encode(), persona.pin.encode()):
                self._counters.pop(persona.id, None)
                return PinCheck(Outcome.ACCEPTED, self.attempts)
            counter.failures += 1
            if counter.failures >= self.attempts:
                counter.failures = 0
                counter.locked_until = self.clock() + self.lock_seconds
                return PinCheck(Outcome.LOCKED_NOW, 0, self.lock_seconds)
            return PinCheck(Outcome.WRONG, self.attempts - counter.failures)

    def _remaining(self, counter: _Counter) -> int:
        return max(0, math.ceil(counter.locked_until - self.clock()))
