"""Loads the Lua scripts in engine/lua/ (each prefixed by prelude.lua) onto one connection."""
from __future__ import annotations

from pathlib import Path

import redis

from . import histogram

LUA_DIR = Path(__file__).parent / "lua"


def _source(name: str) -> str:
    prelude = (LUA_DIR / "prelude.lua").read_text()
    for token, value in (("__HIST_BASE__", histogram.BASE), ("__KEEP_MINUTES_S__", histogram.KEEP_MINUTES_S),
                         ("__KEEP_HOURS_S__", histogram.KEEP_HOURS_S)):
        prelude = prelude.replace(token, str(value))
    return prelude + "\n" + (LUA_DIR / f"{name}.lua").read_text()


class Scripts:
    """Registered scripts; redis-py reloads them by itself after a server restart (NOSCRIPT)."""

    NAMES = ("enqueue", "dequeue", "complete", "fail", "dlq_retry", "remove", "heartbeat", "reap")

    def __init__(self, conn: redis.Redis):
        for name in self.NAMES:
            setattr(self, name, conn.register_script(_source(name)))
