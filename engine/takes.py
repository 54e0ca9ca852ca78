"""The dequeue step's calls of one worker: one for all its queues, or in cluster mode one per queue (a
queue's keys share one slot; no script spans slots), tried in the worker's queue order."""
from __future__ import annotations

from typing import Any

from . import keys
from .app import Engine


def dequeue_call(eng: Engine, worker_name: str, queues: list[str]) -> tuple[list[str], list[Any]]:
    """dequeue.lua's KEYS and ARGV for `queues`."""
    script_keys: list[str] = []
    for q in queues:
        script_keys += [keys.waiting(q, p) for p in keys.PRIORITIES] + [
            keys.scheduled(q), keys.active(q), keys.rate_log(q), keys.control(q), keys.pressure(q)]
    # cluster mode: the worker hash is in another slot; the heartbeat sets its current_job instead
    worker_key = "" if keys.cluster() else keys.worker(worker_name)
    args: list[Any] = [worker_name, eng.settings.lease_ms, keys.job(""), len(queues), worker_key]
    for q in queues:
        policy = eng.table[q]
        pace_ms = int(policy.key_limit[1] * 1000) if policy.key_limit else 0
        args += [q, policy.rate_limit_per_min, eng.settings.rate_window_ms, keys.metrics_prefix("m", q),
                 pace_ms, keys.pace_prefix(q)]
    return script_keys, args


def take(direct, script, calls: list[tuple[list[str], list[Any]]]) -> list:
    """The first job any call takes, in order; else {'', the shortest wake-up, held by any}."""
    if len(calls) == 1:
        return direct(script, *calls[0])
    wake, held = 1000, 0
    for script_keys, args in calls:
        taken = direct(script, script_keys, args)
        if taken[0] != b"":
            return taken
        wake, held = min(wake, int(taken[1])), max(held, int(taken[2]))
    return [b"", wake, held]
