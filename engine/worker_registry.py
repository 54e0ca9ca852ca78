"""Our workers in RQ's worker registry, so that `rq info` (and rq-dashboard) list them with their queues.

A worker's hash is RQ's `rq:worker:<name>` with the fields rq.worker.Worker.refresh reads plus the
engine's (keys.WorkerField). Its key is in RQ's `rq:workers` set and in `rq:workers:<q>` for each RQ
queue it serves (the three priority lists of each engine queue). Written once at start, refreshed by
the heartbeat (lua/heartbeat.lua: last_heartbeat, state, a TTL of three leases), removed at stop. A
killed worker's hash expires, so RQ no longer lists it; the next worker to start on its queues drops
its key from the sets. Nothing here runs per job.
"""
from __future__ import annotations

import os
import socket
import sys

import rq

from . import keys
from .app import Engine
from .clock import ms_to_rq, server_ms

F = keys.WorkerField


def _sets(name: str, queues: list[str]) -> list[str]:
    return [keys.RQ_WORKERS, *(keys.rq_workers(rq_q) for q in queues for rq_q in keys.rq_queue_names(q))]


def ttl_s(eng: Engine) -> int:
    """How long a worker hash outlives its last heartbeat: three leases."""
    return max(2, eng.settings.lease_ms * 3 // 1000)


def _prune(eng: Engine, registries: list[str]) -> None:
    """Drop the keys of workers whose hash expired (killed workers) from RQ's sets, so they never grow."""
    pipe = eng.conn.pipeline(transaction=False)
    for registry in registries:
        pipe.smembers(registry)
    members = pipe.execute()
    known = sorted({m for ms in members for m in ms})
    for key in known:
        pipe.exists(key)
    gone = {key for key, alive in zip(known, pipe.execute() if known else []) if not alive}
    for registry, ms in zip(registries, members):
        if ms & gone:
            pipe.srem(registry, *(ms & gone))
    if gone:
        pipe.execute()


def register(eng: Engine, name: str, queues: list[str]) -> None:
    """Write the worker hash and add it to RQ's worker sets (one pipelined round trip), after dropping
    the entries of workers killed since (RQ drops those only from `rq:workers`, and only when read)."""
    _prune(eng, _sets(name, queues))
    now_ms = server_ms(eng.conn)
    key = keys.worker(name)
    pipe = eng.conn.pipeline(transaction=True)
    pipe.hset(key, mapping={
        F.QUEUES: ",".join(queues), F.PID: os.getpid(), F.HOSTNAME: socket.gethostname(),
        F.BIRTH: ms_to_rq(now_ms), F.LAST_HEARTBEAT: ms_to_rq(now_ms), F.STATE: "idle", F.CURRENT_JOB: "",
        F.VERSION: rq.__version__, F.PYTHON_VERSION: sys.version, F.STARTED_MS: now_ms, F.HEARTBEAT_MS: now_ms})
    pipe.expire(key, ttl_s(eng))
    pipe.zadd(keys.WORKERS, {name: now_ms})
    for registry in _sets(name, queues):
        pipe.sadd(registry, key)
    pipe.execute()


def heartbeat(eng: Engine, name: str, member: str, queue: str) -> tuple[bool, int, int | None]:
    """Renew the running job's lease (if any) and the worker's liveness. Returns (known, server ms, the
    running job's cancel-request ms or None); known is False when the worker hash had expired (a long
    stall): the caller then registers again."""
    job_id = keys.parse_member(member)[0] if member else ""
    if keys.cluster():  # the lease is in the job's slot, the registry in its own: two steps, the lease first
        cancel_ms = None
        if member:
            _now, cancel_ms = eng.scripts.lease(keys=[keys.active(queue), keys.job(job_id)],
                                                args=[member, eng.settings.lease_ms, keys.CANCEL_REQUESTED_MS])
        registry = [keys.WORKERS, keys.WORKERS, keys.worker(name), keys.WORKERS]  # no lease part: member ''
        known, now_ms, _ = eng.scripts.heartbeat(keys=registry, args=["", eng.settings.lease_ms, name, ttl_s(eng),
                                                                      job_id, keys.CANCEL_REQUESTED_MS])
        return bool(known), int(now_ms), None if cancel_ms is None else int(cancel_ms)
    known, now_ms, cancel_ms = eng.scripts.heartbeat(
        keys=[keys.active(queue), keys.WORKERS, keys.worker(name), keys.job(job_id)],
        args=[member, eng.settings.lease_ms, name, ttl_s(eng), job_id, keys.CANCEL_REQUESTED_MS])
    return bool(known), int(now_ms), None if cancel_ms is None else int(cancel_ms)


def unregister(eng: Engine, name: str, queues: list[str]) -> None:
    """Remove the worker from our registry and RQ's."""
    key = keys.worker(name)
    pipe = eng.conn.pipeline(transaction=True)
    pipe.zrem(keys.WORKERS, name)
    pipe.delete(key)
    for registry in _sets(name, queues):
        pipe.srem(registry, key)
    pipe.execute()
