"""Many slots in one worker process, against a real server: exact concurrency, crash safety, shutdown."""
import json
import signal
import subprocess
import sys
import threading
import time

from engine import keys, monitoring
from engine.cancel import cancel_job
from engine.slots import EXIT_TOO_MANY_STUCK, SlotPool, SlotSpec
from tests.engine.support import ROOT, put, spawn_worker, thread_workers, wait_until, worker_env


def most_at_once(spans: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    now = best = 0
    for _, step in events:
        now += step
        best = max(best, now)
    return best


def spans_of(engine, queue):
    return [tuple(map(float, s.split())) for s in engine.conn.lrange(f"test:spans:{queue}", 0, -1)]


def errors_of(engine, job_id):
    return [json.loads(e)["type"] for e in engine.conn.lrange(keys.attempts(job_id), 0, -1)]


def test_one_process_runs_exactly_its_concurrency_at_once(engine):
    ids = [put(engine, "dailyReports", "span", {"seconds": 0.3}).id for _ in range(12)]
    proc = spawn_worker(engine, ["dailyReports"], "--concurrency", "4", "--burst")
    peak = 0
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        peak = max(peak, engine.conn.zcard(keys.active("dailyReports")))
        time.sleep(0.01)
    assert proc.wait(timeout=30) == 0
    assert all(engine.conn.hget(keys.job(i), "status") == b"finished" for i in ids)
    assert most_at_once(spans_of(engine, "dailyReports")) == 4 and peak <= 4


def test_workers_keep_each_queues_concurrency_in_one_process(engine):
    for _ in range(8):
        put(engine, "orderExpiry", "span", {"seconds": 0.3})
        put(engine, "dailyReports", "span", {"seconds": 0.3})
    result = subprocess.run([sys.executable, "-m", "engine", "workers", "--queues", "orderExpiry,dailyReports",
                             "--concurrency", "dailyReports=2", "--burst"], cwd=ROOT, env=worker_env(engine),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert most_at_once(spans_of(engine, "orderExpiry")) == engine.table["orderExpiry"].concurrency == 3
    assert most_at_once(spans_of(engine, "dailyReports")) == 2


def test_sigkill_of_the_process_recovers_every_slots_job(engine):
    ids = [put(engine, "dailyReports", "sleep", {"seconds": 30}).id for _ in range(3)]
    proc = spawn_worker(engine, ["dailyReports"], "--concurrency", "3")
    wait_until(lambda: all(engine.conn.hget(keys.job(i), "status") == b"started" for i in ids), timeout_s=15)
    proc.kill()
    proc.wait(timeout=10)
    killed_at = time.monotonic()
    with thread_workers(engine, ["whatsapp"]):  # its reaper recovers them (lease 1 s in tests)
        wait_until(lambda: all(errors_of(engine, i) == ["WorkerDiedError"] for i in ids), timeout_s=15)
    assert time.monotonic() - killed_at < 10
    assert all(engine.conn.hget(keys.job(i), "status") in (b"scheduled", b"queued") for i in ids)


def test_first_sigterm_finishes_every_running_slot_and_takes_no_new_job(engine):
    running = [put(engine, "dailyReports", "sleep", {"seconds": 1.0}).id for _ in range(2)]
    proc = spawn_worker(engine, ["dailyReports"], "--concurrency", "2")
    wait_until(lambda: all(engine.conn.hget(keys.job(i), "status") == b"started" for i in running), timeout_s=15)
    later = put(engine, "dailyReports", "ok").id
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    assert all(engine.conn.hget(keys.job(i), "status") == b"finished" for i in running)
    assert engine.conn.hget(keys.job(later), "status") == b"queued"
    assert monitoring.workers() == []  # every slot left the registry


def test_second_sigterm_stops_at_once_and_the_reaper_recovers_the_jobs(engine):
    ids = [put(engine, "dailyReports", "sleep", {"seconds": 30}).id for _ in range(2)]
    proc = spawn_worker(engine, ["dailyReports"], "--concurrency", "2")
    wait_until(lambda: all(engine.conn.hget(keys.job(i), "status") == b"started" for i in ids), timeout_s=15)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) != 0
    with thread_workers(engine, ["whatsapp"]):
        wait_until(lambda: all(errors_of(engine, i) == ["WorkerDiedError"] for i in ids), timeout_s=15)


def test_forked_processes_split_the_slots_and_share_the_work(engine):
    ids = [put(engine, "orderExpiry", "mark").id for _ in range(40)]
    env = worker_env(engine)
    proc = subprocess.Popen([sys.executable, "-m", "engine", "workers", "--queues", "orderExpiry", "--processes", "2"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ws = wait_until(lambda: (lambda ws: ws if len(ws) == 3 else None)(monitoring.workers()), timeout_s=20)
        assert len({w["pid"] for w in ws}) == 2 and proc.pid not in {w["pid"] for w in ws}
        wait_until(lambda: all(engine.conn.sismember("test:done", i) for i in ids), timeout_s=20)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_a_stuck_job_is_failed_on_time_its_slot_freed_and_its_late_result_discarded(engine_factory, engine):
    eng = engine_factory(queue_overrides={"dailyReports": {"timeout_s": 1, "retries": 0}})
    stuck = put(eng, "dailyReports", "stuck", {"seconds": 4})
    after = put(eng, "dailyReports", "ok")
    proc = spawn_worker(eng, ["dailyReports"], "--concurrency", "1")
    try:
        wait_until(lambda: eng.conn.hget(keys.job(stuck.id), "status") == b"started", timeout_s=15)
        started = time.monotonic()
        wait_until(lambda: eng.conn.hget(keys.job(after.id), "status") == b"finished", timeout_s=10)
        freed_after = time.monotonic() - started
        assert errors_of(eng, stuck.id) == ["JobTimeoutError"]
        raw = eng.conn.hgetall(keys.job(stuck.id))
        run_late_ms = int(raw[keys.JobField.ENDED_MS.encode()]) - int(raw[keys.JobField.STARTED_MS.encode()]) - 1000
        assert 0 <= run_late_ms <= 1000, run_late_ms  # failed at most 1 s after its timeout
        assert freed_after < 2.5  # the one slot was free for the next job long before the stuck one returned
        wait_until(lambda: eng.conn.sismember("test:returned", stuck.id), timeout_s=10)  # it returned late ...
        time.sleep(0.3)
        assert eng.conn.hget(keys.job(stuck.id), "status") != b"finished"  # ... and its result was refused
        assert len(errors_of(eng, stuck.id)) == 1
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0


def test_too_many_stuck_threads_stop_the_process_for_a_restart(engine_factory, engine):
    eng = engine_factory(queue_overrides={"dailyReports": {"timeout_s": 1, "retries": 0}})
    ids = [put(eng, "dailyReports", "stuck", {"seconds": 20}).id for _ in range(3)]
    pool = SlotPool(eng, [SlotSpec(("dailyReports",), 1)], max_abandoned=1)
    out = []
    t = threading.Thread(target=lambda: out.append(pool.run()), daemon=True)
    t.start()
    t.join(timeout=15)
    assert out == [EXIT_TOO_MANY_STUCK]
    assert [errors_of(eng, i) for i in ids[:2]] == [["JobTimeoutError"], ["JobTimeoutError"]]
    assert pool.stuck() == 2  # no replacement slot past the bound: the third job was never taken
    assert eng.conn.hget(keys.job(ids[2]), "status") == b"queued"


def test_cancel_reaches_the_one_slot_running_the_job_and_the_other_slots_go_on(engine_factory):
    eng = engine_factory(cancel_grace_ms=300)
    eng.conn.flushdb()
    stopping = put(eng, "creditReconciliation", "cooperative", {"account_id": "1", "seconds": 10})
    ignoring = put(eng, "creditReconciliation", "stubborn", {"account_id": "2", "seconds": 2.0})
    other = put(eng, "creditReconciliation", "sleep", {"account_id": "3", "seconds": 1.0})
    proc = spawn_worker(eng, ["creditReconciliation"], "--concurrency", "3")
    try:
        ids = (stopping.id, ignoring.id, other.id)
        wait_until(lambda: all(eng.conn.hget(keys.job(i), "status") == b"started" for i in ids), timeout_s=15)
        assert cancel_job("creditReconciliation", stopping.id, engine=eng) == "cancelling"
        assert cancel_job("creditReconciliation", ignoring.id, engine=eng) == "cancelling"
        wait_until(lambda: all(eng.conn.hget(keys.job(i), "status") == b"canceled" for i in ids[:2]), timeout_s=5)
        wait_until(lambda: eng.conn.hget(keys.job(other.id), "status") == b"finished", timeout_s=5)
        time.sleep(1.5)  # the stubborn one returns late: its result is refused
        assert eng.conn.hget(keys.job(ignoring.id), "status") == b"canceled"
        assert eng.conn.hget(keys.job(ignoring.id), "jq_result") is None
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0
