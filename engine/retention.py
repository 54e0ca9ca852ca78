"""Retention: trims every structure the engine writes once its retention has passed.

Run by the periodic maintenance of every worker and the scheduler (engine/worker.py maintain).
Job hashes and their lists, metric buckets, claims and worker hashes expire by their own TTLs;
this pass removes the members of sorted sets and streams that point past their retention:
RQ's finished and failed registries, rate logs, dead workers, old failure groups and audit entries.
Dead-letter entries are kept until an operator deletes or retries them.
"""
from __future__ import annotations

from . import keys
from .app import Engine
from .audit import KEEP_MS as AUDIT_KEEP_MS

BUDGET = 1000  # members per structure per Lua call: each call stays ~1 ms
MAX_CALLS = 5  # per maintenance pass; a backlog is worked off over the next passes


def worker_stale_ms(eng: Engine) -> int:
    """A worker that has not heartbeaten for three leases is dead (its hash expired by then)."""
    return 3 * eng.settings.lease_ms


def trim(eng: Engine, *, budget: int = BUDGET, max_calls: int = MAX_CALLS) -> int:
    """One retention pass: up to `max_calls` bounded Lua calls while work remains. Returns members removed."""
    names = eng.table.names
    group_keep_ms = max(p.keep_failed_s for p in eng.table) * 1000  # a group spans queues
    calls = []
    for group in ([[q] for q in names] if keys.cluster() else [names]):  # cluster mode: one call per queue slot
        script_keys: list[str] = []
        for q in group:
            script_keys += [keys.finished(q), keys.failed(q), keys.rate_log(q), keys.control(q)]
        q = group[0]
        script_keys += [keys.unused(q), keys.failure_groups(q), keys.failure_groups_cursor(q), keys.audit(q)] \
            if keys.cluster() else [keys.WORKERS, keys.FAILURE_GROUPS, keys.FAILURE_GROUPS_TRIM_CURSOR, keys.AUDIT]
        calls.append((script_keys, [len(group), budget, keys.job(""), keys.attempts(""), keys.job_log(""),
                                    keys.failure_group("", q), keys.dlq_group("", q), worker_stale_ms(eng),
                                    group_keep_ms, AUDIT_KEEP_MS, *(eng.settings.rate_window_ms for _ in group)]))
    if keys.cluster():  # the worker registry and the operators' audit stream, each in its own slot
        for workers, audit in ((keys.WORKERS, None), (None, keys.AUDIT)):
            other = keys.unused(workers or audit)  # trim.lua's other KEYS, never written, in the same slot
            calls.append(([workers or other, other, other, audit or other],
                          [0, budget, "", "", "", other, other, worker_stale_ms(eng), group_keep_ms, AUDIT_KEEP_MS]))
    return sum(_trim(eng, script_keys, args, max_calls) for script_keys, args in calls)


def _trim(eng: Engine, script_keys: list[str], args: list, max_calls: int) -> int:
    removed = 0
    for _ in range(max_calls):
        count, more = eng.scripts.trim(keys=script_keys, args=args)
        removed += int(count)
        if not int(more):
            break
    return removed
