"""The soak's report: what was injected and what became of every job, tick and outbox row."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SoakReport:
    seconds: float
    jobs_planned: int
    faults: dict[str, int]
    clients_killed: int
    schedulers_at_once: int
    jobs_enqueued: int
    enqueue_resends: int
    enqueue_refusals: int
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
    ticks: dict[str, int] = field(default_factory=dict)
    outbox: dict[str, int] = field(default_factory=dict)
    scheduler_crashes_at_step: dict[str, int] = field(default_factory=dict)
    relay_crashes_before_mark_sent: int = 0
    producer_error: str | None = None
    lost_ids: list[str] = field(default_factory=list)
    duplicated_ids: list[str] = field(default_factory=list)
    child_exits: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def faults_total(self) -> int:
        return sum(self.faults.values())

    @property
    def ticks_missed(self) -> int:
        return self.ticks.get("call_ticks_missed", 0) + self.ticks.get("job_ticks_missed", 0)

    @property
    def passed(self) -> bool:
        return (self.lost == 0 and self.duplicated == 0 and self.extra_completions == 0
                and self.producer_error is None and self.ticks_missed == 0
                and self.ticks.get("job_ticks_enqueued_twice", 0) == 0
                and self.outbox.get("outbox_rows_lost", 0) == 0 and self.outbox.get("outbox_jobs_enqueued_twice", 0) == 0
                and self.outbox.get("outbox_rows_unsent", 0) == 0)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "faults_total": self.faults_total, "ticks_missed": self.ticks_missed,
                "passed": self.passed}


def format_report(r: SoakReport) -> str:
    f, t, o = r.faults, r.ticks, r.outbox
    rows = [
        ("fault phase (s)", r.seconds), ("wall time (s)", r.wall_s), ("settle time (s)", r.settle_s),
        ("FAULTS INJECTED", r.faults_total),
        ("  worker SIGKILLs", f["worker_kill"]), ("  scheduler SIGKILLs", f["scheduler_kill"]),
        ("  scheduler kills mid-tick (SCHEDULER_CRASH_AT)", f["scheduler_tick_kill"]),
        ("    crashes seen, by step", r.scheduler_crashes_at_step or "-"),
        ("  relay SIGKILLs", f["relay_kill"]), ("    relays exited between enqueue and mark-sent",
                                                r.relay_crashes_before_mark_sent),
        ("  server restarts (graceful)", f["server_restart"]), ("  client-kill rounds", f["client_kill"]),
        ("    connections dropped", r.clients_killed), ("  memory-full episodes", f["memory_full"]),
        ("  frozen-server pauses (SIGSTOP/SIGCONT)", f["server_freeze"]),
        ("schedulers running at once", r.schedulers_at_once),
        ("jobs planned", r.jobs_planned), ("jobs enqueued (acknowledged)", r.jobs_enqueued),
        ("  enqueue batches re-sent", r.enqueue_resends), ("  enqueue batches refused (memory full)", r.enqueue_refusals),
        ("completed exactly once", r.completed_exactly_once), ("dead-lettered", r.dead_lettered),
        ("  by design (permanent)", r.dead_lettered_expected), ("  retries exhausted by faults", r.dead_lettered_unexpected),
        ("LOST", r.lost), ("COMPLETED TWICE", r.duplicated), ("  completions beyond one per job", r.extra_completions),
        ("jobs whose side effect ran > 1 time", r.redelivered_jobs), ("  extra side-effect runs", r.redelivered_side_effects),
        ("  after a SIGKILL (before completion)", r.redelivery_reasons["sigkill_after_side_effect"]),
        ("  lease expired, worker alive", r.redelivery_reasons["lease_expired_worker_alive"]),
        ("  completion refused by the server", r.redelivery_reasons.get("server_refused_completion", 0)),
        ("  unexplained", r.redelivery_reasons["unexplained"]),
        ("transient failures retried", r.transient_failures_retried),
        ("runs recovered from dead workers", r.worker_died_recoveries),
        ("completions / starts recorded", f"{r.completions_recorded} / {r.starts_recorded}"),
        ("runs in job records", r.runs_in_job_records), ("left in queues", r.left_in_queues),
        ("schedule ticks expected", t.get("ticks_expected", 0)), ("TICKS MISSED", r.ticks_missed),
        ("  tick jobs enqueued twice", t.get("job_ticks_enqueued_twice", 0)),
        ("  call re-runs after a kill (at least once)", t.get("call_reruns_after_return", 0)),
        ("outbox rows committed", o.get("outbox_rows_committed", 0)), ("OUTBOX ROWS LOST", o.get("outbox_rows_lost", 0)),
        ("  outbox jobs enqueued twice", o.get("outbox_jobs_enqueued_twice", 0)),
        ("  outbox rows left unsent", o.get("outbox_rows_unsent", 0)),
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
