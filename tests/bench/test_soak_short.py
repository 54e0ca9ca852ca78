"""A short chaos soak (about 20 s of faults): no job lost or duplicated, no tick missed, no outbox row
lost, every kind of fault injected."""
from __future__ import annotations

import pytest

from bench.soak import SoakConfig, format_report, plan_jobs, run_soak

JOBS = 300


@pytest.mark.timeout(180)
def test_short_soak_loses_and_duplicates_nothing(tmp_path):
    cfg = SoakConfig(seconds=20, jobs=JOBS, outbox_rows=300, settle_s=60, verbose=False, work_root=tmp_path)
    report = run_soak(cfg)
    print(format_report(report))

    assert report.producer_error is None
    assert report.jobs_enqueued == JOBS
    assert report.settled, report.notes
    assert report.lost == 0, report.lost_ids
    assert report.duplicated == 0, report.duplicated_ids
    assert report.extra_completions == 0
    assert report.completed_exactly_once + report.dead_lettered == JOBS
    permanent = sum(1 for j in plan_jobs(cfg) if j.kind == "permanent")
    assert report.dead_lettered_expected == permanent
    assert report.left_in_queues == 0
    assert report.redelivery_reasons["unexplained"] == 0
    assert report.transient_failures_retried > 0
    for fault, injected in report.faults.items():
        assert injected >= 1, f"{fault} was never injected: {report.faults}"
    assert sum(report.scheduler_crashes_at_step.values()) >= 1  # a scheduler really died mid-tick
    assert report.ticks["ticks_expected"] >= 1 and report.ticks_missed == 0, report.ticks
    assert report.ticks["job_ticks_enqueued_twice"] == 0
    assert report.outbox == {"outbox_rows_committed": 300, "outbox_rows_lost": 0, "outbox_jobs_enqueued_twice": 0,
                             "outbox_rows_unsent": 0}
    assert report.server_unclean_stops == 0
    assert report.passed
