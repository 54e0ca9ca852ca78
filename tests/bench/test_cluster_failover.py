"""A short Valkey Cluster failover under load (3 masters + 3 replicas, about 25 s): a master is SIGKILLed,
its replica takes over, its queues resume within 10 s, and with ENQUEUE_WAIT_REPLICAS=1 no acknowledged job
is lost. The run without WAIT is the bench's (`python -m bench.cluster_failover`). Marked slow: deselect with `-m "not slow"`, or set SKIP_SLOW_BENCH=1."""
from __future__ import annotations

import os

import pytest

from bench.cluster_failover import ClusterFailoverConfig, format_report, run_cluster_failover

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(150),
    pytest.mark.skipif(os.environ.get("SKIP_SLOW_BENCH") == "1", reason="SKIP_SLOW_BENCH=1"),
]


def test_a_killed_master_is_replaced_its_queues_resume_and_with_wait_no_acknowledged_job_is_lost(tmp_path):
    report = run_cluster_failover(ClusterFailoverConfig(seconds=12, rate_per_s=30, wait_replicas=1, verbose=False,
                                                        restart_killed_after_s=4, work_root=tmp_path))
    print(format_report(report))
    assert report.passed, report.problems()
    assert report.acked_before_kill > 0 and report.completed > report.acked_before_kill
    assert report.promoted_after_s is not None and report.resumed_after_s <= 10
    assert report.lost_total == 0 and report.killed_master_rejoined_as_replica
    # WAIT's cost is measured beside the plain enqueue (the full run without WAIT: python -m bench.cluster_failover)
    assert report.wait_cost["wait1_p50_ms"] is not None and report.wait_cost["wait0_p50_ms"] is not None
