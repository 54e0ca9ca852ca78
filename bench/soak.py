"""Chaos soak: a known set of jobs through real workers while faults are injected at random.

    python -m bench.soak [--seconds 180] [--jobs 3000] [--json out.json]

Starts its own Valkey (AOF on, appendfsync everysec) on a free loopback port in a temp dir,
worker processes, and two scheduler processes at once (when engine/scheduler.py exists). For
`--seconds` it enqueues the jobs (bench.soak_jobs.count: an idempotent counter; some fail once,
a few permanently) and at random: SIGKILLs a worker (respawned), restarts the server gracefully
(SIGTERM, so the AOF is flushed, then a start on the same port and data dir), drops every client
connection (CLIENT KILL TYPE normal SKIPME yes) and SIGKILLs a scheduler (respawned, so two keep
running). Then faults stop, the system settles (bounded) and every job is checked: completed
exactly once or dead-lettered; none lost, none duplicated. Exit code 0 only if so.

Restarts are graceful, so the AOF is flushed and nothing acknowledged may be lost. A crash of the
server itself (not injected here) can lose up to the last second of writes with appendfsync everysec.
The children get an empty SQLite database and the sandbox WhatsApp provider in the temp dir, so the
schedulers' schedules never touch the repository's var/ data.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import redis

from bench import soak_jobs
from engine import keys
from engine.app import Engine
from engine.enqueue import EnqueueRequest, enqueue_many
from engine.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
QUEUES = ("whatsapp", "orderExpiry")
FUNC = "bench.soak_jobs.count"
FAULTS = ("worker_kill", "server_restart", "client_kill", "scheduler_kill")
FAULT_WEIGHTS = {"worker_kill": 4, "server_restart": 1, "client_kill": 3, "scheduler_kill": 2}


# -- processes ---------------------------------------------------------------------------
def free_port(low: int = 20000, high: int = 30000) -> int:
    """A free loopback port below the ephemeral range, so no client socket takes it during a restart."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(low, high)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port found")


ISOLATED_PREFIXES = ("REDIS_", "DATABASE_", "WHATSAPP_", "API_KEYS", "SCHEDULE_")


def child_env(extra: dict[str, str], work_dir: Path) -> dict[str, str]:
    """The parent's environment without server, database or provider settings, plus `extra`.

    The children's business data lives in `work_dir` (an empty SQLite file, the sandbox WhatsApp
    provider), so that the scheduler's schedules and the processors they start never touch the
    repository's var/ data or a real provider."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(ISOLATED_PREFIXES)}
    env.update({"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "WHATSAPP_PROVIDER": "sandbox",
                "DATABASE_URL": f"sqlite:///{work_dir / 'domain.sqlite3'}", "DATA_DIR": str(work_dir / "var"),
                "REPORTS_DIR": str(work_dir / "reports"), **extra})
    return env


@dataclass
class Child:
    """One child process in its own process group (so a kill takes its whole tree)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen | None = None

    def start(self) -> "Child":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal_group(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        """SIGKILL the process group and reap it."""
        self.signal_group(signal.SIGKILL)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


def exit_record(child: Child, lines: int = 12) -> dict[str, Any]:
    """Who exited, with which code, and the end of its log (the traceback, if any)."""
    tail = child.log_path.read_text(errors="replace").splitlines()[-lines:] if child.log_path.exists() else []
    return {"name": child.name, "code": child.proc.returncode if child.proc else None, "log_tail": tail}


def stop_children(children: list[Child], grace_s: float = 10.0) -> None:
    """SIGTERM every group (warm shutdown), then SIGKILL what is left after `grace_s`."""
    for c in children:
        c.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for c in children:
        if c.proc is None:
            continue
        try:
            c.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for c in children:
        c.kill()


class Server:
    """A durable Valkey on a fixed loopback port and data dir, restartable in place."""

    def __init__(self, data_dir: Path, port: int):
        self.data_dir, self.port = data_dir, port
        self.server = None
        self.unclean_stops = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self, attempts: int = 20) -> None:
        from engine.embedded import start_embedded

        last: Exception | None = None
        for _ in range(attempts):
            try:
                self.server = start_embedded(self.data_dir, port=self.port)
                return
            except Exception as exc:  # noqa: BLE001 - port still held for a moment, or a slow start
                last = exc
                time.sleep(0.25)
        raise RuntimeError(f"valkey did not start on port {self.port}: {last}")

    def stop(self) -> None:
        """Graceful stop (SIGTERM: the AOF is flushed); counts a stop that needed SIGKILL."""
        if self.server is None:
            return
        proc = getattr(self.server, "_process", None)
        try:
            self.server.stop(timeout=10)
        finally:
            self.server = None
        if proc is not None and proc.returncode not in (0, None):
            self.unclean_stops += 1

    def restart(self, down_s: float) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()


# -- configuration and the job plan ----------------------------------------------------
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
    fault_gap_s: tuple[float, float] = (0.8, 2.5)
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
                delay_scale=cfg.delay_scale, queue_overrides=overrides)


def settings_env(settings: dict[str, Any]) -> dict[str, str]:
    return {k.upper(): json.dumps(v) if isinstance(v, dict) else str(v) for k, v in settings.items()}


# -- the producer ------------------------------------------------------------------------
class Producer(threading.Thread):
    """Enqueues the plan in paced batches; after a connection error it re-sends only ids not yet written."""

    def __init__(self, eng: Engine, plan: list[PlannedJob], spread_s: float, deadline: float, batch: int = 20):
        super().__init__(daemon=True, name="soak-producer")
        self.eng, self.plan, self.spread_s, self.deadline, self.batch = eng, plan, spread_s, deadline, batch
        self.acked: list[str] = []
        self.resends = 0
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


# -- faults --------------------------------------------------------------------------------
class Chaos:
    """The server, workers and schedulers, and the faults injected into them."""

    def __init__(self, cfg: SoakConfig, work_dir: Path, settings: dict[str, Any], server: Server,
                 log: Callable[[str], None]):
        self.cfg, self.work_dir, self.server, self.log = cfg, work_dir, server, log
        self.env = child_env(settings_env(settings), work_dir)
        self.rng = random.Random(cfg.seed + 1)
        self.workers: list[Child] = []
        self.schedulers: list[Child] = []
        self.generation = 0
        self.killed_workers: set[str] = set()
        self.counts = {name: 0 for name in FAULTS}
        self.clients_killed = 0
        self.self_exits: list[dict[str, Any]] = []  # children that exited without being killed by us
        self.has_scheduler = importlib.util.find_spec("engine.scheduler") is not None
        self._first_round = [f for f in FAULTS if f != "scheduler_kill" or self.has_scheduler]
        self.rng.shuffle(self._first_round)

    # children
    def _worker(self, slot: int) -> Child:
        self.generation += 1
        name = f"soak-w{slot}-g{self.generation}"
        argv = [sys.executable, "-m", "engine", "worker", "--queues", ",".join(QUEUES), "--name", name]
        return Child(name, argv, self.env, self.work_dir / "logs" / f"{name}.log").start()

    def _scheduler(self, slot: int) -> Child:
        self.generation += 1
        name = f"soak-s{slot}-g{self.generation}"
        argv = [sys.executable, "-m", "engine", "scheduler"]
        return Child(name, argv, self.env, self.work_dir / "logs" / f"{name}.log").start()

    def start(self) -> None:
        self.workers = [self._worker(i) for i in range(self.cfg.workers)]
        if self.has_scheduler:
            self.schedulers = [self._scheduler(i) for i in range(self.cfg.schedulers)]
        else:
            self.log("engine/scheduler.py not found: the two-scheduler fault is skipped")

    def supervise(self) -> None:
        """Respawn children that exited by themselves (e.g. started while the server was down)."""
        for group, make in ((self.workers, self._worker), (self.schedulers, self._scheduler)):
            for i, child in enumerate(group):
                if not child.alive:
                    self.self_exits.append(exit_record(child))
                    group[i] = make(i)

    def children(self) -> list[Child]:
        return self.workers + self.schedulers

    # faults
    def next_fault(self) -> str:
        if self._first_round:
            return self._first_round.pop()
        names = [f for f in FAULTS if f != "scheduler_kill" or self.has_scheduler]
        return self.rng.choices(names, weights=[FAULT_WEIGHTS[f] for f in names])[0]

    def inject(self, fault: str) -> bool:
        done = getattr(self, f"_{fault}")()
        if done:
            self.counts[fault] += 1
        elif fault not in self._first_round and self.counts[fault] == 0:
            self._first_round.append(fault)  # every fault type at least once
        return done

    def _admin(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.server.port, socket_timeout=2, socket_connect_timeout=2)

    def _busy(self) -> set[str]:
        """Names of workers running a job right now (members `id|worker` of the active sets)."""
        admin = self._admin()
        try:
            return {m.decode().split("|", 1)[-1] for q in QUEUES for m in admin.zrange(keys.active(q), 0, -1)}
        except redis.RedisError:
            return set()
        finally:
            admin.close()

    def _worker_kill(self) -> bool:
        """SIGKILL a worker, preferably one in the middle of a job, and start a new one in its place."""
        live = [i for i, w in enumerate(self.workers) if w.alive]
        if not live:
            return False
        busy = self._busy()
        running = [i for i in live if self.workers[i].name in busy]
        i = self.rng.choice(running if running and self.rng.random() < 0.8 else live)
        self.workers[i].kill()
        self.killed_workers.add(self.workers[i].name)
        self.workers[i] = self._worker(i)
        return True

    def _scheduler_kill(self) -> bool:
        live = [i for i, s in enumerate(self.schedulers) if s.alive]
        if not live:
            return False
        i = self.rng.choice(live)
        self.schedulers[i].kill()
        self.schedulers[i] = self._scheduler(i)
        return True

    def _server_restart(self) -> bool:
        self.server.restart(down_s=self.rng.uniform(0.2, 2.5))
        return True

    def _client_kill(self) -> bool:
        admin = self._admin()
        try:
            killed = int(admin.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"))
        except redis.RedisError:
            return False
        finally:
            admin.close()
        self.clients_killed += killed
        return killed > 0


# -- verification --------------------------------------------------------------------------
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


@dataclass
class SoakReport:
    seconds: float
    jobs_planned: int
    faults: dict[str, int]
    clients_killed: int
    schedulers_at_once: int
    jobs_enqueued: int
    enqueue_resends: int
    completed_exactly_once: int
    dead_lettered: int
    dead_lettered_expected: int
    dead_lettered_unexpected: int
    lost: int
    duplicated: int
    extra_completions: int
    redelivered_jobs: int
    redelivered_side_effects: int
    redelivery_reasons: dict[str, int]
    transient_failures_retried: int
    worker_died_recoveries: int
    completions_recorded: int
    starts_recorded: int
    runs_in_job_records: int
    left_in_queues: int
    children_exited_by_themselves: int
    server_unclean_stops: int
    settled: bool
    settle_s: float
    wall_s: float
    producer_error: str | None = None
    lost_ids: list[str] = field(default_factory=list)
    duplicated_ids: list[str] = field(default_factory=list)
    child_exits: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return (self.lost == 0 and self.duplicated == 0 and self.extra_completions == 0
                and self.producer_error is None)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def verify(conn: redis.Redis, plan: dict[str, PlannedJob], acked: list[str], chaos: Chaos) -> dict[str, Any]:
    """Classify every planned job; the counts that go into the report."""
    states = job_states(conn, plan, list(plan), full=True)
    acked_set = set(acked)
    completed, dead, lost, dup = [], [], [], []
    reasons = {"sigkill_after_side_effect": 0, "lease_expired_worker_alive": 0, "unexplained": 0}
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
            key = "sigkill_after_side_effect" if killed else "lease_expired_worker_alive" if dying else "unexplained"
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


# -- the run --------------------------------------------------------------------------------
def run_soak(cfg: SoakConfig) -> SoakReport:
    """Run the whole soak and return its report; always stops every process it started."""
    began = time.monotonic()
    say = (lambda msg: print(f"[soak {time.monotonic() - began:6.1f}s] {msg}", flush=True)) if cfg.verbose \
        else (lambda msg: None)
    work_dir = Path(tempfile.mkdtemp(prefix="soak-", dir=cfg.work_root))
    server = Server(work_dir / "valkey", free_port())
    chaos: Chaos | None = None
    report: SoakReport | None = None
    try:
        server.start()
        settings = engine_settings(cfg, server.url)
        eng = Engine.from_settings(Settings(**settings))
        plan_list = plan_jobs(cfg)
        plan = {p.job_id: p for p in plan_list}
        chaos = Chaos(cfg, work_dir, settings, server, say)
        chaos.start()
        say(f"valkey on {server.url} (AOF, everysec), {cfg.workers} workers, {len(chaos.schedulers)} schedulers, "
            f"{cfg.jobs} jobs over {cfg.seconds * 0.6:.0f} s, faults for {cfg.seconds:.0f} s")
        fault_end = began + cfg.seconds
        final_deadline = fault_end + cfg.settle_s
        producer = Producer(eng, plan_list, cfg.seconds * 0.6, final_deadline)
        producer.start()
        next_fault = time.monotonic() + cfg.warmup_s
        while time.monotonic() < fault_end:
            if time.monotonic() >= next_fault:
                fault = chaos.next_fault()
                if chaos.inject(fault):
                    say(f"fault: {fault} ({sum(chaos.counts.values())} so far, {len(producer.acked)} enqueued)")
                next_fault = time.monotonic() + chaos.rng.uniform(*cfg.fault_gap_s)
            chaos.supervise()
            time.sleep(0.1)
        say(f"faults stopped: {chaos.counts}; settling (at most {cfg.settle_s:.0f} s)")
        settle_start = time.monotonic()
        is_settled = False
        while time.monotonic() < final_deadline:
            chaos.supervise()
            if not producer.is_alive():
                is_settled = settled(eng.conn, plan, producer.acked)
                if is_settled:
                    break
            time.sleep(0.5)
        settle_s = time.monotonic() - settle_start
        stop_children(chaos.children())  # warm: a late duplicate run finishes before the tally
        producer.join(timeout=5)
        v = verify(eng.conn, plan, producer.acked, chaos)
        left = residue(eng.conn)
        notes = []
        if not chaos.has_scheduler:
            notes.append("engine/scheduler.py missing: scheduler fault skipped")
        if not is_settled:
            notes.append("did not settle within the bound")
        report = SoakReport(
            seconds=cfg.seconds, jobs_planned=cfg.jobs, faults=dict(chaos.counts),
            clients_killed=chaos.clients_killed, schedulers_at_once=len(chaos.schedulers),
            jobs_enqueued=len(producer.acked), enqueue_resends=producer.resends,
            completed_exactly_once=len([j for j in v["completed"] if j not in v["dup"]]),
            dead_lettered=len(v["dead"]), dead_lettered_expected=v["expected_dead"],
            dead_lettered_unexpected=v["unexpected_dead"], lost=len(v["lost"]),
            duplicated=len(v["dup"]), extra_completions=v["extra_completions"], redelivered_jobs=v["redelivered_jobs"],
            redelivered_side_effects=v["extra_runs"], redelivery_reasons=v["reasons"],
            transient_failures_retried=v["transient"], worker_died_recoveries=v["died"],
            completions_recorded=v["completions"], starts_recorded=v["starts"], runs_in_job_records=v["runs_total"],
            left_in_queues=left, children_exited_by_themselves=len(chaos.self_exits),
            server_unclean_stops=server.unclean_stops, settled=is_settled, settle_s=round(settle_s, 1),
            wall_s=round(time.monotonic() - began, 1), producer_error=producer.error,
            lost_ids=v["lost"][:50], duplicated_ids=v["dup"][:50], child_exits=chaos.self_exits, notes=notes)
        return report
    finally:
        if chaos is not None:
            stop_children(chaos.children(), grace_s=5)
        server.stop()
        if cfg.keep_dir or report is None or not report.passed:  # a failed or interrupted run keeps its logs
            say(f"kept {work_dir} (logs, AOF)")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


def format_report(r: SoakReport) -> str:
    rows = [
        ("fault phase (s)", r.seconds), ("wall time (s)", r.wall_s), ("settle time (s)", r.settle_s),
        ("worker SIGKILLs", r.faults["worker_kill"]), ("server restarts (graceful)", r.faults["server_restart"]),
        ("client-kill rounds", r.faults["client_kill"]), ("  connections dropped", r.clients_killed),
        ("scheduler SIGKILLs", r.faults["scheduler_kill"]), ("schedulers running at once", r.schedulers_at_once),
        ("jobs planned", r.jobs_planned), ("jobs enqueued (acknowledged)", r.jobs_enqueued),
        ("  enqueue batches re-sent", r.enqueue_resends),
        ("completed exactly once", r.completed_exactly_once), ("dead-lettered", r.dead_lettered),
        ("  by design (permanent)", r.dead_lettered_expected), ("  retries exhausted by faults", r.dead_lettered_unexpected),
        ("LOST", r.lost), ("DUPLICATED", r.duplicated), ("  completions beyond one per job", r.extra_completions),
        ("jobs whose side effect ran > 1 time", r.redelivered_jobs), ("  extra side-effect runs", r.redelivered_side_effects),
        ("  after a SIGKILL (before completion)", r.redelivery_reasons["sigkill_after_side_effect"]),
        ("  lease expired, worker alive", r.redelivery_reasons["lease_expired_worker_alive"]),
        ("  unexplained", r.redelivery_reasons["unexplained"]),
        ("transient failures retried", r.transient_failures_retried),
        ("runs recovered from dead workers", r.worker_died_recoveries),
        ("completions / starts recorded", f"{r.completions_recorded} / {r.starts_recorded}"),
        ("runs in job records", r.runs_in_job_records), ("left in queues", r.left_in_queues),
        ("children exited by themselves", r.children_exited_by_themselves),
        ("server stops needing SIGKILL", r.server_unclean_stops), ("result", "PASS" if r.passed else "FAIL"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"  {k.ljust(width)}  {v}" for k, v in rows]
    for label, value in (("producer error", r.producer_error), ("lost ids", r.lost_ids),
                         ("duplicated ids", r.duplicated_ids), ("notes", r.notes)):
        if value:
            lines.append(f"  {label}: {value}")
    for ex in r.child_exits[:4]:
        lines.append(f"  {ex['name']} exited by itself with code {ex['code']}; its log ends:")
        lines += [f"    | {line}" for line in ex["log_tail"][-6:]]
    return "\n".join(["soak report", *lines])


def _interrupt(_signum: int, _frame: Any) -> None:
    """SIGTERM ends the soak like Ctrl-C: the finally blocks stop every process."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=180.0, help="fault phase length (default 180)")
    p.add_argument("--jobs", type=int, default=3000)
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--settle", type=float, default=90.0, help="upper bound on the settle phase (s)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path, help="also write the report as JSON")
    p.add_argument("--keep-dir", action="store_true", help="keep the temp dir (logs, AOF)")
    p.add_argument("-q", "--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.seconds <= 0 or args.jobs <= 0 or args.workers <= 0:
        p.error("--seconds, --jobs and --workers must be positive")
    cfg = SoakConfig(seconds=args.seconds, jobs=args.jobs, workers=args.workers, settle_s=args.settle,
                     seed=args.seed, keep_dir=args.keep_dir, verbose=not args.quiet)
    signal.signal(signal.SIGTERM, _interrupt)
    report = run_soak(cfg)
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report.to_dict(), indent=2))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
