"""The cluster failover scenario's report (bench/cluster_failover.py): what killing a master cost."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.scenario.report import CheckedReport, log_tails, table

RESUME_TARGET_S = 10.0  # issue 16: processing resumes within 10 s of a master's crash


@dataclass
class ClusterFailoverReport(CheckedReport):
    wait_replicas: int
    seconds: float
    killed_port: int
    queues_on_killed_master: list[str]
    acked_total: int
    acked_before_kill: int
    acked_last_second_before: int
    lost_total: int
    lost_ids: list[str]
    completed: int
    not_completed_with_record: int
    redelivered_runs: int
    promoted_after_s: float | None
    killed_master_rejoined_as_replica: bool
    resumed_after_s: float | None
    enqueue_ms_p50: float | None
    enqueue_ms_p99: float | None
    wait_cost: dict[str, float | None]
    reads_after_promotion: str  # every-master reads (memory, the API's pre-write ping) right after it
    producer_errors: dict[str, int]
    producer_crash: str | None
    worker_exits: list[dict[str, Any]]
    settled: bool
    wall_s: float
    notes: list[str] = field(default_factory=list)

    def checks(self) -> list[tuple[bool, str]]:
        out = [(self.promoted_after_s is not None, "no replica was promoted"),
               (self.resumed_after_s is not None and self.resumed_after_s <= RESUME_TARGET_S,
                f"processing on the killed master's queues did not resume within {RESUME_TARGET_S:g} s"),
               (self.settled, "the surviving jobs and a canary did not all complete in time"),
               (self.not_completed_with_record == 0, "jobs still on the cluster were not completed"),
               (self.producer_crash is None, "the producer crashed")]
        out.append((self.reads_after_promotion == "ok", f"reads of every master failed: {self.reads_after_promotion}"))
        out.append((self.killed_master_rejoined_as_replica, "the killed master did not rejoin as a replica"))
        if self.wait_replicas:
            out.append((self.lost_total == 0, "acknowledged jobs were lost although each waited for a replica"))
        return out


def format_report(r: ClusterFailoverReport) -> str:
    rows = [("enqueue waits for replicas", r.wait_replicas), ("load (s)", r.seconds),
            ("killed master (port), its queues", f"{r.killed_port}: {', '.join(r.queues_on_killed_master)}"),
            ("replica promoted after (s)", r.promoted_after_s),
            ("killed master restarted, rejoined as a replica", r.killed_master_rejoined_as_replica),
            ("memory view and API pre-write check right after it", r.reads_after_promotion),
            ("its queues resumed after (s)", f"{r.resumed_after_s} (target <= {RESUME_TARGET_S:g})"),
            ("acknowledged jobs", r.acked_total), ("acknowledged before the kill", r.acked_before_kill),
            ("acknowledged in its last second", r.acked_last_second_before),
            ("acknowledged jobs lost", f"{r.lost_total} {r.lost_ids[:5] if r.lost_ids else ''}".strip()),
            ("completed", r.completed), ("left uncompleted with a record", r.not_completed_with_record),
            ("runs redelivered after a lost completion", r.redelivered_runs),
            ("enqueue latency p50 / p99 (ms)", f"{r.enqueue_ms_p50} / {r.enqueue_ms_p99}"),
            ("WAIT's cost, sequential enqueues p50 / p99 (ms)",
             f"without {r.wait_cost['wait0_p50_ms']} / {r.wait_cost['wait0_p99_ms']}, with WAIT 1 "
             f"{r.wait_cost['wait1_p50_ms']} / {r.wait_cost['wait1_p99_ms']}"),
            ("producer errors (re-sent with the same id)", r.producer_errors or "none"),
            ("worker exits", len(r.worker_exits)), ("settled", r.settled), ("wall time (s)", r.wall_s),
            ("result", "PASS" if r.passed else "FAIL: " + "; ".join(r.problems()))]
    lines = table("Valkey Cluster failover (3 masters + 3 replicas, SIGKILL of a master)", rows)
    lines += [f"  note: {n}" for n in r.notes] + log_tails(r.worker_exits, what="worker")
    return "\n".join(lines)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))], 2)
