"""Checking every planned job after the soak: completed exactly once or dead-lettered, none lost."""
from __future__ import annotations

import json
import time
from typing import Any, Callable

import redis

from bench import soak_jobs
from engine import keys

from .faults import Chaos
from .plan import QUEUES, PlannedJob

# a run whose completion the server refused (memory full, connection dropped) is run again
SERVER_ERRORS = {"OutOfMemoryError", "ConnectionError", "TimeoutError", "ResponseError", "BusyLoadingError",
                 "ServerUnavailableError"}


def _retrying(fn: Callable[[], Any], tries: int = 30) -> Any:
    for i in range(tries):
        try:
            return fn()
        except (redis.ConnectionError, redis.TimeoutError):
            if i == tries - 1:
                raise
            time.sleep(0.3)


def job_states(conn: redis.Redis, plan: dict[str, PlannedJob], ids: list[str], *, full: bool) -> dict[str, dict]:
    """Per id: done, status, dead-lettered (and with `full`: side-effect runs, duplicates, registry, runs, errors)."""
    out: dict[str, dict] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]

        def fetch() -> list:
            pipe = conn.pipeline(transaction=False)
            for job_id in chunk:
                pipe.sismember(soak_jobs.DONE, job_id)
                pipe.hmget(keys.job(job_id), "status", "jq_runs")
                pipe.exists(keys.dlq_entry(job_id))
                if full:
                    pipe.hget(soak_jobs.RUNS, job_id)
                    pipe.hget(soak_jobs.DUPLICATES, job_id)
                    pipe.zscore(keys.finished(plan[job_id].queue), job_id)
                    pipe.lrange(keys.attempts(job_id), 0, -1)
            return pipe.execute()

        raw = _retrying(fetch)
        step = 7 if full else 3
        for n, job_id in enumerate(chunk):
            r = raw[n * step:(n + 1) * step]
            status, jq_runs = r[1]
            state = {"done": bool(r[0]), "status": status.decode() if status else None,
                     "jq_runs": int(jq_runs or 0), "dlq": bool(r[2])}
            if full:
                state.update(side_effects=int(r[3] or 0), dups=int(r[4] or 0), in_finished=r[5] is not None,
                             errors=[json.loads(e) for e in r[6]])
            out[job_id] = state
    return out


def settled(conn: redis.Redis, plan: dict[str, PlannedJob], ids: list[str]) -> bool:
    states = job_states(conn, plan, ids, full=False)
    terminal = all((s["done"] and s["status"] == "finished") or s["dlq"] for s in states.values())
    busy = _retrying(lambda: sum(conn.zcard(keys.active(q)) for q in QUEUES))
    return terminal and busy == 0


def metric_totals(conn: redis.Redis, field_names: tuple[str, ...]) -> dict[str, int]:
    """Sums of the engine's minute-bucket counters for the soak's queues (every run counts in its minute
    bucket at once; hours and days are rolled up later). A fresh server: these are all of them."""
    totals = {f: 0 for f in field_names}
    for q in QUEUES:
        for key in conn.scan_iter(match=keys.metrics_prefix("m", q) + "*", count=1000):
            for f, v in zip(field_names, conn.hmget(key, *field_names)):
                totals[f] += int(v or 0)
    return totals


def foreign_finished(conn: redis.Redis) -> int:
    """Jobs finished on the soak's queues that are not soak jobs (e.g. a schedule's), so not in the plan."""
    return sum(1 for q in QUEUES for job_id in conn.zrange(keys.finished(q), 0, -1)
               if not job_id.decode().startswith("soak-"))


def residue(conn: redis.Redis) -> int:
    """Jobs still waiting, scheduled or running on the soak's queues."""
    pipe = conn.pipeline(transaction=False)
    for q in QUEUES:
        for p in keys.PRIORITIES:
            pipe.llen(keys.waiting(q, p))
        pipe.zcard(keys.scheduled(q))
        pipe.zcard(keys.active(q))
    return sum(pipe.execute())


def _died_worker(error: dict) -> str:
    # "worker <name> died or stopped heartbeating"
    parts = error.get("message", "").split()
    return parts[1] if len(parts) > 1 else ""


def verify(conn: redis.Redis, plan: dict[str, PlannedJob], acked: list[str], chaos: Chaos) -> dict[str, Any]:
    """Classify every planned job; the counts that go into the report."""
    states = job_states(conn, plan, list(plan), full=True)
    acked_set = set(acked)
    completed, dead, lost, dup = [], [], [], []
    reasons = {"sigkill_after_side_effect": 0, "lease_expired_worker_alive": 0, "server_refused_completion": 0,
               "unexplained": 0}
    redelivered_jobs = extra_runs = transient = died = 0
    for job_id, s in states.items():
        finished = s["done"] and s["status"] == "finished" and s["in_finished"]
        if s["dups"] or (finished and s["dlq"]):
            dup.append(job_id)
        if finished and not s["dlq"]:
            completed.append(job_id)
        elif s["dlq"] and s["status"] == "failed":
            dead.append(job_id)
        elif job_id in acked_set:
            lost.append(job_id)
        transient += any(e["type"] == "RuntimeError" for e in s["errors"])
        dying = [e for e in s["errors"] if e["type"] == "WorkerDiedError"]
        died += len(dying)
        if s["side_effects"] > 1:
            redelivered_jobs += 1
            extra_runs += s["side_effects"] - 1
            killed = [e for e in dying if _died_worker(e) in chaos.killed_workers]
            refused = [e for e in s["errors"] if e["type"] in SERVER_ERRORS]
            key = ("sigkill_after_side_effect" if killed else "lease_expired_worker_alive" if dying
                   else "server_refused_completion" if refused else "unexplained")
            reasons[key] += 1
    expected_dead = {j for j, p in plan.items() if p.kind == "permanent"}
    totals = metric_totals(conn, ("completed", "started"))
    finished_ids = [j for j, s in states.items() if s["status"] == "finished"]
    extra_completions = max(0, totals["completed"] - len(finished_ids) - foreign_finished(conn))
    return {
        "states": states, "completed": completed, "dead": dead, "lost": lost, "dup": dup,
        "reasons": reasons, "redelivered_jobs": redelivered_jobs, "extra_runs": extra_runs, "transient": transient,
        "died": died, "expected_dead": len([j for j in dead if j in expected_dead]),
        "unexpected_dead": len([j for j in dead if j not in expected_dead]),
        "completions": totals["completed"], "starts": totals["started"], "extra_completions": extra_completions,
        "runs_total": sum(s["jq_runs"] for s in states.values()),
    }


