"""Runtime control of a queue, persisted in Redis and read by every worker on each dequeue."""
from __future__ import annotations

from typing import Any

from . import keys
from .app import Engine, resolve
from .clock import server_ms
from .errors import ValidationError


def _wake(eng: Engine, queue: str) -> None:
    pipe = eng.conn.pipeline(transaction=False)
    pipe.lpush(keys.wake(queue), "1")
    pipe.ltrim(keys.wake(queue), 0, 999)
    pipe.execute()


def pause(queue: str, *, engine: Engine | None = None) -> None:
    """No new starts on the queue; running jobs finish and enqueueing still works."""
    eng = resolve(engine)
    eng.table[queue]
    eng.conn.hset(keys.control(queue), "paused", "1")


def resume(queue: str, *, engine: Engine | None = None) -> None:
    eng = resolve(engine)
    eng.table[queue]
    eng.conn.hset(keys.control(queue), "paused", "0")
    _wake(eng, queue)


def set_rate_limit(queue: str, limit: int, *, window_ms: int | None = None, engine: Engine | None = None) -> None:
    """Change the queue's limit (starts per rolling window) for every worker, within one dequeue."""
    eng = resolve(engine)
    eng.table[queue]
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1_000_000:
        raise ValidationError("limit", "must be a whole number from 1 to 1000000")
    mapping: dict[str, Any] = {"limit": limit}
    if window_ms is not None:
        if not isinstance(window_ms, int) or not 100 <= window_ms <= 86_400_000:
            raise ValidationError("window_ms", "must be a whole number of ms from 100 to 86400000")
        mapping["window_ms"] = window_ms
    eng.conn.hset(keys.control(queue), mapping=mapping)
    _wake(eng, queue)


def reset_rate_limit(queue: str, *, engine: Engine | None = None) -> None:
    """Back to the queue table's limit."""
    eng = resolve(engine)
    eng.table[queue]
    eng.conn.hdel(keys.control(queue), "limit", "window_ms")
    _wake(eng, queue)


def state(queue: str, *, engine: Engine | None = None) -> dict[str, Any]:
    """Paused flag, effective limit and window, starts used in the current window, back-pressure left."""
    eng = resolve(engine)
    policy = eng.table[queue]
    now_ms = server_ms(eng.conn)
    pipe = eng.conn.pipeline(transaction=False)
    pipe.hmget(keys.control(queue), ["paused", "limit", "window_ms"])
    pipe.pttl(keys.pressure(queue))
    paused, limit, window = pipe.execute()[0]
    window_ms = int(window or eng.settings.rate_window_ms)
    pipe.zcount(keys.rate_log(queue), f"({now_ms - window_ms}", "+inf")
    pipe.pttl(keys.pressure(queue))
    used, pressure_ms = pipe.execute()
    return {
        "paused": paused == b"1",
        "rate_limit": int(limit or policy.rate_limit_per_min),
        "rate_window_s": window_ms / 1000,
        "rate_used": used,
        "back_pressure_s": max(0, pressure_ms) / 1000 if pressure_ms and pressure_ms > 0 else 0.0,
    }

