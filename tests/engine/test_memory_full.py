"""Admission control at memory full, on a real Valkey started with a small maxmemory: enqueues are
refused before they write anything (helpers, API, CLI), audit entries are written with their enqueue
or not at all, workers keep draining, and a worker process rides out an OOM episode."""
from __future__ import annotations

import signal
import subprocess
import sys
import threading

import pytest
from fastapi.testclient import TestClient

from api_shim import create_app
from engine import audit, keys
from engine.app import Engine
from engine.audit import Actor
from engine.embedded import start_embedded
from engine.enqueue import EnqueueRequest, enqueue
from engine.errors import ServerFullError
from engine.hooks import Hooks
from engine.operator import Operator
from engine.settings import Settings
from engine.scheduler import Scheduler
from engine.maintenance import reap
from processors import helpers
from tests.conftest import FAST
from tests.engine.support import ROOT, spawn_worker, thread_workers, wait_until, worker_env

FUNCS = "tests.engine.jobfuncs"  # the table names these functions (QUEUE_OVERRIDES)

PHONE = "+9779800000000"
WRITE_KEY = "write-key-0123456789"
OVERRIDES = {"whatsapp": {"func": f"{FUNCS}.ok", "keep_completed_s": 1, "rate_limit_per_min": 1_000_000,
                         "key_limit": None}}  # one phone for every job: no per-recipient pacing here


@pytest.fixture
def small_server(tmp_path):
    """A Valkey of its own with maxmemory 4 MB and noeviction."""
    server = start_embedded(tmp_path / "valkey", durable=False, config={"maxmemory": "4mb"})
    yield server
    server.stop()


def engine_on(server, **settings) -> Engine:
    return Engine.from_settings(Settings(redis_url=server.connection_url, **{**FAST, **settings}))


def used_and_mark(eng: Engine) -> tuple[int, int]:
    return int(eng.conn.info("memory")["used_memory"]), eng.high_water.mark_bytes()


def waiting_ids(eng: Engine) -> set[str]:
    return {i.decode() for p in keys.PRIORITIES for i in eng.conn.lrange(keys.waiting("whatsapp", p), 0, -1)}


def fill(op: Operator, prefix: str, clients: int = 8) -> tuple[list[str], list[str]]:
    """Enqueue from `clients` threads until each has been refused 5 times: (accepted ids, refused ids)."""
    accepted: list[str] = []
    refused: list[str] = []

    def client(c: int) -> None:
        refusals = 0
        for i in range(20_000):
            if refusals >= 5:
                return
            job_id = f"{prefix}-{c}-{i}"
            try:
                op.enqueue("whatsapp", {"phone": PHONE, "message": "x" * 200}, job_id=job_id)
                accepted.append(job_id)
            except ServerFullError:
                refused.append(job_id)
                refusals += 1

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return accepted, refused


def test_enqueues_are_refused_at_the_mark_without_a_trace_and_accepted_again_once_drained(small_server):
    eng = engine_on(small_server, queue_overrides=OVERRIDES)
    op = Operator(eng, Actor("ops", "api"), role="write")
    accepted, refused = fill(op, "fill")
    used, mark = used_and_mark(eng)
    assert mark == int(4 * 1024 * 1024 * 0.9) and used >= mark * 0.98 and len(accepted) > 1000

    # no half-written job: every accepted job is waiting with its one "ok" entry, no refused one exists
    assert waiting_ids(eng) == set(accepted)
    assert not any(eng.conn.exists(keys.job(j)) for j in refused)
    entries = audit.list_entries(action="enqueue", limit=100_000, engine=eng)
    ok = [e["details"]["job_id"] for e in entries if e["outcome"] == "ok"]
    assert sorted(ok) == sorted(accepted)
    assert all(e["outcome"].startswith("error: server full") for e in entries if e["outcome"] != "ok")

    # the API: 503 server_full with Retry-After, nothing written
    client = TestClient(create_app(eng, api_keys=f"bot:write:{WRITE_KEY}"), raise_server_exceptions=False)
    body = {"data": {"phone": PHONE, "message": "hello"}, "job_id": "api-refused"}
    response = client.post("/api/v1/queue/jobs/whatsapp", json=body, headers={"X-API-Key": WRITE_KEY})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "server_full" and not eng.conn.exists(keys.job("api-refused"))

    # the CLI: one line, exit 2
    env = {**worker_env(eng), "REDIS_URL": small_server.connection_url}
    cli = subprocess.run([sys.executable, "-m", "engine", "enqueue", "whatsapp",
                          f'{{"phone": "{PHONE}", "message": "hi"}}', "--job-id", "cli-refused"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert cli.returncode == 2 and cli.stderr.strip().splitlines() == [cli.stderr.strip()]
    assert cli.stderr.startswith("error: server full") and not eng.conn.exists(keys.job("cli-refused"))

    # a bulk enqueue says which jobs were written
    with pytest.raises(ServerFullError) as bulk:
        helpers.broadcast_whatsapp([PHONE] * 10, "hi", engine=eng)
    assert bulk.value.accepted == []

    # below the mark workers keep taking and completing; the finished jobs expire and are trimmed
    with thread_workers(eng, ["whatsapp"], n=2):
        wait_until(lambda: not waiting_ids(eng), timeout_s=60)
        wait_until(lambda: used_and_mark(eng)[0] < mark * 0.8, timeout_s=30)
        response = client.post("/api/v1/queue/jobs/whatsapp", json={**body, "job_id": "api-after"},
                               headers={"X-API-Key": WRITE_KEY})
        assert response.status_code == 201, response.text
        wait_until(lambda: eng.conn.hget(keys.job("api-after"), "status") == b"finished")


def test_above_maxmemory_the_servers_own_refusal_leaves_no_job_and_no_audit_entry(small_server):
    eng = engine_on(small_server, memory_high_water_ratio=1.0)  # no margin: the server itself refuses
    op = Operator(eng, Actor("ops", "cli"), role="operator")
    accepted, refused = fill(op, "hard", clients=4)
    assert refused and not any(eng.conn.exists(keys.job(j)) for j in refused)
    assert waiting_ids(eng) == set(accepted)
    ok = [e["details"]["job_id"] for e in audit.list_entries(action="enqueue", limit=100_000, engine=eng)
          if e["outcome"] == "ok"]
    assert sorted(ok) == sorted(accepted)


def test_a_worker_process_rides_out_an_oom_episode_and_recovers_by_itself(small_server):
    eng = engine_on(small_server, queue_overrides={**OVERRIDES, "dailyReports": {"func": f"{FUNCS}.sleep"}})
    eng.conn.config_set("maxmemory", 0)
    proc = spawn_worker(eng, ["whatsapp", "dailyReports"])
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(line.decode() for line in proc.stderr), daemon=True)
    reader.start()
    try:
        wait_until(lambda: eng.conn.zcard(keys.WORKERS) == 1, timeout_s=20)
        long_job = enqueue(eng, EnqueueRequest("dailyReports", {"seconds": 2.5}))  # runs through the episode
        wait_until(lambda: eng.conn.hget(keys.job(long_job.id), "status") == b"started")
        ids = [helpers.add_whatsapp_message(PHONE, f"before {i}", engine=eng).id for i in range(50)]
        # the server is now over its maxmemory: every write that could grow memory is refused
        eng.conn.config_set("maxmemory", int(eng.conn.info("memory")["used_memory"]) - 400_000)
        eng.high_water.forget()
        with pytest.raises(ServerFullError):
            helpers.add_whatsapp_message(PHONE, "refused", engine=eng)
        # a scheduler's reaper runs meanwhile; the heartbeat keeps the long job's lease (LEASE_MS is
        # 1 s), so it runs once and nobody reaps it
        wait_until(lambda: reap(eng, Hooks(), "scheduler") == 0
                   and eng.conn.hget(keys.job(long_job.id), "status") == b"finished", timeout_s=20)
        assert eng.conn.hget(keys.job(long_job.id), "jq_runs") == b"1"
        assert eng.conn.llen(keys.attempts(long_job.id)) == 0
        # the worker still takes and completes jobs, and its maintenance (roll-up) is refused
        wait_until(lambda: all(eng.conn.hget(keys.job(i), "status") in (b"finished", None) for i in ids),
                   timeout_s=30)
        refused_before = eng.conn.info("stats").get("total_error_replies", 0)
        wait_until(lambda: eng.conn.info("stats").get("total_error_replies", 0) >= refused_before + 5,
                   timeout_s=20)
        assert proc.poll() is None
        # room again: it is back to normal without a restart
        eng.conn.config_set("maxmemory", 0)
        eng.high_water.forget()
        job = helpers.add_whatsapp_message(PHONE, "after", engine=eng)
        wait_until(lambda: eng.conn.hget(keys.job(job.id), "status") == b"finished", timeout_s=20)
        wait_until(lambda: any("has room again" in line for line in lines), timeout_s=20)
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(timeout=10)
    text = "".join(lines)
    assert proc.returncode == 0, text
    assert text.count("the server is out of memory") == 1, text  # once per episode
    assert text.count("has room again") == 1 and "Traceback" not in text


def test_the_scheduler_backs_off_on_a_full_server_logs_once_and_plans_its_ticks_after(small_server, caplog):
    eng = engine_on(small_server)
    eng.conn.config_set("maxmemory", int(eng.conn.info("memory")["used_memory"]) - 400_000)
    scheduler = Scheduler(eng)
    thread = threading.Thread(target=scheduler.run, daemon=True)
    with caplog.at_level("WARNING"):
        thread.start()
        wait_until(lambda: scheduler.oom.refusals >= 3, timeout_s=20)
        assert not eng.conn.keys("jq:sched:*:tick:*")  # no claim was written, so no tick is lost
        eng.conn.config_set("maxmemory", 0)
        wait_until(lambda: not scheduler.oom.active and eng.conn.keys("jq:sched:*:tick:*"), timeout_s=20)
        scheduler.stop()
        thread.join(timeout=20)
    assert not thread.is_alive()
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("engine")]
    assert sum("out of memory" in m for m in messages) == 1 and sum("has room again" in m for m in messages) == 1
    assert not any(r.exc_info for r in caplog.records)


def test_any_other_write_refused_over_maxmemory_answers_503_server_full(small_server):
    eng = engine_on(small_server)
    client = TestClient(create_app(eng, api_keys=f"bot:write:{WRITE_KEY}"), raise_server_exceptions=False)
    eng.conn.config_set("maxmemory", int(eng.conn.info("memory")["used_memory"]) - 400_000)
    try:
        response = client.post("/api/v1/queue/queues/whatsapp/pause", headers={"X-API-Key": WRITE_KEY})
    finally:
        eng.conn.config_set("maxmemory", 0)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "server_full"


def test_a_tick_refused_at_the_mark_is_not_claimed(small_server):
    from datetime import datetime, timedelta, timezone

    from engine.ticks import claim_and_enqueue, tick_s

    eng = engine_on(small_server)
    eng.conn.config_set("maxmemory", int(int(eng.conn.info("memory")["used_memory"]) / 0.95))
    now = datetime.now(timezone.utc)
    tick = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    with pytest.raises(ServerFullError):
        claim_and_enqueue(eng, "daily-report", "dailyReports", {"report_date": "2026-01-01"}, tick, now, ahead=True)
    assert not eng.conn.exists(keys.schedule_tick("daily-report", tick_s(tick)))
    eng.conn.config_set("maxmemory", 0)
    eng.high_water.forget()
    assert claim_and_enqueue(eng, "daily-report", "dailyReports", {"report_date": "2026-01-01"}, tick, now,
                             ahead=True)[0] == 1
