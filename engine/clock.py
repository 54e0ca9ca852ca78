"""Time in one place: the server's clock (every lease, due time and metric bucket is stamped with it)
and milliseconds since the epoch as ISO 8601 text."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo

import redis

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def server_ms(conn: redis.Redis) -> int:
    """The server's clock in milliseconds (one TIME call), so every process agrees on `now`."""
    seconds, micros = conn.time()
    return int(seconds) * 1000 + int(micros) // 1000


def ms_to_iso(ms: int | float | str | bytes | None, zone: tzinfo = timezone.utc) -> str | None:
    """ISO 8601 text of a millisecond timestamp in `zone` (UTC by default); None for a missing value or
    one no datetime can hold (a record written by another client), so a read never fails on it."""
    if ms is None or ms in ("", b""):
        return None
    try:
        return datetime.fromtimestamp(int(float(ms)) / 1000, zone).isoformat()
    except (ValueError, OverflowError, OSError):
        return None


def ms_to_rq(ms: int) -> str:
    """RQ's utcformat text of a millisecond timestamp (the Lua steps' rq_utc writes the same)."""
    return (_EPOCH + timedelta(milliseconds=int(ms))).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
