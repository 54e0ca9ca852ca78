"""Test support: workers in threads or real processes, and polling without fixed sleeps."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from engine.app import Engine
from engine.enqueue import EnqueueRequest, enqueue
from processors.table import QUEUE_NAMES
from engine.slots import SlotPool, SlotSpec
from engine.worker import Worker

ROOT = Path(__file__).resolve().parents[2]
DISPATCH = "tests.engine.jobfuncs.dispatch"
TEST_TABLE = {q: {"func": DISPATCH} for q in QUEUE_NAMES}  # every queue runs the test dispatcher


def put(eng: Engine, queue: str, func: str, data: dict | None = None, **kw):
    """Enqueue a job on a real queue whose processor (the test dispatcher) runs the test function
    `func` (a short name in tests/engine/jobfuncs.py, or a dotted tests.* path)."""
    assert eng.table[queue].func == DISPATCH, "this engine's table does not run test functions"
    return enqueue(eng, EnqueueRequest(queue, {"fn": func, **(data or {})}, **kw))


def wait_until(condition: Callable[[], object], timeout_s: float = 10.0, interval_s: float = 0.02):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s} s")


@contextmanager
def thread_workers(eng: Engine, queues: list[str], n: int = 1, **kw) -> Iterator[list[Worker]]:
    workers = [Worker(eng, queues, **kw) for _ in range(n)]
    threads = [threading.Thread(target=w.run, daemon=True) for w in workers]
    for t in threads:
        t.start()
    try:
        yield workers
    finally:
        for w in workers:
            w.stopping = True
        for t in threads:
            t.join(timeout=10)


def worker_env(eng: Engine) -> dict[str, str]:
    s = eng.settings
    return {**os.environ, "REDIS_URL": s.redis_url or "", "DELAY_SCALE": str(s.delay_scale),
            "RATE_WINDOW_MS": str(s.rate_window_ms), "LEASE_MS": str(s.lease_ms),
            "REAP_INTERVAL_MS": str(s.reap_interval_ms), "QUEUE_OVERRIDES": json.dumps(s.queue_overrides),
            "ENGINE_HOOKS": s.engine_hooks or "", "CANCEL_GRACE_MS": str(s.cancel_grace_ms), "PYTHONPATH": str(ROOT),
            "REDIS_CLUSTER_NODES": s.redis_cluster_nodes or ""}


def spawn_worker(eng: Engine, queues: list[str], *extra: str) -> subprocess.Popen:
    """A real worker process (python -m engine worker)."""
    return subprocess.Popen([sys.executable, "-m", "engine", "worker", "--queues", ",".join(queues), *extra],
                            cwd=ROOT, env=worker_env(eng), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def burst_pool(eng: Engine, specs: list[SlotSpec], timeout_s: float = 60) -> SlotPool:
    """Run a SlotPool in burst mode in a thread of this process until it has nothing left (bounded)."""
    pool = SlotPool(eng, specs, burst=True)
    runner = threading.Thread(target=pool.run, daemon=True)
    runner.start()
    runner.join(timeout=timeout_s)
    assert not runner.is_alive(), f"the pool still ran after {timeout_s} s"
    return pool
