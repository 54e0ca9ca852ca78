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
                         (["worker", "--concurrency", "0"], "--concurrency expects a whole number >= 1"),
                         (["workers", "--processes", "two"], "--processes expects a whole number >= 1"),
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


def test_forked_worker_processes_are_restarted_and_get_sigterm_passed_on(engine):
    proc = subprocess.Popen([sys.executable, "-m", "engine", "workers", "--queues", "dailyReports",
                             "--concurrency", "dailyReports=2", "--processes", "2"], cwd=ROOT,
                            env=worker_env(engine), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        first = wait_until(lambda: (lambda ws: ws if len({w["pid"] for w in ws}) == 2 else None)(
            monitoring.workers()), timeout_s=20)
        pids = {w["pid"] for w in first}
        assert proc.pid not in pids  # the slots run in forked children
        victim = min(pids)
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: {w["pid"] for w in monitoring.workers()} - pids, timeout_s=20)  # a new child
        job = put(engine, "dailyReports", "sleep", {"seconds": 0.5})
        wait_until(lambda: engine.conn.hget(keys.job(job.id), "status") == b"started", timeout_s=10)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert engine.conn.hget(keys.job(job.id), "status") == b"finished"  # warm shutdown passed on
    finally:
        if proc.poll() is None:
            proc.kill()


def test_workers_run_every_queues_slots_in_one_process(engine):
    proc = subprocess.Popen([sys.executable, "-m", "engine", "workers"], cwd=ROOT, env=worker_env(engine),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        expected = sum(engine.table[q].concurrency for q in engine.table.names)
        ws = wait_until(lambda: (lambda ws: ws if len(ws) == expected else None)(monitoring.workers()), timeout_s=20)
        assert {w["pid"] for w in ws} == {proc.pid}
        for q in engine.table.names:
            assert sum(1 for w in ws if q in w["queues"]) == engine.table[q].concurrency
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert monitoring.workers() == []
    finally:
        if proc.poll() is None:
            proc.kill()
