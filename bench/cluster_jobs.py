"""The cluster failover scenario's job (bench/cluster_failover.py): records its run beside its queue's keys.

Its side-effect keys carry the queue's hash tag, so they live on the queue's shard and share its fate in a
failover, as the Sentinel scenario's side effects share the one server's."""
from __future__ import annotations

import time
from typing import Any

from engine import jobctx


def done_key(queue: str) -> str:
    """Jobs whose side effect ran: member job id, score the (wall clock) time it ran."""
    return f"bench:cf:done:{{{queue}}}"


def runs_key(queue: str) -> str:
    """Runs per job id (more than one: a run redelivered after its completion was lost)."""
    return f"bench:cf:runs:{{{queue}}}"


def count(pause_ms: int = 0, **_data: Any) -> dict[str, Any]:
    ctx = jobctx.current()
    if ctx is None:
        raise RuntimeError("bench.cluster_jobs.count runs only inside a worker")
    if pause_ms:
        time.sleep(pause_ms / 1000)
    conn = ctx.engine.conn
    conn.zadd(done_key(ctx.queue), {ctx.job_id: time.time()})
    conn.hincrby(runs_key(ctx.queue), ctx.job_id, 1)
    return {"counted": ctx.job_id}
