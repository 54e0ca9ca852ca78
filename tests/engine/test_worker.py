import json
import signal
import time


from engine import dead_letters, job_ops, keys
from engine.worker import Worker
from tests.engine.support import put, spawn_worker, thread_workers, wait_until


def drain(engine, queues, seconds=0.5):
    w = Worker(engine, queues, burst=True)
    w.run()
    return w


def test_high_before_normal_before_low_fifo_within_a_level(engine, tmp_path):
    out = tmp_path / "order.txt"
    for tag, prio in [("n1", "normal"), ("l1", "low"), ("h1", "high"), ("n2", "normal"), ("h2", "high"), ("l2", "low")]:
        put(engine, "whatsapp", "record", {"path": str(out), "tag": tag}, priority=prio)
    drain(engine, ["whatsapp"])
    assert [line.split()[2] for line in out.read_text().splitlines()] == ["h1", "h2", "n1", "n2", "l1", "l2"]


def test_completed_job_keeps_result_and_expires_after_retention(engine):
    job = put(engine, "whatsapp", "ok", {"x": 1})
    drain(engine, ["whatsapp"])
    info = job_ops.get_job("whatsapp", job.id)
    assert info["state"] == "finished" and info["result"] == {"ok": True, "x": 1} and info["runs"] == 1
    assert 86000 < engine.conn.ttl(keys.job(job.id)) <= 86400
    assert engine.conn.zscore(keys.finished("whatsapp"), job.id)


def test_failing_job_is_retried_after_each_scaled_wait_never_early(engine, tmp_path):
    # delay_scale 0.01: whatsapp waits of 2, 4, 8 s become 20, 40, 80 ms
    job = put(engine, "whatsapp", "always_fail", {"order_id": 5})
    with thread_workers(engine, ["whatsapp"]):
        wait_until(lambda: dead_letters.exists(job.id), timeout_s=10)
    info = job_ops.get_job("whatsapp", job.id)
    starts = [e["time"] for e in info["errors"]]
    assert info["runs"] == 4 and len(info["errors"]) == 4
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    for gap, wait in zip(gaps, [0.02, 0.04, 0.08]):
        assert gap >= wait  # never before the wait is over
        assert gap < wait + 0.5


def test_final_failure_moves_job_to_dead_letter_with_every_error_and_no_ttl(engine):
    job = put(engine, "orderExpiry", "always_fail", {"order_id": 9})
    with thread_workers(engine, ["orderExpiry"]):
        wait_until(lambda: dead_letters.exists(job.id), timeout_s=10)
    entry = dead_letters.get_entry(job.id)
    assert entry["queue"] == "orderExpiry" and entry["runs"] == 3  # 1 run + 2 retries
    assert entry["data"] == {"fn": "always_fail", "order_id": 9}
    assert entry["job_type"] == "tests.engine.jobfuncs.dispatch"
    assert [e["run"] for e in entry["errors"]] == [1, 2, 3]
    assert all(e["type"] == "RuntimeError" and "Traceback" in e["traceback"] and e["worker"] for e in entry["errors"])
    assert entry["enqueued_at"] and entry["dead_lettered_at"]
    for key in (keys.dlq_entry(job.id), keys.job(job.id), keys.attempts(job.id), keys.DLQ_ALL,
                keys.dlq_queue("orderExpiry")):
        assert engine.conn.ttl(key) == -1, key


def test_permanent_error_skips_remaining_retries(engine):
    job = put(engine, "whatsapp", "permanent")
    drain(engine, ["whatsapp"])
    entry = dead_letters.get_entry(job.id)
    assert entry["runs"] == 1 and entry["error_type"] == "PermanentError"


def test_transient_failure_then_success_completes(engine, tmp_path):
    job = put(engine, "vendorFallback", "fail_then_ok", {"path": str(tmp_path / "c"), "fail_times": 2})
    with thread_workers(engine, ["vendorFallback"]):
        wait_until(lambda: engine.conn.hget(keys.job(job.id), "status") == b"finished", timeout_s=10)
    info = job_ops.get_job("vendorFallback", job.id)
    assert info["runs"] == 3 and len(info["errors"]) == 2 and info["result"] == {"runs": 3}


def test_provider_back_pressure_pauses_the_queue_and_uses_no_attempt(engine, tmp_path):
    job = put(engine, "whatsapp", "back_pressure_once", {"path": str(tmp_path / "bp"), "retry_after_s": 0.3})
    other = put(engine, "whatsapp", "ok")
    with thread_workers(engine, ["whatsapp"]):
        wait_until(lambda: engine.conn.exists(keys.pressure("whatsapp")), timeout_s=5)
        time.sleep(0.1)
        # the queue starts nothing while the provider asked us to back off
        assert engine.conn.hget(keys.job(other.id), "status") == b"queued"
        wait_until(lambda: engine.conn.hget(keys.job(job.id), "status") == b"finished", timeout_s=5)
    info = job_ops.get_job("whatsapp", job.id)
    assert info["runs"] == 1 and info["errors"] == []
    assert engine.conn.hget(keys.job(other.id), "status") == b"finished"


def test_job_exceeding_its_timeout_fails_with_a_timeout_error(engine_factory, engine):
    eng = engine_factory(queue_overrides={"dailyReports": {"timeout_s": 1, "retries": 0}})
    job = put(eng, "dailyReports", "sleep", {"seconds": 3})
    with thread_workers(eng, ["dailyReports"]):
        wait_until(lambda: dead_letters.exists(job.id, engine=eng), timeout_s=8)
    assert dead_letters.get_entry(job.id, engine=eng)["error_type"] == "JobTimeoutError"


def test_processor_reports_progress_and_writes_its_log(engine):
    job = put(engine, "whatsapp", "progress")
    drain(engine, ["whatsapp"])
    info = job_ops.get_job("whatsapp", job.id)
    assert info["progress"] == 100 and [line["msg"] for line in info["log"]] == ["half way"]


def test_delayed_job_never_starts_early(engine, tmp_path):
    out = tmp_path / "t"
    enqueued = time.time()
    job = put(engine, "whatsapp", "record", {"path": str(out)}, delay=0.3)
    with thread_workers(engine, ["whatsapp"]):
        wait_until(out.exists, timeout_s=5)
    started = float(out.read_text().split()[1])
    assert 0.3 <= started - enqueued < 0.3 + 0.25
    assert engine.conn.hget(keys.job(job.id), "status") == b"finished"


def test_sigterm_is_a_warm_shutdown_finishing_the_running_job(engine, tmp_path):
    job = put(engine, "dailyReports", "sleep", {"seconds": 1.0})
    later = put(engine, "dailyReports", "ok")
    proc = spawn_worker(engine, ["dailyReports"])
    wait_until(lambda: engine.conn.hget(keys.job(job.id), "status") == b"started", timeout_s=10)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert engine.conn.hget(keys.job(job.id), "status") == b"finished"
    assert engine.conn.hget(keys.job(later.id), "status") == b"queued"  # took no new job


def test_second_sigterm_stops_at_once_and_the_job_is_recovered(engine):
    job = put(engine, "dailyReports", "sleep", {"seconds": 30})
    proc = spawn_worker(engine, ["dailyReports"])
    wait_until(lambda: engine.conn.hget(keys.job(job.id), "status") == b"started", timeout_s=10)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=5)
    # the lease (1 s in tests) runs out and the next worker's reaper counts it as a failed run
    with thread_workers(engine, ["whatsapp"]):
        wait_until(lambda: engine.conn.llen(keys.attempts(job.id)) >= 1, timeout_s=10)
    errors = [json.loads(e) for e in engine.conn.lrange(keys.attempts(job.id), 0, -1)]
    assert errors[0]["type"] == "WorkerDiedError"
    assert engine.conn.hget(keys.job(job.id), "status") in (b"scheduled", b"queued", b"started")


def test_a_sooner_delayed_job_wakes_an_idle_worker_sleeping_for_a_later_one(engine, tmp_path):
    out = tmp_path / "t"
    put(engine, "whatsapp", "ok", delay=5)
    with thread_workers(engine, ["whatsapp"]):
        time.sleep(0.3)  # the worker now sleeps towards the job due in 5 s
        enqueued = time.time()
        put(engine, "whatsapp", "record", {"path": str(out)}, delay=0.2)
        wait_until(out.exists, timeout_s=5)
    assert 0.2 <= float(out.read_text().split()[1]) - enqueued < 0.3
