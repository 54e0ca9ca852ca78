"""Shared benchmark plumbing: a private server, engines, RQ queues, worker processes."""
from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from engine.app import Engine
from engine.embedded import start_embedded
from engine.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
# Every benchmark queue runs bench.jobs.run (which picks its function from the job's `fn` field).
UNLIMITED = {q: {"rate_limit_per_min": 10_000_000, "func": "bench.jobs.run"} for q in
             ("whatsapp", "orderExpiry", "vendorFallback", "dailyReports", "creditReconciliation")}


class Bench:
    def __init__(self) -> None:
        self.server = start_embedded(Path(tempfile.mkdtemp(prefix="bench-valkey-")), durable=False)
        self.url = self.server.connection_url

    def engine(self, **settings) -> Engine:
        """An engine on the bench server: the benchmark queue table, `queue_overrides` applied on top."""
        extra = settings.pop("queue_overrides", {})
        settings["queue_overrides"] = {q: {**o, **extra.get(q, {})} for q, o in UNLIMITED.items()}
        return Engine.from_settings(Settings(redis_url=self.url, **settings))

    def rq_queue(self, name: str = "rqbench") -> Queue:
        return Queue(name, connection=redis.Redis.from_url(self.url), serializer=JSONSerializer)

    def flush(self) -> None:
        redis.Redis.from_url(self.url).execute_command("FLUSHALL", "SYNC")  # plain FLUSHALL frees lazily

    def env(self, eng: Engine) -> dict[str, str]:
        s = eng.settings
        return {**os.environ, "REDIS_URL": self.url, "QUEUE_OVERRIDES": json.dumps(s.queue_overrides),
                "DELAY_SCALE": str(s.delay_scale), "RATE_WINDOW_MS": str(s.rate_window_ms),
                "LEASE_MS": str(s.lease_ms), "REAP_INTERVAL_MS": str(s.reap_interval_ms), "PYTHONPATH": str(ROOT)}

    def our_worker(self, eng: Engine, queues: str = "whatsapp", *extra: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "engine", "worker", "--queues", queues, *extra], cwd=ROOT,
                                env=self.env(eng), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def rq_worker(self, queue: str, kind: str = "SimpleWorker", *, burst: bool = True,
                  scheduler: bool = False) -> subprocess.Popen:
        code = (f"import redis; from rq.worker import {kind}; from rq.serializers import JSONSerializer;"
                f"c = redis.Redis.from_url({self.url!r});"
                f"w = {kind}([{queue!r}], connection=c, serializer=JSONSerializer);"
                f"w.work(burst={burst}, with_scheduler={scheduler}, logging_level='WARNING')")
        return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def used_memory(self) -> int:
        conn = redis.Redis.from_url(self.url)
        conn.execute_command("MEMORY", "PURGE")
        return int(conn.info("memory")["used_memory"])

    def stop(self) -> None:
        self.server.stop()


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered))) - 1))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def wait_procs(procs: list[subprocess.Popen], timeout_s: float = 600) -> None:
    for p in procs:
        p.wait(timeout=timeout_s)


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a live process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    """CPU seconds (user + system) of this process's children that have been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
