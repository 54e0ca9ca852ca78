"""The Engine object: settings, the server connection and the queue table, built once at the edge."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property

import redis

from .connection import connect
from .hooks import Hooks, load_hooks
from .queues import QueueTable
from .settings import Settings


@dataclass
class Engine:
    settings: Settings
    conn: redis.Redis
    table: QueueTable
    hooks: Hooks = field(default_factory=Hooks)  # ENGINE_HOOKS, loaded once; used by workers, reaper, scheduler

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, check: bool = True) -> "Engine":
        settings = settings or Settings()
        table, hooks = QueueTable.build(settings.queue_overrides), load_hooks(settings.engine_hooks)
        return cls(settings, connect(settings, check=check), table, hooks)

    @cached_property
    def scripts(self):
        from .scripts import Scripts

        return Scripts(self.conn)

    @cached_property
    def closed_buckets(self):
        """Metric buckets that can no longer change, cached for this engine's server (engine/metrics.py)."""
        from .metrics import ClosedBuckets

        return ClosedBuckets()


_default: Engine | None = None
_lock = threading.Lock()


def default_engine() -> Engine:
    """The process-wide engine built from the environment, for callers that do not pass one."""
    global _default
    with _lock:
        if _default is None:
            _default = Engine.from_settings()
        return _default


def set_default_engine(engine: Engine | None) -> None:
    global _default
    with _lock:
        _default = engine


def resolve(engine: Engine | None) -> Engine:
    return engine if engine is not None else default_engine()
