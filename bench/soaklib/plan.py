"""The soak's configuration, its job plan and the producer that enqueues it through every fault."""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from engine import keys
from engine.app import Engine
from engine.enqueue import EnqueueRequest, enqueue_many
from engine.errors import EngineError, ValidationError

QUEUES = ("whatsapp", "orderExpiry")
FUNC = "bench.soak_jobs.count"


@dataclass
class SoakConfig:
    seconds: float = 180.0  # how long faults are injected (jobs are enqueued over the first 60 %)
    jobs: int = 3000
    workers: int = 3
    schedulers: int = 2
    fail_once_ratio: float = 0.15
    permanent_ratio: float = 0.02
    delayed_ratio: float = 0.1
    lease_ms: int = 1500
    reap_interval_ms: int = 500
    delay_scale: float = 0.05
    retries: int = 8  # per queue, so that fault-induced runs rarely exhaust a healthy job's budget
    fault_gap_s: tuple[float, float] = (0.15, 0.7)
    # The schedulers' clock runs this much faster: a minute cron ticks every 7.5 s. A tick is missed only
    # when no scheduler can make a pass for a whole tick interval (then only the latest runs: catch_up).
    tick_scale: float = 8.0
    outbox_rows: int = 600  # committed to the business database over the producing phase, relayed to the queue
    relay_interval_s: float = 0.3
    call_lease_ms: int = 3000  # a call tick whose scheduler died mid-call is re-run after this
    warmup_s: float = 2.0
    settle_s: float = 90.0
    seed: int = 1
    keep_dir: bool = False  # keep the temp dir (logs, AOF); it is always kept when the soak fails
    work_root: Path | None = None  # where the temp dir goes (default: the system temp dir)
    verbose: bool = True


@dataclass(frozen=True)
class PlannedJob:
    job_id: str
    queue: str
    kind: str  # ok | fail_once | permanent
    priority: str
    delay_s: float
    pause_ms: int


def plan_jobs(cfg: SoakConfig) -> list[PlannedJob]:
    rng = random.Random(cfg.seed)
    out = []
    for i in range(cfg.jobs):
        r = rng.random()
        kind = "permanent" if r < cfg.permanent_ratio else "fail_once" if r < cfg.permanent_ratio + cfg.fail_once_ratio \
            else "ok"
        priority = rng.choices(("high", "normal", "low"), weights=(1, 8, 1))[0]
        delay = round(rng.uniform(0.2, 2.0), 3) if rng.random() < cfg.delayed_ratio else 0.0
        out.append(PlannedJob(f"soak-{i:05d}", QUEUES[i % len(QUEUES)], kind, priority, delay, rng.randint(0, 80)))
    return out


def engine_settings(cfg: SoakConfig, url: str) -> dict[str, Any]:
    overrides = {q: {"rate_limit_per_min": 10_000_000, "retries": cfg.retries, "func": FUNC} for q in QUEUES}
    return dict(redis_url=url, lease_ms=cfg.lease_ms, reap_interval_ms=cfg.reap_interval_ms,
                delay_scale=cfg.delay_scale, queue_overrides=overrides, scheduler_call_lease_ms=cfg.call_lease_ms)


# -- the producer ------------------------------------------------------------------------
class Producer(threading.Thread):
    """Enqueues the plan in paced batches; after a connection error it re-sends only ids not yet written."""

    def __init__(self, eng: Engine, plan: list[PlannedJob], spread_s: float, deadline: float, batch: int = 20):
        super().__init__(daemon=True, name="soak-producer")
        self.eng, self.plan, self.spread_s, self.deadline, self.batch = eng, plan, spread_s, deadline, batch
        self.acked: list[str] = []
        self.resends = 0
        self.refusals = 0  # batches refused by a full server (not acknowledged; re-sent after)
        self.last_refusal: str | None = None
        self.error: str | None = None

    def run(self) -> None:
        start = time.monotonic()
        n_batches = max(1, (len(self.plan) + self.batch - 1) // self.batch)
        try:
            for b in range(n_batches):
                due = start + self.spread_s * b / n_batches
                while time.monotonic() < due:
                    time.sleep(min(0.05, due - time.monotonic()))
                self._send(self.plan[b * self.batch:(b + 1) * self.batch])
        except Exception as exc:  # noqa: BLE001 - reported, never silently dropped
            self.error = f"{type(exc).__name__}: {exc}"

    def _send(self, jobs: list[PlannedJob]) -> None:
        pending = jobs
        while pending:
            if time.monotonic() > self.deadline:
                raise TimeoutError(f"could not enqueue {len(pending)} jobs before the deadline")
            try:
                enqueue_many(self.eng, [EnqueueRequest(j.queue, {"kind": j.kind, "pause_ms": j.pause_ms},
                                                       priority=j.priority, delay=j.delay_s or None,
                                                       job_id=j.job_id) for j in pending])
                self.acked += [j.job_id for j in pending]
                return
            except (redis.ConnectionError, redis.TimeoutError):
                self.resends += 1
                time.sleep(0.2)
                pending = self._not_written(pending)
            except ValidationError:
                raise
            except (redis.ResponseError, EngineError) as exc:  # memory full: refused, so not acknowledged
                self.refusals += 1
                self.last_refusal = f"{type(exc).__name__}: {exc}"[:200]
                time.sleep(0.2)
                pending = self._not_written(pending)

    def _not_written(self, jobs: list[PlannedJob]) -> list[PlannedJob]:
        """The jobs whose record does not exist; the others were written (and count as acknowledged)."""
        for _ in range(50):
            try:
                pipe = self.eng.conn.pipeline(transaction=False)
                for j in jobs:
                    pipe.exists(keys.job(j.job_id))
                there = pipe.execute()
                break
            except (redis.ConnectionError, redis.TimeoutError):
                time.sleep(0.2)
        else:
            raise TimeoutError("server unreachable while checking which jobs were written")
        self.acked += [j.job_id for j, e in zip(jobs, there) if e]
        return [j for j, e in zip(jobs, there) if not e]


