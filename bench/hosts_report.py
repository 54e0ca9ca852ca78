"""The worker-hosts scenario's report (bench/hosts.py): counted on the server and in the effects store."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from bench.hosts_jobs import connect as connect_store
from bench.scenario.report import CheckedReport, log_tails, table
from engine import keys

LATE_REFUSED = "finished after its lease was taken over"  # the worker's log line for a fenced completion
ADOPTED = "by a call whose reply was lost"  # the worker's log line for a job it took up after a lost reply


def host_of(worker: str) -> str:
    """Worker names are `h<k>-w<i>`: the host part."""
    return worker.split("-", 1)[0]


@dataclass
class CutResult:
    """One host's partition: its jobs in flight at the cut and what became of them (seconds from the cut)."""

    host: str
    seconds: float
    lease_ms: int
    in_flight: list[str]
    cut_ms: int = 0  # server clock
    restored_ms: int = 0
    taken_back_s: float | None = None  # no lease of the host's in-flight jobs is left
    finished_s: float | None = None  # every in-flight job finished
    resumed_s: float | None = None  # (seconds after the restore) the host's first completion
    finished_by: dict[str, str] = field(default_factory=dict)  # in-flight job -> host that finished it
    runs: dict[str, int] = field(default_factory=dict)  # in-flight job -> runs the engine counted


def tally(conn: redis.Redis, db: Path, ids: list[str], queue: str, keep_s: int) -> dict[str, Any]:
    """Per job: status, last worker, runs, failed attempts; the store's effects and runs; completions counted
    and when each job finished (ms, from RQ's finished registry, scored by finish time + `keep_s`)."""
    jobs: dict[str, dict[str, Any]] = {}
    F = keys.JobField
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        pipe = conn.pipeline(transaction=False)
        for job_id in chunk:
            pipe.hmget(keys.job(job_id), F.STATUS, F.WORKER_NAME, F.RUNS)
            pipe.llen(keys.attempts(job_id))
        raw = pipe.execute()
        for n, job_id in enumerate(chunk):
            (status, worker, runs), attempts = raw[2 * n], raw[2 * n + 1]
            jobs[job_id] = {"status": status.decode() if status else None,
                            "worker": worker.decode() if worker else None,
                            "runs": int(runs or 0), "attempts": int(attempts)}
    completed = 0
    for key in conn.scan_iter(match=keys.metrics_prefix("m", queue) + "*", count=1000):
        completed += int(conn.hget(key, "completed") or 0)
    ended = [int((score - keep_s) * 1000) for _m, score in conn.zrange(keys.finished(queue), 0, -1, withscores=True)]
    store = connect_store(db)
    effects = dict(store.execute("SELECT job_id, COUNT(*) FROM effects GROUP BY job_id").fetchall())
    deliveries = dict(store.execute("SELECT job_id, COUNT(*) FROM runs GROUP BY job_id").fetchall())
    store.close()
    return {"jobs": jobs, "completions": completed, "effects": effects, "deliveries": deliveries, "ended_ms": ended,
            "dead_letters": int(conn.zcard(keys.DLQ_ALL))}


@dataclass
class HostsReport(CheckedReport):
    hosts: int
    workers_per_host: int
    lease_ms: int
    reap_interval_ms: int
    seconds: float
    jobs: int
    acked: int
    lost: int
    finished: int
    dead_letters: int
    completed_twice: int
    effects_missing: int
    effects_more_than_once: int
    extra_deliveries: int
    short: CutResult | None
    long: CutResult
    long_finished_by_others: int
    long_taken_back_before_restore: bool
    late_completions_refused: int
    adopted_after_lost_reply: int
    rate_before_cut: float  # jobs finished per second, all hosts, in the 10 s before the long cut (or since the first)
    rate_during_cut: float  # the same while the long cut lasted
    short_kept: int
    short_reaped: int
    producer_errors: dict[str, int]
    producer_crash: str | None
    worker_exits: list[dict[str, Any]]
    settled: bool
    wall_s: float
    run_id: str = ""  # in the names of the run's namespaces and links
    notes: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, *, cfg: Any, counts: dict[str, Any], short: CutResult | None, long: CutResult, settled: bool,
              logs: list[Path], producer: Any, exits: list[dict[str, Any]], wall_s: float, run_id: str,
              notes: list[str]) -> "HostsReport":
        """The figures and checks from the tally, the cuts and the cut host's worker logs."""
        jobs, effects, deliveries = counts["jobs"], counts["effects"], counts["deliveries"]
        finished = [j for j, s in jobs.items() if s["status"] == "finished"]
        for cut in (short, long):
            if cut is not None:
                cut.finished_by = {j: host_of(jobs[j]["worker"] or "?") for j in cut.in_flight}
                cut.runs = {j: jobs[j]["runs"] for j in cut.in_flight}
        texts = {p: p.read_text(errors="replace") for p in logs if p.exists()}
        refused = sum(t.count(LATE_REFUSED) for p, t in texts.items() if p.name.startswith(long.host + "-"))
        ended = counts["ended_ms"]

        def rate(start_ms: int, end_ms: int) -> float:
            return round(sum(1 for t in ended if start_ms <= t < end_ms) * 1000 / max(1, end_ms - start_ms), 1)
        return cls(
            hosts=cfg.hosts, workers_per_host=cfg.workers_per_host, lease_ms=cfg.lease_ms,
            reap_interval_ms=cfg.reap_interval_ms, seconds=cfg.seconds, jobs=len(jobs), acked=len(producer.acked),
            lost=sum(1 for s in jobs.values() if s["status"] != "finished"), finished=len(finished),
            dead_letters=counts["dead_letters"],
            completed_twice=max(0, counts["completions"] - len(finished)),
            effects_missing=sum(1 for j in finished if effects.get(j, 0) == 0),
            effects_more_than_once=sum(1 for n in effects.values() if n > 1),
            extra_deliveries=sum(n - 1 for n in deliveries.values() if n > 1),
            short=short, long=long,
            long_finished_by_others=sum(1 for h in long.finished_by.values() if h != long.host),
            long_taken_back_before_restore=long.taken_back_s is not None and long.taken_back_s < long.seconds,
            late_completions_refused=refused, adopted_after_lost_reply=sum(t.count(ADOPTED) for t in texts.values()),
            rate_before_cut=rate(max(long.cut_ms - 10_000, min(ended, default=0)), long.cut_ms), rate_during_cut=rate(long.cut_ms, long.restored_ms),
            short_kept=sum(1 for j in short.in_flight if short.finished_by[j] == short.host
                           and jobs[j]["attempts"] == 0) if short else 0,
            short_reaped=sum(1 for j in short.in_flight if jobs[j]["attempts"] > 0) if short else 0,
            producer_errors=dict(producer.errors), producer_crash=producer.crash, worker_exits=exits,
            settled=settled, wall_s=round(wall_s, 1), run_id=run_id, notes=notes)

    def checks(self) -> list[tuple[bool, str]]:
        """Nothing lost, nothing completed twice, effects once; the long cut fenced, the short one harmless."""
        out = [(self.lost == 0, f"{self.lost} job(s) not finished (lost)"),
               (self.completed_twice == 0, f"{self.completed_twice} completion(s) recorded twice"),
               (self.dead_letters == 0, f"{self.dead_letters} job(s) dead-lettered"),
               (self.effects_missing == 0, f"{self.effects_missing} finished job(s) without their side effect"),
               (self.effects_more_than_once == 0, "a side effect exists more than once"),
               (bool(self.long.in_flight), "the long cut found no job in flight"),
               (self.long_taken_back_before_restore, "the cut host's jobs were not taken back during the cut"),
               (self.long_finished_by_others == len(self.long.in_flight),
                "not every job of the cut host was finished by another host"),
               (self.late_completions_refused >= 1, "no late completion of the cut host was refused"),
               (self.long.resumed_s is not None, "the cut host did not complete a job after its link returned"),
               (self.settled, "jobs were still unfinished at the end"),
               (self.producer_crash is None, "the producer crashed"),
               (not self.worker_exits, "a worker process exited")]
        if self.short is not None:
            out += [(bool(self.short.in_flight), "the short cut found no job in flight"),
                    (self.short_kept == len(self.short.in_flight) and self.short_reaped == 0,
                     "the host cut for less than the lease lost a job to the reaper")]
        return out


def format_report(r: HostsReport) -> str:
    """The report as a text table, with the failed checks and any worker that exited."""
    def cut_rows(c: CutResult | None, what: str) -> list[tuple[str, Any]]:
        if c is None:
            return [(what, "skipped")]
        return [(f"{what}: {c.host} cut for (s) / lease (s)", f"{c.seconds:g} / {c.lease_ms / 1000:g}"),
                ("  jobs in flight on it at the cut", len(c.in_flight)),
                ("  none of their leases left after (s from the cut)", c.taken_back_s),
                ("  all of them finished after (s from the cut)", c.finished_s),
                ("  finished by host", ", ".join(sorted(set(c.finished_by.values()))) or "-"),
                ("  its first completion after the link returned (s)", c.resumed_s)]
    rows = [("hosts x workers", f"{r.hosts} x {r.workers_per_host}"),
            ("lease / reap interval (ms)", f"{r.lease_ms} / {r.reap_interval_ms}"),
            ("load phase (s) / wall time (s)", f"{r.seconds:g} / {r.wall_s}"),
            ("jobs (acknowledged by the producer + pinned)", f"{r.jobs} ({r.acked} + {r.jobs - r.acked})"),
            ("LOST (not finished)", r.lost), ("finished", r.finished), ("dead letters", r.dead_letters),
            ("completed twice (completions counted - finished)", r.completed_twice),
            ("side effects missing / more than once", f"{r.effects_missing} / {r.effects_more_than_once}"),
            ("extra deliveries (at least once; the effect stays once)", r.extra_deliveries),
            *cut_rows(r.short, "short cut"),
            ("  kept by their host (no reap) / reaped", f"{r.short_kept} / {r.short_reaped}" if r.short else "-"),
            *cut_rows(r.long, "long cut"),
            ("  finished by other hosts", r.long_finished_by_others),
            ("  late completions refused (fenced by the lease)", r.late_completions_refused),
            ("  jobs finished per second, all hosts: 10 s before / during the cut",
             f"{r.rate_before_cut} / {r.rate_during_cut}"),
            ("jobs a worker took up after a lost dequeue reply", r.adopted_after_lost_reply),
            ("producer errors (retried)", r.producer_errors or "none"),
            ("worker processes that exited", len(r.worker_exits)),
            ("settled", r.settled), ("result", "PASS" if r.passed else "FAIL")]
    lines = table("worker hosts report", rows)
    lines += log_tails(r.worker_exits, what="worker")
    lines += [f"  FAIL: {why}" for why in r.problems()]
    lines += [f"  note: {note}" for note in r.notes]
    return "\n".join(lines)
