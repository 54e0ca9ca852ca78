"""Chaos soak: a known set of jobs, schedule ticks and outbox rows through real processes while
faults are injected at random (the pieces are in bench/soaklib/).

    python -m bench.soak [--seconds 180] [--jobs 3000] [--json out.json]

Starts its own Valkey (AOF on, appendfsync everysec) on a free loopback port in a temp dir, worker
processes, two scheduler processes on a sped-up clock (a minute cron ticks every few seconds) and
the outbox relay. For `--seconds` it enqueues the jobs (bench.soak_jobs.count: an idempotent
counter; some fail once, a few permanently), commits outbox rows to a SQLite business database, and
injects faults (bench/soaklib/faults.py): SIGKILLs of workers, schedulers and the relay, schedulers
that exit at a chosen step of a tick, graceful server restarts, dropped connections, memory-full
episodes and frozen-server pauses. Then faults stop, the system settles (bounded) and everything is
checked: every job completed exactly once or dead-lettered, every tick run once, every outbox row
enqueued once. Exit code 0 only if so.

Restarts are graceful, so the AOF is flushed and nothing acknowledged may be lost. A crash of the
server itself (not injected here) can lose up to the last second of writes with appendfsync everysec.
An enqueue refused during a memory-full episode is not acknowledged: the producer sends it again.
"""
from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from domain.db import dispose_engines, engine_for
from engine.app import Engine
from engine.settings import Settings

from bench.soaklib import outbox, ticks
from bench.soaklib.faults import Chaos, tick_env
from bench.soaklib.plan import Producer, SoakConfig, engine_settings, plan_jobs
from bench.scenario.processes import Child, child_env, exit_record, free_port, settings_env, stop_children
from bench.scenario.servers import Server
from bench.soaklib.report import SoakReport, format_report
from bench.soaklib.verify import residue, settled, verify

# bench/sentinel_failover.py starts its processes with these
__all__ = ["SoakConfig", "SoakReport", "format_report", "plan_jobs", "run_soak", "main",
           "Child", "Server", "child_env", "exit_record", "free_port", "settings_env", "stop_children"]


def _settled(eng: Engine, plan: dict, producer: Producer, rows: outbox.OutboxProducer, url: str) -> bool:
    if producer.is_alive() or rows.is_alive():
        return False
    return settled(eng.conn, plan, producer.acked) and outbox.unsent(url) == 0


def run_soak(cfg: SoakConfig) -> SoakReport:
    """Run the whole soak and return its report; always stops every process it started."""
    began = time.monotonic()
    say = (lambda msg: print(f"[soak {time.monotonic() - began:6.1f}s] {msg}", flush=True)) if cfg.verbose \
        else (lambda msg: None)
    work_dir = Path(tempfile.mkdtemp(prefix="soak-", dir=cfg.work_root))
    server = Server(work_dir / "valkey", free_port())
    chaos: Chaos | None = None
    report: SoakReport | None = None
    url = outbox.database_url(work_dir)
    try:
        server.start()
        engine_for(url)  # the business schema, once, before any child opens the file
        settings = engine_settings(cfg, server.url)
        eng = Engine.from_settings(Settings(**settings))
        plan_list = plan_jobs(cfg)
        plan = {p.job_id: p for p in plan_list}
        wall0 = time.time()
        env = {**settings_env(settings), **tick_env(cfg, wall0), "OUTBOX_RELAY_INTERVAL_S": str(cfg.relay_interval_s)}
        chaos = Chaos(cfg, work_dir, env, server, say)
        chaos.start()
        say(f"valkey on {server.url} (AOF, everysec), {cfg.workers} workers, {len(chaos.schedulers)} schedulers "
            f"(a tick every {ticks.tick_seconds(cfg.tick_scale):g} s), the outbox relay, {cfg.jobs} jobs and "
            f"{cfg.outbox_rows} outbox rows over {cfg.seconds * 0.6:.0f} s, faults for {cfg.seconds:.0f} s")
        # Faults wait for the schedulers' first pass: the tick tally starts from the tick it sets, and a
        # late read (after a fault delayed it) would start the tally past ticks that already ran.
        first_tick = _await_first_pass(eng, chaos, bound_s=30.0)
        fault_end = time.monotonic() + cfg.seconds
        final_deadline = fault_end + cfg.settle_s
        producer = Producer(eng, plan_list, cfg.seconds * 0.6, final_deadline)
        rows = outbox.OutboxProducer(url, cfg.outbox_rows, cfg.seconds * 0.6)
        producer.start()
        rows.start()
        next_fault = time.monotonic() + cfg.warmup_s
        while time.monotonic() < fault_end:
            if first_tick is None and chaos.episode is None:
                first_tick = _first_tick(eng)
            if time.monotonic() >= next_fault:
                fault = chaos.next_fault()
                if chaos.inject(fault):
                    say(f"fault: {fault} ({sum(chaos.counts.values())} so far, {len(producer.acked)} enqueued)")
                next_fault = time.monotonic() + chaos.rng.uniform(*cfg.fault_gap_s)
            chaos.end_episode()
            chaos.supervise()
            time.sleep(0.05)
        chaos.end_episode(force=True)
        say(f"faults stopped: {chaos.counts}; settling (at most {cfg.settle_s:.0f} s)")
        settle_start = time.monotonic()
        is_settled = False
        while time.monotonic() < final_deadline:
            chaos.supervise()
            if first_tick is None:
                first_tick = _first_tick(eng)
            is_settled = _settled(eng, plan, producer, rows, url)
            if is_settled:
                break
            time.sleep(0.5)
        settle_s = time.monotonic() - settle_start
        stop_wall = time.time()
        stop_children(chaos.children())  # warm: a late duplicate run finishes before the tally
        producer.join(timeout=5)
        rows.join(timeout=5)
        v = verify(eng.conn, plan, producer.acked, chaos)
        left = residue(eng.conn)
        tick_counts = ticks.tally(eng.conn, first_tick, stop_wall - ticks.tick_seconds(cfg.tick_scale) - 1.0,
                                  cfg.tick_scale, wall0) if first_tick else {}
        notes = [] if is_settled else ["did not settle within the bound"]
        if first_tick is None:
            notes.append("the schedulers never made their first pass")
        if rows.error:
            notes.append(f"outbox producer: {rows.error}")
        report = SoakReport(
            seconds=cfg.seconds, jobs_planned=cfg.jobs, faults=dict(chaos.counts),
            clients_killed=chaos.clients_killed, schedulers_at_once=len(chaos.schedulers),
            jobs_enqueued=len(producer.acked), enqueue_resends=producer.resends, enqueue_refusals=producer.refusals,
            completed_exactly_once=len([j for j in v["completed"] if j not in v["dup"]]),
            dead_lettered=len(v["dead"]), dead_lettered_expected=v["expected_dead"],
            dead_lettered_unexpected=v["unexpected_dead"], lost=len(v["lost"]),
            duplicated=len(v["dup"]), extra_completions=v["extra_completions"], redelivered_jobs=v["redelivered_jobs"],
            redelivered_side_effects=v["extra_runs"], redelivery_reasons=v["reasons"],
            transient_failures_retried=v["transient"], worker_died_recoveries=v["died"],
            completions_recorded=v["completions"], starts_recorded=v["starts"], runs_in_job_records=v["runs_total"],
            left_in_queues=left, children_exited_by_themselves=len(chaos.self_exits),
            server_unclean_stops=server.unclean_stops, settled=is_settled, settle_s=round(settle_s, 1),
            wall_s=round(time.monotonic() - began, 1), ticks=tick_counts, outbox=outbox.tally(eng.conn, url),
            scheduler_crashes_at_step=dict(chaos.crashes_at_step), relay_crashes_before_mark_sent=chaos.relay_crashes,
            producer_error=producer.error or rows.error, lost_ids=v["lost"][:50], duplicated_ids=v["dup"][:50],
            child_exits=chaos.self_exits, notes=notes)
        return report
    finally:
        if chaos is not None:
            chaos.end_episode(force=True)
            stop_children(chaos.children(), grace_s=5)
        server.stop()
        dispose_engines()
        if cfg.keep_dir or report is None or not report.passed:  # a failed or interrupted run keeps its logs
            say(f"kept {work_dir} (logs, AOF)")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


def _await_first_pass(eng: Engine, chaos: Chaos, bound_s: float) -> int | None:
    """The first tick, once a scheduler has made its first pass (None if none did within `bound_s`)."""
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        chaos.supervise()
        first = _first_tick(eng)
        if first is not None:
            return first
        time.sleep(0.05)
    return None


def _first_tick(eng: Engine) -> int | None:
    try:
        return ticks.first_tick(eng.conn)
    except Exception:  # noqa: BLE001 - the server may be restarting; asked again on the next loop
        return None


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
