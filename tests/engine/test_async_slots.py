"""A queue whose processor is `async def`: its slots are tasks of one event loop (engine/async_slots.py)."""
from __future__ import annotations

import signal
import time

from engine import keys
from engine.enqueue import EnqueueRequest, enqueue
from engine.slots import SlotSpec
from tests.engine.support import burst_pool, put, spawn_worker, wait_until
from tests.engine.test_slots import errors_of, most_at_once

ASYNC = "tests.engine.async_jobfuncs.adispatch"


def async_engine(engine_factory, queue: str = "dailyReports", **policy):
    eng = engine_factory(queue_overrides={queue: {"func": ASYNC, "rate_limit_per_min": 1_000_000, **policy}})
    eng.conn.flushdb()
    return eng


def aput(eng, queue: str, fn: str, **data):
    return enqueue(eng, EnqueueRequest(queue, {"fn": fn, **data}))


def aspans(eng, queue: str) -> list[tuple[float, float, int]]:
    rows = [s.split() for s in eng.conn.lrange(f"test:aspans:{queue}", 0, -1)]
    return [(float(a), float(b), int(t)) for a, b, t in rows]


def test_async_slots_run_at_most_their_concurrency_at_once_all_in_one_thread(engine_factory):
    eng = async_engine(engine_factory)
    ids = [aput(eng, "dailyReports", "aspan", seconds=0.3).id for _ in range(18)]
    started = time.monotonic()
    proc = spawn_worker(eng, ["dailyReports"], "--concurrency", "6", "--burst")
    assert proc.wait(timeout=30) == 0, proc.stderr.read()
    took = time.monotonic() - started
    assert all(eng.conn.hget(keys.job(i), "status") == b"finished" for i in ids)
    spans = aspans(eng, "dailyReports")
    assert most_at_once([(a, b) for a, b, _ in spans]) == 6
    assert len({t for _, _, t in spans}) == 1  # tasks of one loop, not a thread per slot
    assert took < 18 * 0.3 / 2  # they really overlapped


def test_async_slots_share_round_trips_and_every_job_completes_once(engine_factory):
    eng = async_engine(engine_factory)
    ids = [aput(eng, "dailyReports", "amark").id for _ in range(300)]
    eng.conn.script_flush()  # as after a server restart: the loop's first calls meet NOSCRIPT and load them
    pool = burst_pool(eng, [SlotSpec(("dailyReports",), 8)])
    assert all(eng.conn.hget(keys.job(i), "status") == b"finished" for i in ids)
    assert all(eng.conn.hget("test:runs", i) == b"1" for i in ids)
    [loop] = pool._loops
    assert loop.combiner.completed == 300 and loop.combiner.calls < 300  # several jobs per call


def test_an_async_failure_goes_down_the_failure_ladder(engine_factory):
    eng = async_engine(engine_factory, retries=1)
    job = aput(eng, "dailyReports", "afail")
    proc = spawn_worker(eng, ["dailyReports"], "--concurrency", "2")
    try:
        wait_until(lambda: errors_of(eng, job.id) == ["RuntimeError", "RuntimeError"], timeout_s=15)
        wait_until(lambda: eng.conn.hget(keys.job(job.id), "status") == b"failed", timeout_s=5)
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0


def test_an_async_job_past_its_timeout_is_failed_on_time_and_its_slot_takes_the_next(engine_factory):
    eng = async_engine(engine_factory, timeout_s=1, retries=0)
    slow = aput(eng, "dailyReports", "aspan", seconds=30)
    after = aput(eng, "dailyReports", "amark")
    proc = spawn_worker(eng, ["dailyReports"], "--concurrency", "1")
    try:
        wait_until(lambda: eng.conn.hget(keys.job(after.id), "status") == b"finished", timeout_s=15)
        assert errors_of(eng, slow.id) == ["JobTimeoutError"]
        raw = eng.conn.hgetall(keys.job(slow.id))
        late_ms = int(raw[keys.JobField.ENDED_MS.encode()]) - int(raw[keys.JobField.STARTED_MS.encode()]) - 1000
        assert 0 <= late_ms <= 1000, late_ms
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0


def test_a_coroutine_that_blocks_the_loop_is_failed_on_time_and_its_late_result_discarded(engine_factory):
    eng = async_engine(engine_factory, timeout_s=1, retries=0)
    blocker = aput(eng, "dailyReports", "ablock", seconds=3)
    proc = spawn_worker(eng, ["dailyReports"], "--concurrency", "2")
    try:
        wait_until(lambda: eng.conn.hget(keys.job(blocker.id), "status") == b"started", timeout_s=15)
        wait_until(lambda: errors_of(eng, blocker.id) == ["JobTimeoutError"], timeout_s=2.5)  # while still blocked
        assert not eng.conn.sismember("test:returned", blocker.id)
        wait_until(lambda: eng.conn.sismember("test:returned", blocker.id), timeout_s=10)
        after = aput(eng, "dailyReports", "amark")  # the loop is free again and takes work
        wait_until(lambda: eng.conn.hget(keys.job(after.id), "status") == b"finished", timeout_s=10)
        assert eng.conn.hget(keys.job(blocker.id), "status") != b"finished"
        assert errors_of(eng, blocker.id) == ["JobTimeoutError"]
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0


def test_first_sigterm_lets_every_async_slot_finish_its_job_and_take_no_new_one(engine_factory):
    eng = async_engine(engine_factory)
    running = [aput(eng, "dailyReports", "aspan", seconds=1.5).id for _ in range(3)]
    proc = spawn_worker(eng, ["dailyReports"], "--concurrency", "3")
    try:
        wait_until(lambda: all(eng.conn.hget(keys.job(i), "status") == b"started" for i in running), timeout_s=15)
        queued = aput(eng, "dailyReports", "amark")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert all(eng.conn.hget(keys.job(i), "status") == b"finished" for i in running)
        assert eng.conn.hget(keys.job(queued.id), "status") == b"queued"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_thread_slot_runs_an_async_processor_to_its_end_beside_sync_ones(engine_factory):
    eng = async_engine(engine_factory)
    sync_job = put(eng, "orderExpiry", "ok")
    async_job = aput(eng, "dailyReports", "amark")
    pool = burst_pool(eng, [SlotSpec(("orderExpiry", "dailyReports"), 2)], timeout_s=30)  # mixed: thread slots
    assert not pool._loops
    assert eng.conn.hget(keys.job(async_job.id), "status") == b"finished"
    assert eng.conn.hget(keys.job(sync_job.id), "status") == b"finished"
    assert eng.conn.hget(keys.job(async_job.id), keys.JobField.RESULT) == f'{{"marked": "{async_job.id}"}}'.encode()
