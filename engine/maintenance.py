"""Periodic duties any worker process (and the scheduler) runs: retention, reaping, roll-up, index trim."""
from __future__ import annotations

from . import jobs, keys, metrics, retention, search_index
from .app import Engine
from .errors import WorkerDiedError
from .failures import handle_failure
from .hooks import Hooks
from .oom import OomEpisode, OutOfMemory


_MAINTENANCE_OOM = OomEpisode("maintenance")


def maintain(eng: Engine, hooks: Hooks, worker_name: str, oom: OomEpisode | None = None) -> None:
    """Periodic duties any worker (and the scheduler) may do, all safe to run concurrently. A duty the
    full server refuses is skipped until the next pass; the ones that free memory still run."""
    oom = oom or _MAINTENANCE_OOM
    refused = False
    for where, duty in (("retention", lambda: retention.trim(eng)), ("reaping", lambda: reap(eng, hooks, worker_name)),
                        ("metrics roll-up", lambda: metrics.roll_up(engine=eng)),
                        ("index trim", lambda: search_index.trim(eng))):
        try:
            duty()
        except OutOfMemory as exc:
            oom.refused(where, exc)
            refused = True
    if not refused:
        oom.ok()


def reap(eng: Engine, hooks: Hooks, worker_name: str) -> int:
    """Recover runs whose lease expired: each counts as a failed run ("worker died")."""
    names = eng.table.names
    found: list = []
    for group in ([[q] for q in names] if keys.cluster() else [names]):  # cluster mode: one call per queue slot
        out = eng.scripts.reap(keys=[keys.active(q) for q in group])
        found += [(group[int(out[i]) - 1], out[i + 1].decode()) for i in range(0, len(out), 2)]
    recovered = 0
    for queue, member in found:
        job_id, holder = keys.parse_member(member)
        raw = eng.conn.hgetall(keys.job(job_id))
        if not raw:
            eng.conn.zrem(keys.active(queue), member)
            continue
        job = jobs.RunningJob.from_raw(eng, job_id, queue, raw)
        died = WorkerDiedError(f"worker {holder} died or stopped heartbeating")
        if handle_failure(eng, hooks, queue, job, member, died, job.fields, worker_name):
            recovered += 1
    return recovered
