"""The design document's monitoring calls, in Python. Reads only: no call here moves a job.

get_all_metrics / get_queue_metrics answer from a fixed number of reads per queue (list lengths,
sorted-set counts, a few metric buckets), so they cost the same with 10 or 100,000 jobs.
"""
from __future__ import annotations

from typing import Any

from . import control, keys
from .app import Engine, resolve
from .clock import ms_to_iso, server_ms
from .connection import on_every_master
from .job_ops import get_job, list_jobs, remove_job, retry_job  # noqa: F401  (re-exported)
from .metrics import recent

__all__ = ["get_all_metrics", "get_queue_metrics", "get_failed_jobs", "retry_job", "get_job", "remove_job",
           "workers", "list_jobs", "conditions", "memory"]


def _now(eng: Engine) -> tuple[int, int]:
    now_ms = server_ms(eng.conn)
    return now_ms // 1000, now_ms


def workers(*, engine: Engine | None = None) -> list[dict[str, Any]]:
    """Live workers (heartbeat within three leases): queues, pid, host, current job, last heartbeat."""
    eng = resolve(engine)
    _, now_ms = _now(eng)
    alive_after = now_ms - 3 * eng.settings.lease_ms
    names = [n.decode() for n in eng.conn.zrangebyscore(keys.WORKERS, alive_after, "+inf")]
    pipe = eng.conn.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(keys.worker(name))
    out = []
    for name, raw in zip(names, pipe.execute()):
        if not raw:
            continue
        f = {k.decode(): v.decode() for k, v in raw.items()}
        F = keys.WorkerField
        out.append({"name": name, "queues": [q for q in f.get(F.QUEUES, "").split(",") if q],
                    "pid": int(f.get(F.PID) or 0), "host": f.get(F.HOSTNAME, ""),
                    "current_job": f.get(F.CURRENT_JOB) or None,
                    "last_heartbeat": ms_to_iso(f.get(F.HEARTBEAT_MS, 0)), "started": ms_to_iso(f.get(F.STARTED_MS, 0))})
    return out


def _queue_counts(eng: Engine, queue: str, now_s: int, now_ms: int) -> list:
    pipe = eng.conn.pipeline(transaction=False)
    for p in keys.PRIORITIES:
        pipe.llen(keys.waiting(queue, p))
    pipe.zcard(keys.active(queue))
    pipe.zcard(keys.scheduled(queue))
    pipe.zcount(keys.finished(queue), now_s, "+inf")
    pipe.zcount(keys.failed(queue), now_s, "+inf")
    pipe.zcard(keys.dlq_queue(queue))
    pipe.zcount(keys.dlq_queue(queue), now_ms - 3_600_000, "+inf")
    return pipe.execute()


def _sla(eng: Engine, queue: str, last_hour, last_day) -> dict[str, Any] | None:
    target = eng.table[queue].sla
    if target is None:
        return None
    limit_ms = target.start_within_s * 1000
    hour, day = last_hour.share_waiting_under(limit_ms), last_day.share_waiting_under(limit_ms)
    return {"start_within_s": target.start_within_s, "target_ratio": target.ratio,
            "compliance_last_hour": hour, "compliance_last_day": day,
            "breached": (hour is not None and hour < target.ratio) or (day is not None and day < target.ratio)}


def _minute_series(series: list) -> list[dict[str, Any]]:
    return [{"minute": ms_to_iso(s * 1000), "completed": r["completed"],
             "failed": r["failed"], "run_p95_ms": r["run_p95_ms"]} for s, r in series]


def conditions(*, dead_last_hour: int, sla: dict[str, Any] | None, workers: int, waiting: int) -> list[dict[str, Any]]:
    """The one definition of a queue's alert conditions, shown on the Overview and sent by engine/alerts.py:
    dead-letter growth, SLA breach, no live worker (`waiting` says whether jobs are stranded)."""
    found: list[dict[str, Any]] = []
    if dead_last_hour:
        found.append({"kind": "dead_letter_growth", "count": dead_last_hour,
                      "message": f"{dead_last_hour} new dead-letter entries in the last hour"})
    if sla and sla["breached"]:
        found.append({"kind": "sla_breach", "count": 0, "message": "SLA breached",
                      "compliance_last_hour": sla["compliance_last_hour"], "target_ratio": sla["target_ratio"]})
    if workers == 0:
        found.append({"kind": "no_workers", "count": waiting, "message": "no live workers"})
    return found


def memory(*, engine: Engine | None = None) -> dict[str, Any]:
    """The server's used_memory and maxmemory (INFO memory), and the high-water mark in bytes
    (memory_high_water_ratio of maxmemory; None when the server has no maxmemory). In cluster mode the
    fullest master's (the first to refuse enqueues)."""
    eng = resolve(engine)
    infos = on_every_master(eng.conn, lambda c: c.info("memory"))
    fill = [(int(i.get("used_memory", 0)) / (int(i.get("maxmemory", 0)) or float("inf")), int(i.get("used_memory", 0)),
             int(i.get("maxmemory", 0))) for i in infos]
    _ratio, used, limit = max(fill)
    mark = int(limit * eng.settings.memory_high_water_ratio) if limit else None
    return {"used_bytes": used, "max_bytes": limit, "high_water_bytes": mark,
            "ratio": round(used / limit, 4) if limit else None, "above_high_water": mark is not None and used > mark}


def get_queue_metrics(queue_name: str, *, engine: Engine | None = None, _shared: dict | None = None) -> dict[str, Any]:
    """Now: waiting per priority, active, scheduled, completed, failed, dead-lettered, workers, paused,
    rate limit and use; last hour and day: counters, percentiles, SLA; alerts."""
    eng = resolve(engine)
    eng.table[queue_name]
    shared = _shared or _shared_reads(eng, [queue_name])
    now_s, now_ms = shared["now"]
    counts = _queue_counts(eng, queue_name, now_s, now_ms)
    high, normal, low, active, scheduled, completed, failed, dead, dead_hour = counts
    ctl = control.state(queue_name, engine=eng)
    alive = sum(1 for w in shared["workers"] if queue_name in w["queues"])
    mine = shared["recent"][queue_name]
    last_hour, last_day = mine["hour"], mine["day"]
    sla = _sla(eng, queue_name, last_hour, last_day)
    found = conditions(dead_last_hour=dead_hour, sla=sla, workers=alive, waiting=high + normal + low)
    return {
        "queue": queue_name,
        "waiting": {"high": high, "normal": normal, "low": low, "total": high + normal + low},
        "active": active,
        "scheduled": scheduled,
        "completed": completed,
        "failed": failed,
        "dead_lettered": dead,
        "dead_lettered_last_hour": dead_hour,
        "workers": alive,
        **ctl,
        "last_hour": last_hour.row(),
        "last_day": last_day.row(),
        "per_minute": _minute_series(mine["series"]),
        "sla": sla,
        "alerts": [c["message"] for c in found],
        "conditions": found,
    }


def _shared_reads(eng: Engine, queues: list[str]) -> dict[str, Any]:
    now_s, now_ms = _now(eng)
    return {"now": (now_s, now_ms), "workers": workers(engine=eng), "recent": recent(queues, now_s=now_s, engine=eng)}


def get_all_metrics(*, engine: Engine | None = None) -> dict[str, Any]:
    """Every queue's metrics plus totals."""
    eng = resolve(engine)
    shared = _shared_reads(eng, eng.table.names)
    queues = {q: get_queue_metrics(q, engine=eng, _shared=shared) for q in eng.table.names}
    totals = {k: sum(m[k] for m in queues.values()) for k in ("active", "scheduled", "completed", "failed",
                                                                "dead_lettered", "workers")}
    totals["waiting"] = sum(m["waiting"]["total"] for m in queues.values())
    return {"generated_at": ms_to_iso(shared["now"][1]),
            "queues": queues, "totals": totals}


def get_failed_jobs(queue_name: str, limit: int = 50, *, offset: int = 0, engine: Engine | None = None) -> list[dict]:
    """Failed jobs still retained (newest first); each is also in the dead-letter queue."""
    rows, _total = list_jobs(queue_name, "failed", offset=offset, limit=limit, engine=engine)
    return rows
