"""The per-engine cache of metric buckets that can no longer change (read by engine/metrics.py)."""
from __future__ import annotations

import threading
from typing import Any


class ClosedBuckets:
    """Per-process cache of metric buckets that can no longer change: a minute bucket once its minute
    is over (workers stamp writes with the server's clock), an hour bucket once every minute of it has
    been rolled up. Repeated monitoring reads (a dashboard refreshing) then fetch only open buckets."""

    GRACE_S = 2

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._store: dict[tuple[str, str, int], Any] = {}

    def get(self, key: tuple[str, str, int]) -> Any | None:
        with self._lock:
            return self._store.get(key)

    def put(self, key: tuple[str, str, int], summary: Any) -> None:
        with self._lock:
            self._store[key] = summary

    def forget_before(self, oldest_s: int) -> None:
        with self._lock:
            for key in [k for k in self._store if k[2] < oldest_s]:
                del self._store[key]
