"""`python -m bench server_work` end to end on the embedded server (BullMQ left out: no npm in the suite): the
figures are read around the drain only, and slots sharing round trips cost the server fewer commands a job."""
from __future__ import annotations

import pytest

from bench.harness import Bench
from bench.server_work import server_work


@pytest.mark.timeout(120)
def test_slots_sharing_round_trips_cost_the_server_fewer_commands_per_job_than_one_slot():
    bench = Bench()
    try:
        rows = server_work(bench, sizes=((1, 1000), (20, 1000)), with_bullmq=False)
    finally:
        bench.stop()
    figures = {(r["figure"].split(",")[0], "concurrency 1 " in r["figure"]): r["ours"] for r in rows}
    one, shared = figures[("server commands per job", True)], figures[("server commands per job", False)]
    # one slot: a step (complete + take) and its metric writes per job, the enqueue left out (~27 today)
    assert 10 <= one <= 60, rows
    assert shared < 0.8 * one, rows
    assert all(r["rq"] is None for r in rows), rows
    assert all(r["ours"] > 0 for r in rows if not r["figure"].startswith("worker process")), rows
    # the worker's CPU is its run less an empty burst's start-up: at 1,000 jobs the start-up's noise is as large
    # as the jobs' share (it is clamped at zero), so only its sign is checked here
    assert all(r["ours"] >= 0 for r in rows), rows
