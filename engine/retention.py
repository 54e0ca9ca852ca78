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
    script_keys: list[str] = []
    for q in names:
        script_keys += [keys.finished(q), keys.failed(q), keys.rate_log(q), keys.control(q)]
    script_keys += [keys.WORKERS, keys.FAILURE_GROUPS, keys.FAILURE_GROUPS_TRIM_CURSOR, keys.AUDIT]
    group_keep_ms = max(p.keep_failed_s for p in eng.table) * 1000  # a group spans queues
    args = [len(names), budget, keys.job(""), keys.attempts(""), keys.job_log(""), keys.failure_group(""),
            keys.dlq_group(""), worker_stale_ms(eng), group_keep_ms, AUDIT_KEEP_MS,
            *(eng.settings.rate_window_ms for _ in names)]
    removed = 0
    for _ in range(max_calls):
        count, more = eng.scripts.trim(keys=script_keys, args=args)
        removed += int(count)
        if not int(more):
            break
    return removed
