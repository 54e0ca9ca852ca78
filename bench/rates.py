"""Steady-state drain rates: jobs finished / (last job's end - first job's start), read from the job
records (ours and RQ's both carry RQ's `started_at` and `ended_at`), so process start-up and the
last worker's exit are not counted, as in BullMQ's figure (bench/bullmq.py)."""
from __future__ import annotations

import redis
from rq.utils import utcparse


def steady_rate(url: str, expected: int, pattern: str = "rq:job:*", *, strict: bool = True) -> float:
    """The rate of the `expected` finished jobs on the server (a flushed one: every job is the drain's);
    with strict=False, of those that finished (the caller reports the others)."""
    conn = redis.Redis.from_url(url)
    ids = list(conn.scan_iter(match=pattern, count=5000))
    starts, ends = [], []
    for i in range(0, len(ids), 5000):
        pipe = conn.pipeline(transaction=False)
        for key in ids[i:i + 5000]:
            pipe.hmget(key, "status", "started_at", "ended_at")
        for status, started, ended in pipe.execute():
            if status == b"finished" and started and ended:
                starts.append(started.decode())
                ends.append(ended.decode())
    if strict and len(starts) != expected:
        raise RuntimeError(f"{len(starts)} finished jobs, expected {expected}")
    seconds = (utcparse(max(ends)) - utcparse(min(starts))).total_seconds()  # ISO text sorts as time
    return len(starts) / seconds
