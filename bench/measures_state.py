"""The measurements of what the server holds: monitoring reads at scale, memory per job, recovery
of a killed worker's job. Rows as in bench/measures.py."""
from __future__ import annotations

import signal
import time

from engine import control, keys
from processors import helpers
from processors.table import QUEUES
from engine.enqueue import EnqueueRequest, enqueue, enqueue_many

from .harness import Bench, median, timed, wait_procs
from .measures import PHONE, fill_ours, row

WHATSAPP = next(p.func for p in QUEUES if p.name == "whatsapp")  # the name a plain RQ client enqueues


def _metrics_seed(eng, hours: int = 48) -> None:
    now = int(time.time())
    pipe = eng.conn.pipeline(transaction=False)
    fields = {"started": 100, "completed": 95, "failed": 5, "retried": 4, "dead_lettered": 1, "run_ms": 5000,
              **{f"run:{b}": 5 for b in range(10, 30)}, **{f"wait:{b}": 5 for b in range(5, 25)}}
    for q in eng.table.names:
        for m in range(hours * 60):
            t = now - m * 60
            pipe.hset(keys.metrics("m", q, t - t % 60), mapping=fields)
        for h in range(hours + 1):
            t = now - h * 3600
            pipe.hset(keys.metrics("h", q, t - t % 3600), mapping=fields)
        if len(pipe) > 5000:
            pipe.execute()
    pipe.execute()


def monitoring_at_scale(b: Bench, runs: int = 40) -> list[dict]:
    from engine import monitoring
    from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

    def our_median(eng):
        return median([timed(lambda: monitoring.get_all_metrics(engine=eng)) for _ in range(runs)]) * 1000

    def rq_median(names):
        qs = [b.rq_queue(n) for n in names]

        def info():
            for q in qs:
                q.count
                for reg in (StartedJobRegistry, FinishedJobRegistry, FailedJobRegistry, ScheduledJobRegistry):
                    reg(q.name, connection=q.connection).get_job_count(cleanup=False)
        return median([timed(info) for _ in range(runs)]) * 1000

    b.flush()
    eng = b.engine()
    empty, rq_empty = our_median(eng), rq_median(eng.table.names)
    # 10,000 dead-letter entries, 48 h of minute buckets on all queues, 100,000 waiting
    eng_dead = b.engine(queue_overrides={"vendorFallback": {"rate_limit_per_min": 10_000_000, "retries": 0}})
    fill_ours(eng_dead, 10_000, "vendorFallback")
    eng.conn.hset(keys.job("x"), "x", 1)
    for i in range(0, 10_000, 2000):
        enqueue_many(eng_dead, [EnqueueRequest("vendorFallback", {"fn": "fail"}) for _ in range(2000)])
    wait_procs([b.our_worker(eng_dead, "vendorFallback", "--burst")])
    control.pause("whatsapp", engine=eng)
    fill_ours(eng, 100_000)
    _metrics_seed(eng)
    cold = timed(lambda: monitoring.get_all_metrics(engine=b.engine())) * 1000  # a fresh process's first read
    full, rq_full = our_median(eng), rq_median(eng.table.names)
    dead = eng.conn.zcard(keys.DLQ_ALL)
    return [row("get_all_metrics, empty server", empty, rq_empty, "ms", "", None,
                note="RQ: counts of the queue and its four registries per queue"),
            row("get_all_metrics at scale (median)", full, rq_full, "ms", "< 50 ms", full < 50,
                note=f"100,000 waiting, {dead} dead-letter entries, 48 h of minute buckets"),
            row("get_all_metrics at scale / empty", full / empty, None, "x", "<= 1.5", full / empty <= 1.5),
            row("get_all_metrics at scale, first read (nothing cached)", cold, None, "ms", "< 50 ms", cold < 50,
                note="later reads reuse the metric buckets that can no longer change")]


def memory_per_job(b: Bench, n: int = 20_000) -> list[dict]:
    b.flush()
    eng = b.engine()
    control.pause("whatsapp", engine=eng)
    before = b.used_memory()
    for i in range(0, n, 1000):
        helpers.broadcast_whatsapp([PHONE] * 1000, "Your order 12345 has been confirmed.", engine=eng)
    ours = (b.used_memory() - before) / n
    b.flush()
    q = b.rq_queue()
    before = b.used_memory()
    for i in range(0, n, 1000):
        q.enqueue_many([q.prepare_data(WHATSAPP,
                                       kwargs={"phone": PHONE, "message": "Your order 12345 has been confirmed."})
                        for _ in range(1000)])
    theirs = (b.used_memory() - before) / n
    return [row("server memory per waiting whatsapp job", ours, theirs, "bytes", "", None)]


def recovery(b: Bench) -> list[dict]:
    b.flush()
    eng = b.engine(lease_ms=10_000, reap_interval_ms=2_000)  # the defaults
    job = enqueue(eng, EnqueueRequest("whatsapp", {"fn": "sleep", "seconds": 120}))
    victim = b.our_worker(eng)
    deadline = time.monotonic() + 20
    while eng.conn.hget(keys.job(job.id), keys.JobField.STATUS) != b"started" and time.monotonic() < deadline:
        time.sleep(0.01)
    standby = b.our_worker(eng)
    time.sleep(0.5)
    victim.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    victim.wait()
    try:
        while int(eng.conn.hget(keys.job(job.id), keys.JobField.RUNS) or 0) < 2 and time.monotonic() - killed < 60:
            time.sleep(0.02)
        took = time.monotonic() - killed
    finally:
        standby.terminate()
        standby.kill()
        standby.wait()
    return [row("recovery: SIGKILL of a busy worker until its job runs again", took, None, "s", "< 30 s", took < 30,
                note="defaults LEASE_MS=10000, REAP_INTERVAL_MS=2000; RQ's defaults take 10-18 min (not measured)")]


ALL = [monitoring_at_scale, memory_per_job, recovery]
