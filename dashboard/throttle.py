"""Log-in throttling per (client address, user name): a growing delay, never a lock-out.

Each wrong password from a client for a name makes that client wait longer before its next attempt
for that name (none for the first FREE_FAILURES, then BASE_DELAY_S doubling up to MAX_DELAY_S). An
attempt made after the wait is always checked, so the real user's correct password is accepted once
the wait has passed, and another client's wrong guesses never slow them down. No Streamlit here.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

FREE_FAILURES = 3
BASE_DELAY_S = 1.0
MAX_DELAY_S = 60.0
FORGET_AFTER_S = 900.0  # a (client, name) with no failure for this long starts afresh
MAX_ENTRIES = 10_000  # bounded memory under a spray of names or addresses


@dataclass
class _Record:
    failures: int
    last_failure: float


class LoginThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str], _Record] = {}

    @staticmethod
    def delay_after(failures: int) -> float:
        """The wait a client owes after `failures` consecutive wrong passwords for a name."""
        if failures < FREE_FAILURES:
            return 0.0
        return min(MAX_DELAY_S, BASE_DELAY_S * 2 ** (failures - FREE_FAILURES))

    def wait_s(self, client: str, name: str) -> float:
        """Seconds before this client may try this name again (0 when it may now)."""
        with self._lock:
            record = self._live(client, name)
            if record is None:
                return 0.0
            return max(0.0, record.last_failure + self.delay_after(record.failures) - self.clock())

    def failed(self, client: str, name: str) -> float:
        """Count a wrong password; returns the wait now owed."""
        now = self.clock()
        with self._lock:
            record = self._live(client, name) or _Record(0, now)
            record.failures += 1
            record.last_failure = now
            self._records[(client, name)] = record
            if len(self._records) > MAX_ENTRIES:
                self._prune(now)
            return self.delay_after(record.failures)

    def succeeded(self, client: str, name: str) -> None:
        with self._lock:
            self._records.pop((client, name), None)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def _live(self, client: str, name: str) -> _Record | None:
        record = self._records.get((client, name))
        if record is not None and self.clock() - record.last_failure > FORGET_AFTER_S + MAX_DELAY_S:
            del self._records[(client, name)]
            return None
        return record

    def _prune(self, now: float) -> None:
        stale = [k for k, r in self._records.items() if now - r.last_failure > FORGET_AFTER_S]
        for key in stale:
            del self._records[key]
        if len(self._records) > MAX_ENTRIES:  # still full: drop the oldest half
            for key, _ in sorted(self._records.items(), key=lambda kv: kv[1].last_failure)[:MAX_ENTRIES // 2]:
                del self._records[key]
