"""The Sentinel failover scenario's report (bench/sentinel_failover.py): what the failover cost."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import redis

from bench import soak_jobs
from bench.scenario.report import CheckedReport, log_tails, table
from bench.scenario.servers import ask
from engine import keys


@dataclass
class FailoverReport(CheckedReport):
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

    def checks(self) -> list[tuple[bool, str]]:
        """Lost jobs are reported, not failed (replication is asynchronous): a run passes with a new
        primary, processing resumed by itself and every job that survived the failover completed."""
        return [(self.new_primary_port is not None, "no new primary was elected"),
                (self.processing_resumed, "no job completed on the new primary"),
                (self.settled, "the surviving jobs and a canary did not all complete in time"),
                (self.not_completed_with_record == 0, "jobs still on the new primary were not completed"),
                (self.producer_crash is None, "the producer crashed")]


def done_count(port: int) -> int:
    """Jobs whose side effect ran, on the server at `port`."""
    return int(ask(port, lambda c: c.scard(soak_jobs.DONE)))


def tally(port: int, acked: list[tuple[str, float]]) -> dict[str, Any]:
    return ask(port, lambda conn: _tally_on(conn, acked))


def _tally_on(conn: redis.Redis, acked: list[tuple[str, float]]) -> dict[str, Any]:
    """Per acknowledged job: record exists, status, side effect done; plus redelivery counts."""
    pipe = conn.pipeline(transaction=False)
    for job_id, _t in acked:
        pipe.exists(keys.job(job_id))
        pipe.hget(keys.job(job_id), keys.JobField.STATUS)
        pipe.sismember(soak_jobs.DONE, job_id)
    raw = pipe.execute()
    out = {}
    for n, (job_id, _t) in enumerate(acked):
        exists, status, done = raw[n * 3:n * 3 + 3]
        out[job_id] = {"exists": bool(exists), "status": status.decode() if status else None, "done": bool(done)}
    runs = [int(v) for v in conn.hvals(soak_jobs.RUNS)]
    dups = sum(int(v) for v in conn.hvals(soak_jobs.DUPLICATES))
    return {"jobs": out, "extra_runs": sum(r - 1 for r in runs if r > 1), "dups": dups}


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
    lines = table("sentinel failover report", rows)
    if r.producer_crash:
        lines.append(f"  PRODUCER CRASHED: {r.producer_crash}")
    if r.producer_first_error:
        lines.append(f"  first producer error: {r.producer_first_error}")
    if r.lost_ids:
        lines.append(f"  lost ids: {r.lost_ids}")
    lines += log_tails(r.worker_exits, what="worker")
    for why in r.problems():
        lines.append(f"  FAIL: {why}")
    for note in r.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines)
