"""`python -m bench steady`: memory stays flat when the system runs for many retention periods.

The five queues run at their full rate limits, with time and retention scaled (a 1 s rate window,
so the per-minute limits become per-second; finished and failed jobs kept PERIOD_S): a producer
enqueues 90 % of each limit (every tenth orderExpiry job fails once and is retried, vendorFallback's are
delayed), two worker processes take them. used_memory is sampled all along; memory after 4 periods
must be within 5 % of memory after 2 (the steady state is reached after one period).
"""
from __future__ import annotations

import statistics
import threading
import time

from engine import keys
from engine.enqueue import EnqueueRequest, enqueue_many
from processors.table import QUEUE_NAMES, QUEUES

from .harness import Bench

PERIOD_S = 8
PERIODS = 8
SHARE = 0.9  # of each rate limit; orderExpiry's retries bring it to ~99 %
FUNCS = {q: "bench.jobs.noop" for q in QUEUE_NAMES} | {"orderExpiry": "bench.jobs.fail_first"}
SCALED = dict(rate_window_ms=1000, delay_scale=0.01, lease_ms=2000, reap_interval_ms=200)


def _produce(eng, stop: threading.Event, tick_s: float = 0.1) -> int:
    """Enqueue SHARE of every queue's limit per rate window, in small batches; returns jobs enqueued."""
    owed = {q: 0.0 for q in QUEUE_NAMES}
    per_s = {q: eng.table[q].rate_limit_per_min * SHARE * 1000 / eng.settings.rate_window_ms for q in QUEUE_NAMES}
    total, n, next_at = 0, 0, time.monotonic()
    while not stop.is_set():
        batch = []
        for q in QUEUE_NAMES:
            owed[q] += per_s[q] * tick_s
            while owed[q] >= 1:
                owed[q] -= 1
                n += 1
                batch.append(EnqueueRequest(q, {"n": n}, delay=1.0 if q == "vendorFallback" else None))
        enqueue_many(eng, batch)
        total += len(batch)
        next_at += tick_s
        stop.wait(max(0.0, next_at - time.monotonic()))
    return total


def _around(samples: list[tuple[float, int]], at_s: float, half_width_s: float) -> float:
    """The median sample within half_width_s of at_s; on a machine so loaded that none fell there, the nearest."""
    near = [m for t, m in samples if abs(t - at_s) <= half_width_s]
    return statistics.median(near) if near else min(samples, key=lambda s: abs(s[0] - at_s))[1]


def steady(b: Bench, period_s: float = PERIOD_S, periods: int = PERIODS) -> list[dict]:
    b.flush()
    # the platform's own rate limits (the bench table lifts them for the drain figures)
    overrides = {p.name: {"func": FUNCS[p.name], "keep_completed_s": period_s, "keep_failed_s": period_s,
                          "rate_limit_per_min": p.rate_limit_per_min} for p in QUEUES}
    eng = b.engine(queue_overrides=overrides, **SCALED)
    workers = [b.our_worker(eng, ",".join(QUEUE_NAMES)) for _ in range(2)]
    stop = threading.Event()
    produced: list[int] = []
    producer = threading.Thread(target=lambda: produced.append(_produce(eng, stop)), daemon=True)
    samples: list[tuple[float, int]] = []
    try:
        time.sleep(1.0)  # workers up
        started = time.monotonic()
        producer.start()
        while (elapsed := time.monotonic() - started) < period_s * periods:
            samples.append((elapsed, int(eng.conn.info("memory")["used_memory"])))
            time.sleep(0.25)
    finally:
        stop.set()
        producer.join(timeout=30)
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=30)
    backlog = sum(eng.conn.llen(keys.waiting(q, p)) for q in QUEUE_NAMES for p in keys.PRIORITIES)
    half = period_s / 4
    at2, at4 = _around(samples, 2 * period_s, half), _around(samples, 4 * period_s, half)
    last = _around(samples, periods * period_s - half, half)
    ratio = at4 / at2
    note = (f"{periods} periods of {period_s:g} s, {produced[0] if produced else 0:,} jobs enqueued, "
            f"{backlog} waiting at the end; used_memory median around 2 periods {at2 / 1e6:.2f} MB, 4 periods "
            f"{at4 / 1e6:.2f} MB, {periods} periods {last / 1e6:.2f} MB")
    return [{"figure": "steady run at full rate limits: used_memory after 4 / after 2 retention periods",
             "ours": round(ratio, 3), "rq": None, "unit": "ratio", "ratio": None, "target": "within 5 %",
             "ok": abs(ratio - 1) <= 0.05, "note": note}]
