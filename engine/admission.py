"""Admission control at memory full: the enqueue high-water mark, in bytes.

The enqueue Lua step compares the server's `used_memory` (INFO memory, read inside the step, so the
decision and the write are one atomic step) with this mark and refuses before writing anything.
The mark is `memory_high_water_ratio` of the server's `maxmemory`, read from INFO memory (which
managed servers allow where CONFIG is disabled) at most every REFRESH_S; 0, no check, when the server
has no maxmemory. Above maxmemory the server's own OOM refusal of the step's first write is the hard stop.
"""
from __future__ import annotations

import threading
import time

import redis

from .connection import on_every_master

REFRESH_S = 5.0


class HighWater:
    def __init__(self, conn: redis.Redis, ratio: float, *, refresh_s: float = REFRESH_S):
        self.conn, self.ratio, self.refresh_s = conn, ratio, refresh_s
        self._lock = threading.Lock()
        self._mark = 0
        self._next = 0.0

    def mark_bytes(self) -> int:
        """The mark (0 = none), from a maxmemory read at most refresh_s ago."""
        now = time.monotonic()
        if now >= self._next:
            with self._lock:
                if now >= self._next:
                    # cluster mode: the smallest master's, so the mark holds on every one
                    limits = [int(m) for m in on_every_master(self.conn, lambda c: c.info("memory").get("maxmemory", 0))]
                    maxmemory = min((m for m in limits if m), default=0)
                    self._mark = int(maxmemory * self.ratio) if maxmemory else 0
                    self._next = now + self.refresh_s
        return self._mark

    def forget(self) -> None:
        """Read maxmemory again on the next enqueue (after CONFIG SET maxmemory, say)."""
        self._next = 0.0
