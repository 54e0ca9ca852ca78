"""Global rate limits across worker processes, on the server's clock, in a scaled window."""
import time

from engine import control, keys
from tests.engine.support import put, spawn_worker, thread_workers, wait_until

WINDOW_MS = 1_000


def starts_of(engine, ids):
    return sorted(int(engine.conn.hget(keys.job(i), "jq_started_ms")) for i in ids)


def most_in_any_window(starts_ms, window_ms):
    best, j = 0, 0
    for i, t in enumerate(starts_ms):
        while starts_ms[j] <= t - window_ms:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_four_worker_processes_never_exceed_the_limit_in_any_rolling_window(engine_factory, engine):
    limit = 20
    eng = engine_factory(rate_window_ms=WINDOW_MS, queue_overrides={"whatsapp": {"rate_limit_per_min": limit}})
    ids = [put(eng, "whatsapp", "mark").id for _ in range(100)]
    procs = [spawn_worker(eng, ["whatsapp"]) for _ in range(4)]
    try:
        wait_until(lambda: eng.conn.scard("test:done") == 100, timeout_s=30)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)
    starts = starts_of(eng, ids)
    assert most_in_any_window(starts, WINDOW_MS) <= limit  # zero over-admission
    # use of the limit under a backlog: 100 starts at 20 per window need just over 4 windows
    span_ms = starts[-1] - starts[0]
    used = (len(starts) - limit) / (span_ms / WINDOW_MS * limit)
    assert used >= 0.95, (used, span_ms)


def test_retries_count_as_starts(engine_factory, engine):
    eng = engine_factory(rate_window_ms=60_000, queue_overrides={"whatsapp": {"rate_limit_per_min": 3}})
    job = put(eng, "whatsapp", "always_fail")
    with thread_workers(eng, ["whatsapp"]):
        wait_until(lambda: eng.conn.llen(keys.attempts(job.id)) == 3, timeout_s=5)
        time.sleep(0.3)
        # the fourth run is held back by the limit: still scheduled/queued, not failed
        assert eng.conn.llen(keys.attempts(job.id)) == 3
        assert eng.conn.hget(keys.job(job.id), "status") in (b"queued", b"scheduled")
        assert control.state("whatsapp", engine=eng)["rate_used"] == 3


def test_held_back_job_keeps_its_place_priority_and_attempts(engine_factory, engine, tmp_path):
    eng = engine_factory(rate_window_ms=400, queue_overrides={"whatsapp": {"rate_limit_per_min": 1}})
    out = tmp_path / "order"
    for tag, prio in [("a", "low"), ("b", "high"), ("c", "normal")]:
        put(eng, "whatsapp", "record", {"path": str(out), "tag": tag}, priority=prio)
    with thread_workers(eng, ["whatsapp"]):
        wait_until(lambda: out.exists() and len(out.read_text().splitlines()) == 3, timeout_s=5)
    lines = out.read_text().splitlines()
    assert [line.split()[2] for line in lines] == ["b", "c", "a"]
    times = [float(line.split()[1]) for line in lines]
    assert all(b - a >= 0.35 for a, b in zip(times, times[1:]))


def test_a_worker_serving_two_queues_is_not_held_up_by_the_limited_one(engine_factory, engine):
    eng = engine_factory(rate_window_ms=60_000, queue_overrides={"whatsapp": {"rate_limit_per_min": 1}})
    blocked = [put(eng, "whatsapp", "mark").id for _ in range(3)]
    free = [put(eng, "orderExpiry", "mark").id for _ in range(10)]
    with thread_workers(eng, ["whatsapp", "orderExpiry"]):
        wait_until(lambda: all(eng.conn.sismember("test:done", i) for i in free), timeout_s=5)
    assert sum(eng.conn.sismember("test:done", i) for i in blocked) == 1


def test_limit_change_is_picked_up_at_once(engine_factory, engine):
    eng = engine_factory(rate_window_ms=60_000, queue_overrides={"whatsapp": {"rate_limit_per_min": 1}})
    ids = [put(eng, "whatsapp", "mark").id for _ in range(5)]
    with thread_workers(eng, ["whatsapp"]):
        wait_until(lambda: eng.conn.scard("test:done") == 1, timeout_s=5)
        changed = time.monotonic()
        control.set_rate_limit("whatsapp", 100, engine=eng)
        wait_until(lambda: eng.conn.scard("test:done") == 5, timeout_s=5)
        assert time.monotonic() - changed < 1.0
    assert control.state("whatsapp", engine=eng)["rate_limit"] == 100 and len(ids) == 5


def test_pause_stops_new_starts_but_not_enqueueing_and_resume_restarts(engine):
    control.pause("whatsapp")
    with thread_workers(engine, ["whatsapp"]):
        job = put(engine, "whatsapp", "mark")
        time.sleep(0.4)
        assert engine.conn.hget(keys.job(job.id), "status") == b"queued"
        assert control.state("whatsapp")["paused"] is True
        resumed = time.monotonic()
        control.resume("whatsapp")
        wait_until(lambda: engine.conn.sismember("test:done", job.id), timeout_s=5)
        assert time.monotonic() - resumed < 1.0


def test_pause_lets_the_running_job_finish(engine):
    job = put(engine, "whatsapp", "sleep", {"seconds": 0.4})
    nxt = put(engine, "whatsapp", "ok")
    with thread_workers(engine, ["whatsapp"]):
        wait_until(lambda: engine.conn.hget(keys.job(job.id), "status") == b"started", timeout_s=5)
        control.pause("whatsapp")
        wait_until(lambda: engine.conn.hget(keys.job(job.id), "status") == b"finished", timeout_s=5)
        time.sleep(0.3)
        assert engine.conn.hget(keys.job(nxt.id), "status") == b"queued"


def test_burst_worker_waits_for_jobs_held_by_the_limit_but_not_for_a_paused_queue(engine_factory, engine):
    from engine.worker import Worker

    eng = engine_factory(rate_window_ms=300, queue_overrides={"whatsapp": {"rate_limit_per_min": 2}})
    ids = [put(eng, "whatsapp", "mark").id for _ in range(5)]
    Worker(eng, ["whatsapp"], burst=True).run()
    assert all(eng.conn.sismember("test:done", i) for i in ids)
    control.pause("orderExpiry", engine=eng)
    put(eng, "orderExpiry", "mark")
    started = time.monotonic()
    Worker(eng, ["orderExpiry"], burst=True).run()
    assert time.monotonic() - started < 1
