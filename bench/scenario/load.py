"""Load drivers for scenarios: a paced producer that re-sends the same job id after a server error,
and worker processes kept up by a supervisor loop."""
from __future__ import annotations

import random
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import redis

from engine.app import Engine
from engine.enqueue import EnqueueRequest, enqueue
from engine.errors import ServerError

from .processes import Child, exit_record


def follow_master(conn: redis.Redis) -> None:
    """Ask Sentinel for the master now. redis-py asks only when it opens a connection, so a client keeps
    writing to a primary that Sentinel demoted until that server itself turns into a replica (about 10 s
    later); on a changed answer the pool drops its idle connections and discards busy ones when released."""
    pool = conn.connection_pool
    if hasattr(pool, "get_master_address"):
        pool.get_master_address()


class Producer(threading.Thread):
    """One enqueue at a time at `rate_per_s`; a job counts as acknowledged when enqueue returned. After a
    server error (connection lost, read-only replica ...) the same request, with the same job id, is
    sent again, so a job is never enqueued twice. `follow_s` > 0: ask Sentinel for the master this often."""

    def __init__(self, eng: Engine, rate_per_s: float, stop: threading.Event,
                 request: Callable[[int, random.Random], EnqueueRequest], *, follow_s: float = 0.0, seed: int = 7):
        super().__init__(daemon=True, name="scenario-producer")
        self.eng, self.interval, self.stop_event, self.follow_s = eng, 1.0 / rate_per_s, stop, follow_s
        self.request, self.seed = request, seed
        self._followed = 0.0
        self.acked: list[tuple[str, float]] = []  # (job id, monotonic time of the acknowledgement)
        self.latencies_ms: list[float] = []  # of each acknowledged enqueue call
        self.errors: dict[str, int] = {}
        self.retried_ids = 0
        self.first_error: str | None = None
        self.crash: str | None = None  # an unexpected exception ended the producer

    def run(self) -> None:
        try:
            self._produce()
        except Exception as exc:  # noqa: BLE001 - reported, never silently dropped
            self.crash = f"{type(exc).__name__}: {exc}"

    def _produce(self) -> None:
        rng = random.Random(self.seed)
        n = 0
        next_at = time.monotonic()
        while not self.stop_event.is_set():
            req = self.request(n, rng)
            retried = False
            while not self.stop_event.is_set():
                try:
                    if self.follow_s and time.monotonic() - self._followed >= self.follow_s:
                        self._followed = time.monotonic()
                        follow_master(self.eng.conn)
                    sent = time.monotonic()
                    enqueue(self.eng, req)
                    self.acked.append((req.job_id, time.monotonic()))
                    self.latencies_ms.append((self.acked[-1][1] - sent) * 1000)
                    break
                except (redis.RedisError, ServerError) as exc:  # lost connection, read-only, too few replicas ...
                    name = type(exc).__name__
                    self.errors[name] = self.errors.get(name, 0) + 1
                    self.first_error = self.first_error or f"{name}: {exc}"
                    retried = True
                    time.sleep(0.2)
            self.retried_ids += retried
            n += 1
            next_at += self.interval
            time.sleep(max(0.0, next_at - time.monotonic()))


class Workers:
    """`n` worker processes (python -m engine worker) for `queues`; supervise() respawns any that exited,
    keeping its exit code and last log lines."""

    def __init__(self, n: int, queues: list[str], env: dict[str, str], work_dir: Path, prefix: str = "w"):
        self.queues, self.env, self.work_dir, self.prefix = queues, env, work_dir, prefix
        self.generation = 0
        self.exits: list[dict[str, Any]] = []
        self.children = [self._spawn(i) for i in range(n)]

    def _spawn(self, slot: int) -> Child:
        self.generation += 1
        name = f"{self.prefix}{slot}-g{self.generation}"
        argv = [sys.executable, "-m", "engine", "worker", "--queues", ",".join(self.queues), "--name", name]
        return Child(name, argv, self.env, self.work_dir / "logs" / f"{name}.log").start()

    def supervise(self) -> None:
        for i, child in enumerate(self.children):
            if not child.alive:
                self.exits.append(exit_record(child, lines=25))
                self.children[i] = self._spawn(i)
