"""A time budget per request (the API sets one): once it has passed, no write is sent to the server.

A command sent to a frozen server sits in its socket buffer and runs when the server wakes, long
after the caller was told it failed. So with a budget set, a write is preceded by a PING bounded by
the time left: a server that does not answer never receives the write.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

import redis
from redis.cluster import RedisCluster

from .app import Engine
from .connection import refresh_slot_map
from .errors import ServerUnavailableError

_deadline: ContextVar[float | None] = ContextVar("engine_deadline", default=None)


@contextmanager
def budget(seconds: float) -> Iterator[None]:
    """Writes made inside the block (in this context) must be sent within `seconds` from now."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left in the current budget, or None when no budget is set."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def before_write(eng: Engine) -> None:
    """Raise ServerUnavailableError unless the budget (if any) leaves time and the server answers now."""
    left = remaining()
    if left is None:
        return
    if left <= 0:
        raise ServerUnavailableError("the request's time budget passed before the write; nothing was written")
    # cluster mode: the write's master is not known here, so every master must answer; one that does not
    # makes the slot map refresh (a crashed master's replica took its slots) and the masters are asked again
    if not isinstance(eng.conn, RedisCluster):
        _ping(eng.conn.connection_pool, max(0.001, remaining() or 0))
    else:
        try:
            _ping_masters(eng)
        except ServerUnavailableError:
            refresh_slot_map(eng.conn)
            _ping_masters(eng)
    if (remaining() or 0) <= 0:
        raise ServerUnavailableError("the request's time budget passed before the write; nothing was written")


def _ping_masters(eng: Engine) -> None:
    for node in eng.conn.get_primaries():
        _ping(node.redis_connection.connection_pool, max(0.001, remaining() or 0))


def _ping(pool, left: float) -> None:
    conn = None
    try:
        conn = pool.get_connection()  # (re)connecting talks to the server too
        conn.send_command("PING")
        conn.read_response(timeout=min(left, conn.socket_timeout or left))
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        if conn is not None:
            conn.disconnect()
        raise ServerUnavailableError(f"the server did not answer within the request's budget ({exc}); "
                                     "nothing was written") from exc
    finally:
        if conn is not None:
            pool.release(conn)
