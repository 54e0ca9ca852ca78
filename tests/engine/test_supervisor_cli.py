import os
import signal
import subprocess
import sys

from engine import keys, monitoring
from tests.engine.support import ROOT, put, wait_until, worker_env


def engine_cli(eng, *args, timeout=30):
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT, env=worker_env(eng),
                          capture_output=True, text=True, timeout=timeout)


def test_bad_arguments_exit_2_with_a_clear_message(engine):
    for args, needle in ((["workers", "--queues", "sms"], "unknown queue"),
                         (["workers", "--concurrency", "whatsapp=0"], "QUEUE=N"),
                         (["enqueue", "whatsapp", "{not json"], "not valid JSON"),
                         (["enqueue", "whatsapp", '{"phone": "123", "message": "hi"}'], "phone"),
                         (["limit", "whatsapp", "0"], "limit")):
        result = engine_cli(engine, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert needle in result.stderr and "Traceback" not in result.stderr


def test_unreachable_server_exits_2_without_a_traceback(engine):
    env = {**worker_env(engine), "REDIS_URL": "redis://127.0.0.1:1"}
    result = subprocess.run([sys.executable, "-m", "engine", "info"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "cannot reach" in result.stderr and "Traceback" not in result.stderr


def test_cli_enqueue_and_info_are_audited(engine):
    result = engine_cli(engine, "enqueue", "whatsapp", '{"phone": "+9779800000000", "message": "hi"}',
                        "--priority", "high")
    assert result.returncode == 0, result.stderr
    assert monitoring.get_queue_metrics("whatsapp")["waiting"]["high"] == 1
    from engine import audit

    [entry] = audit.list_entries()
    assert entry["source"] == "cli" and entry["action"] == "enqueue"
    assert engine_cli(engine, "info").returncode == 0


def test_workers_burst_drains_with_the_table_concurrency_and_exits(engine):
    ids = [put(engine, "orderExpiry", "mark").id for _ in range(30)]
    result = engine_cli(engine, "workers", "--queues", "orderExpiry", "--burst", timeout=60)
    assert result.returncode == 0, result.stderr
    assert all(engine.conn.sismember("test:done", i) for i in ids)


def test_supervisor_restarts_a_dead_worker_and_passes_sigterm_on(engine):
    proc = subprocess.Popen([sys.executable, "-m", "engine", "workers", "--queues", "dailyReports"], cwd=ROOT,
                            env=worker_env(engine), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        first = wait_until(lambda: monitoring.workers(), timeout_s=20)
        os.kill(first[0]["pid"], signal.SIGKILL)
        wait_until(lambda: any(w["pid"] != first[0]["pid"] for w in monitoring.workers()), timeout_s=20)
        job = put(engine, "dailyReports", "sleep", {"seconds": 0.5})
        wait_until(lambda: engine.conn.hget(keys.job(job.id), "status") == b"started", timeout_s=10)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert engine.conn.hget(keys.job(job.id), "status") == b"finished"  # warm shutdown passed on
    finally:
        if proc.poll() is None:
            proc.kill()
