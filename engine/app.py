"""The Engine object: settings, the server connection and the queue table, built once at the edge."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property

import redis

from .bucket_cache import ClosedBuckets
from .connection import connect
from .hooks import Hooks, load_hooks
from .loading import load_object
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
        """The engine of ENGINE_QUEUES's table (with QUEUE_OVERRIDES) on the configured server."""
        settings = settings or Settings()
        table = table_from_settings(settings)  # a bad table fails before any connection is made
        hooks = load_hooks(settings.engine_hooks)
        return cls(settings, connect(settings, check=check), table, hooks)

    @cached_property
    def scripts(self):
        from .scripts import Scripts

        return Scripts(self.conn)

    @cached_property
    def job_log(self):
        """The batched writer of running jobs' log lines (engine/joblog.py)."""
        from .joblog import LogWriter

        return LogWriter(self.conn)

    @cached_property
    def high_water(self):
        """The enqueue high-water mark (engine/admission.py)."""
        from .admission import HighWater

        return HighWater(self.conn, self.settings.memory_high_water_ratio)

    @cached_property
    def closed_buckets(self) -> ClosedBuckets:
        """Metric buckets that can no longer change, cached for this engine's server (engine/metrics.py)."""
        return ClosedBuckets()


def table_from_settings(settings: Settings) -> QueueTable:
    """The queue table ENGINE_QUEUES names, with QUEUE_OVERRIDES applied; ConfigError when it does not load."""
    return QueueTable.build(load_object(settings.engine_queues, "ENGINE_QUEUES"), settings.queue_overrides)


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
