"""A short Sentinel failover under load (about 30 s each): a new primary is elected and work goes on.

Marked slow: deselect with `-m "not slow"`, or set SKIP_SLOW_BENCH=1.
"""
from __future__ import annotations

import os

import pytest

from bench.sentinel_failover import FailoverConfig, format_report, run_failover

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(150),
    pytest.mark.skipif(os.environ.get("SKIP_SLOW_BENCH") == "1", reason="SKIP_SLOW_BENCH=1"),
]


def test_primary_crash_under_load_fails_over_and_processing_resumes(tmp_path):
    report = run_failover(FailoverConfig(seconds=12, how="kill", rate_per_s=20, settle_s=30, verbose=False,
                                         work_root=tmp_path))
    print(format_report(report))

    assert report.producer_crash is None and report.acked_before_failover > 0
    assert report.new_primary_port is not None and report.new_primary_port != report.old_primary_port
    assert report.failover_s is not None and report.failover_s < 20
    assert report.processing_resumed and report.completed_after_failover > 0
    assert report.settled and report.not_completed_with_record == 0
    # Replication is asynchronous: only writes not yet replicated when the primary died can be gone,
    # never more than were acknowledged in the last second before it.
    assert report.lost_total <= report.acked_last_second_before
    assert report.duplicate_deliveries == 0
    assert report.worker_exits == []


def test_sentinel_failover_command_is_followed_quickly(tmp_path):
    rate = 20
    report = run_failover(FailoverConfig(seconds=12, how="command", rate_per_s=rate, settle_s=15, verbose=False,
                                         work_root=tmp_path))
    print(format_report(report))

    assert report.producer_crash is None and report.acked_before_failover > 0
    assert report.new_primary_port is not None and report.settled
    assert report.resumed_after_s is not None and report.resumed_after_s < 6
    assert report.lost_acked_before_failover == 0
    # only writes made while the clients switch over (promotion + one follow interval) may be gone
    assert report.lost_total <= rate * (report.failover_s + 1.5)
