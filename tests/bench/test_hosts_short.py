"""Three worker hosts in their own network namespaces (about 30 s): one is cut off for less than the
lease and keeps its jobs, one for longer and its jobs are finished by the others, its late completions
refused; no job lost, none completed twice, every side effect once.

Needs root and iproute2 (ip netns, veth); skips and says why otherwise. Marked slow: deselect with
`-m "not slow"`, or set SKIP_SLOW_BENCH=1. The full run is `python -m bench hosts`.
"""
from __future__ import annotations

import os
import subprocess

import pytest

from bench.hosts import HostsConfig, format_report, run_hosts
from bench.scenario.netns import unavailable

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(180),
    pytest.mark.skipif(os.environ.get("SKIP_SLOW_BENCH") == "1", reason="SKIP_SLOW_BENCH=1"),
    pytest.mark.usefixtures("namespaces_allowed"),
]


@pytest.fixture
def namespaces_allowed():
    """Skip, saying why, where this process may not make network namespaces (probed when the test runs)."""
    why = unavailable()
    if why:
        pytest.skip(f"cannot make network namespaces here: {why}")


def left_behind(run_id: str) -> list[str]:
    """Namespaces and links whose names carry the run's id."""
    out = [subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout
           for args in (["netns", "list"], ["-o", "link", "show"])]
    return [line for text in out for line in text.splitlines() if f"jq{run_id}" in line or f"jqb{run_id}" in line]


def test_cut_off_host_is_fenced_and_its_jobs_finish_elsewhere(tmp_path):
    # a beat every 1 s; a cut is survived when a beat lands after it within the lease: the worst case here is
    # a beat failing at the cut (0.5 s socket timeout), the next 1 s later at 1.5 s, the lease out at 2 s
    report = run_hosts(HostsConfig(seconds=16, rate_per_s=20, lease_ms=3_000, reap_interval_ms=250,
                                   socket_timeout_s=0.5, short_cut_s=0.8, long_cut_s=4.5, settle_s=30,
                                   verbose=False, work_root=tmp_path))
    print(format_report(report))

    assert report.lost == 0 and report.settled and report.dead_letters == 0
    assert report.completed_twice == 0
    assert report.effects_missing == 0 and report.effects_more_than_once == 0
    # shorter than the lease: the host kept every job it was running, none went to the reaper
    assert report.short.in_flight and report.short_kept == len(report.short.in_flight)
    assert report.short_reaped == 0
    # longer than the lease: taken back during the cut, finished by the other hosts
    long = report.long
    assert long.in_flight and report.long_taken_back_before_restore
    assert set(long.finished_by.values()) <= {"h1", "h3"}
    assert all(runs >= 2 for runs in long.runs.values())
    # the cut host's own runs outlived the cut: their completions reached the server and were refused
    assert report.late_completions_refused >= 1
    assert long.resumed_s is not None and long.resumed_s < 10
    assert report.worker_exits == [] and report.producer_crash is None
    assert report.passed, report.problems()
    assert report.run_id and left_behind(report.run_id) == []  # everything the run made is gone
