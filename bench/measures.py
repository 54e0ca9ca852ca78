"""The speed measurements (enqueue, drain, latency, lateness, rate limit); bench/measures_state.py has
the rest. Each returns rows: figure, ours, plain RQ, ratio, target and whether it is met."""
from __future__ import annotations

import time
from datetime import timedelta

from engine import keys
from processors import helpers
from engine.enqueue import EnqueueRequest, enqueue, enqueue_many

from .harness import Bench, median, pct, timed, wait_procs
from .rates import steady_rate

NOOP = "bench.jobs.noop"
PHONE = "+9779800000000"


def row(figure, ours, rq=None, unit="", target="", ok=None, ratio=None, note=""):
    if ratio is None and rq:
        ratio = ours / rq
    return {"figure": figure, "ours": ours, "rq": rq, "unit": unit, "ratio": ratio, "target": target, "ok": ok,
            "note": note}


def enqueue_speed(b: Bench, n: int = 5000, rounds: int = 3) -> list[dict]:
    """Alternating rounds, median rates: the machine is shared and noisy."""
    eng, q = b.engine(), b.rq_queue()
    phones = [PHONE] * 1000
    rates: dict[str, list[float]] = {"ours": [], "rq": [], "ours_bulk": [], "rq_bulk": []}
    for _ in range(rounds):
        b.flush()
        rates["ours"].append(n / timed(lambda: [helpers.add_whatsapp_message(PHONE, "hello", engine=eng)
                                               for _ in range(n)]))
        b.flush()
        rates["rq"].append(n / timed(lambda: [q.enqueue(NOOP, phone=PHONE, message="hello") for _ in range(n)]))
        b.flush()
        rates["ours_bulk"].append(n / timed(lambda: [helpers.broadcast_whatsapp(phones, "hello", engine=eng)
                                                    for _ in range(n // 1000)]))
        b.flush()
        rates["rq_bulk"].append(n / timed(lambda: [q.enqueue_many([Queue_data(q) for _ in range(1000)])
                                                  for _ in range(n // 1000)]))
    ours, rq, ours_bulk, rq_bulk = (median(rates[k]) for k in ("ours", "rq", "ours_bulk", "rq_bulk"))
    return [row("enqueue one by one", ours, rq, "jobs/s", ">= 1x RQ enqueue", ours >= rq),
            row("enqueue bulk (pipelined)", ours_bulk, rq_bulk, "jobs/s", ">= 1x RQ enqueue_many", ours_bulk >= rq_bulk)]


def Queue_data(q):
    return q.prepare_data(NOOP, kwargs={"phone": PHONE, "message": "hello"})


def fill_ours(eng, n: int, queue: str = "whatsapp") -> None:
    for i in range(0, n, 2000):
        enqueue_many(eng, [EnqueueRequest(queue, {}) for _ in range(min(2000, n - i))])


def _fill_rq(q, n: int) -> None:
    for i in range(0, n, 2000):
        q.enqueue_many([q.prepare_data(NOOP) for _ in range(min(2000, n - i))])


def drain(b: Bench, n: int = 20_000, n_forking: int = 1000) -> list[dict]:
    """Steady-state rates (first job's start to last job's end, from the job records: bench/rates.py)."""
    rates = {}
    for label, procs in (("ours x1", 1), ("ours x2", 2)):
        b.flush()
        eng = b.engine()
        fill_ours(eng, n)
        wait_procs([b.our_worker(eng, "whatsapp", "--burst") for _ in range(procs)])
        rates[label] = steady_rate(b.url, n)
    for label, kind, count, procs in (("rq simple x1", "SimpleWorker", n, 1), ("rq simple x2", "SimpleWorker", n, 2),
                                      ("rq worker x1", "Worker", n_forking, 1)):
        b.flush()
        q = b.rq_queue()
        _fill_rq(q, count)
        wait_procs([b.rq_worker(q.name, kind) for _ in range(procs)])
        rates[label] = steady_rate(b.url, count)
    return [
        row("drain, 1 process, 1 slot (steady)", rates["ours x1"], rates["rq simple x1"], "jobs/s",
            ">= 10x RQ SimpleWorker", rates["ours x1"] >= 10 * rates["rq simple x1"]),
        row("drain, 1 process vs RQ Worker (fork per job, steady)", rates["ours x1"], rates["rq worker x1"], "jobs/s",
            "", None, note=f"RQ Worker measured on {n_forking} jobs"),
        row("drain, 2 processes of 1 slot (both cores, steady)", rates["ours x2"], rates["rq simple x2"], "jobs/s",
            ">= 10x RQ SimpleWorker x2", rates["ours x2"] >= 10 * rates["rq simple x2"]),
    ]


def latency(b: Bench, n: int = 300) -> list[dict]:
    b.flush()
    eng = b.engine()
    proc = b.our_worker(eng)
    time.sleep(1.0)
    ours = []
    try:
        for _ in range(n):
            job = enqueue(eng, EnqueueRequest("whatsapp", {}))
            time.sleep(0.01)
            ready, started = eng.conn.hmget(keys.job(job.id), [keys.JobField.READY_MS, keys.JobField.STARTED_MS])
            if started:
                ours.append(int(started) - int(ready))
    finally:
        proc.terminate()
        proc.wait()
    q = b.rq_queue()
    proc = b.rq_worker(q.name, "SimpleWorker", burst=False)
    time.sleep(1.5)
    theirs = []
    try:
        for _ in range(n):
            job = q.enqueue(NOOP)
            time.sleep(0.01)
            job.refresh()
            if job.started_at and job.enqueued_at:
                theirs.append((job.started_at - job.enqueued_at).total_seconds() * 1000)
    finally:
        proc.terminate()
        proc.wait()
    p50, p99 = pct(ours, 50), pct(ours, 99)
    return [row("enqueue-to-start latency p50", p50, pct(theirs, 50), "ms", "", None),
            row("enqueue-to-start latency p99", p99, pct(theirs, 99), "ms", "< 5 ms", p99 < 5)]


def lateness(b: Bench, n: int = 200) -> list[dict]:
    import random

    b.flush()
    eng = b.engine()
    rng = random.Random(1)
    proc = b.our_worker(eng)  # started first: jobs must not come due while it is still starting
    time.sleep(1.5)
    try:
        ids = [enqueue(eng, EnqueueRequest("whatsapp", {}, delay=rng.uniform(0.2, 3.0))).id
               for _ in range(n)]
        deadline = time.monotonic() + 30
        while eng.conn.zcard(keys.finished("whatsapp")) < n and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait()
    late = []
    for job_id in ids:
        due, started = eng.conn.hmget(keys.job(job_id), [keys.JobField.DUE_MS, keys.JobField.STARTED_MS])
        late.append(int(started) - int(due))
    # retry waits: a fixed 0.3 s wait, three retries per job
    b.flush()
    eng = b.engine(queue_overrides={"whatsapp": {"rate_limit_per_min": 10_000_000, "backoff": "fixed",
                                                 "backoff_base_s": 0.3}})
    failing = [enqueue(eng, EnqueueRequest("whatsapp", {"fn": "fail"})).id for _ in range(50)]
    proc = b.our_worker(eng)
    try:
        deadline = time.monotonic() + 30
        while eng.conn.zcard(keys.DLQ_ALL) < len(failing) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait()
    retry_late = [int(v) for v in eng.conn.lrange("bench:retry_lateness_ms", 0, -1)]  # server clock
    # RQ: enqueue_in with its own scheduler inside the worker
    b.flush()
    q = b.rq_queue()
    rq_jobs = []
    for _ in range(60):
        delay = rng.uniform(0.2, 3.0)
        rq_jobs.append((q.enqueue_in(timedelta(seconds=delay), NOOP), time.time() + delay))
    proc = b.rq_worker(q.name, "SimpleWorker", burst=False, scheduler=True)
    try:
        time.sleep(6)
    finally:
        proc.terminate()
        proc.wait()
    rq_late = []
    for job, due in rq_jobs:
        job.refresh()
        if job.started_at:
            rq_late.append((job.started_at.timestamp() - due) * 1000)
    return [
        row("delayed job lateness p50", pct(late, 50), pct(rq_late, 50) if rq_late else None, "ms", "", None),
        row("delayed job lateness p99", pct(late, 99), pct(rq_late, 99) if rq_late else None, "ms", "< 100 ms",
            pct(late, 99) < 100),
        row("delayed job lateness max", max(late), max(rq_late) if rq_late else None, "ms", "", None),
        row("delayed job earliest start (min lateness)", min(late), min(rq_late) if rq_late else None, "ms",
            ">= 0 (never early)", min(late) >= 0),
        row("retry wait lateness p50", pct(retry_late, 50), None, "ms", "", None),
        row("retry wait lateness p99", pct(retry_late, 99), None, "ms", "< 100 ms", pct(retry_late, 99) < 100),
        row("retry wait earliest start", min(retry_late), None, "ms", ">= 0 (never early)", min(retry_late) >= 0),
    ]


def rate_limiter(b: Bench, limit: int = 50, window_ms: int = 1000, n: int = 400) -> list[dict]:
    b.flush()
    eng = b.engine(rate_window_ms=window_ms, queue_overrides={"whatsapp": {"rate_limit_per_min": limit}})
    ids = [enqueue(eng, EnqueueRequest("whatsapp", {})).id for _ in range(n)]
    procs = [b.our_worker(eng, "whatsapp", "--burst") for _ in range(4)]
    wait_procs(procs, timeout_s=120)
    starts = sorted(int(eng.conn.hget(keys.job(i), keys.JobField.STARTED_MS)) for i in ids)
    most, j = 0, 0
    for i, t in enumerate(starts):
        while starts[j] <= t - window_ms:
            j += 1
        most = max(most, i - j + 1)
    use = (len(starts) - limit) / ((starts[-1] - starts[0]) / window_ms * limit)
    note = "RQ has no rolling-window limit (RQ 3's RateLimit caps concurrency)"
    return [row("rate limit: most starts in any rolling window / limit", most / limit, None, "x",
                "<= 1.0 (zero over-admission)", most <= limit, note=f"{most} of {limit}; {note}"),
            row("rate limit: use of the limit under a backlog", use, None, "", ">= 0.95", use >= 0.95,
                note="4 worker processes, scaled 1 s window")]


ALL = [enqueue_speed, drain, latency, lateness, rate_limiter]
