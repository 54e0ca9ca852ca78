"""A table no project code names (one queue, its schema and its processor in a temp module), loaded by
ENGINE_QUEUES / ENGINE_SCHEDULES / ENGINE_SYSTEM alone, driven through the CLI workers (real processes),
the scheduler, `python -m engine run`, the REST API and /metrics, with no other edit of the project."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient

from api_shim import create_app
from engine import keys, monitoring
from engine.app import Engine
from engine.settings import Settings
from tests.conftest import FAST
from tests.custom_app import write_app
from tests.engine.support import ROOT, wait_until, worker_env

KEY = "stock-write-key-0123"


@pytest.fixture
def stock(tmp_path, monkeypatch, redis_url):
    """The temp application module on sys.path (and PYTHONPATH for child processes) and an engine for it."""
    module = write_app(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = Settings(redis_url=redis_url, engine_queues=f"{module}:QUEUES",
                        engine_schedules=f"{module}:SCHEDULES", **FAST)
    eng = Engine.from_settings(settings)
    eng.conn.flushdb()
    env = {**worker_env(eng), "ENGINE_QUEUES": settings.engine_queues, "ENGINE_SCHEDULES": settings.engine_schedules,
           "PYTHONPATH": f"{ROOT}:{tmp_path}"}
    return eng, env


def cli(env, *args, timeout=60):
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_the_engine_runs_only_the_loaded_table(stock):
    eng, _env = stock
    assert eng.table.names == ["restock"]
    assert list(monitoring.get_all_metrics(engine=eng)["queues"]) == ["restock"]


def test_cli_enqueues_checks_the_schema_and_burst_workers_finish_the_job(stock):
    eng, env = stock
    bad = cli(env, "enqueue", "restock", '{"sku": "abc", "quantity": 3}')
    assert bad.returncode == 2 and "sku" in bad.stderr and "Traceback" not in bad.stderr
    other = cli(env, "workers", "--queues", "whatsapp", "--burst")
    assert other.returncode == 2 and "unknown queue" in other.stderr and "known: restock" in other.stderr
    done = cli(env, "enqueue", "restock", '{"sku": "ABC-123", "quantity": 3}')
    assert done.returncode == 0, done.stderr
    job_id = json.loads(done.stdout)["id"]

    workers = cli(env, "workers", "--burst", timeout=120)
    assert workers.returncode == 0, workers.stderr
    job = monitoring.get_job("restock", job_id, engine=eng)
    assert job["state"] == "finished" and job["result"] == {"ordered": "3 x ABC-123"}


def test_the_scheduler_takes_its_schedules_from_the_application(stock):
    eng, env = stock
    once = cli(env, "scheduler", "--once")
    assert once.returncode == 0, once.stderr
    assert monitoring.get_queue_metrics("restock", engine=eng)["scheduled"] == 1
    [job_id] = [m.decode() for m in eng.conn.zrange(keys.scheduled("restock"), 0, -1)]
    assert job_id.startswith("sched-nightly-restock-")
    assert monitoring.get_job("restock", job_id, engine=eng)["data"] == {"sku": "NGT-001", "quantity": 5}


def test_api_documents_checks_and_accepts_jobs_for_the_table_and_metrics_show_it(stock):
    eng, _env = stock
    with TestClient(create_app(eng, api_keys=f"stock:write:{KEY}"), raise_server_exceptions=False) as client:
        headers = {"X-API-Key": KEY}
        doc = client.get("/openapi.json").json()
        assert "/api/v1/queue/jobs/restock" in doc["paths"]
        assert not any("whatsapp" in path for path in doc["paths"])
        param = doc["paths"]["/api/v1/queue/metrics/{queueName}"]["get"]["parameters"][0]
        assert param["schema"]["enum"] == ["restock"]

        bad = client.post("/api/v1/queue/jobs/restock", headers=headers, json={"data": {"sku": "ABC-123", "quantity": 0}})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "data.quantity"
        bad = client.post("/api/v1/queue/jobs/restock", headers=headers, json={"data": {"sku": "abc", "quantity": 2}})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "data.sku"
        assert client.post("/api/v1/queue/jobs/whatsapp", headers=headers,
                           json={"data": {"phone": "+9779800000000", "message": "hi"}}).status_code == 404
        assert client.get("/api/v1/queue/dead-letter?queue=whatsapp", headers=headers).status_code == 422

        good = client.post("/api/v1/queue/jobs/restock", headers=headers, json={"data": {"sku": "XYZ-999", "quantity": 7}})
        assert good.status_code == 201, good.text
        assert good.json()["queue"] == "restock" and good.json()["status"] == "queued"

        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert 'jq_waiting_jobs{priority="normal",queue="restock"} 1.0' in metrics.text
        assert 'queue="whatsapp"' not in metrics.text


def test_engine_run_starts_workers_scheduler_and_the_applications_system(stock, tmp_path):
    eng, env = stock
    module = eng.settings.engine_queues.split(":")[0]
    env = {**env, "ENGINE_SYSTEM": f"{module}:compose", "DATA_DIR": str(tmp_path / "var")}
    proc = subprocess.Popen([sys.executable, "-m", "engine", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("sidecar mode=test" in line for line in seen):
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
        assert any("Stockroom: 1 queue(s)" in line for line in seen), "".join(seen)
        assert any("sidecar mode=test" in line for line in seen), "".join(seen)
        wait_until(lambda: any("restock" in w["queues"] for w in monitoring.workers(engine=eng)), timeout_s=30)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, "".join(seen) + out


def test_settings_that_do_not_load_exit_2_before_anything_starts(stock, tmp_path):
    _eng, env = stock
    for name, value, needle in (("ENGINE_SYSTEM", "no_such_app_xyz:compose", "ENGINE_SYSTEM"),
                                ("ENGINE_QUEUES", "no_such_app_xyz:QUEUES", "ENGINE_QUEUES")):
        result = cli({**env, name: value, "DATA_DIR": str(tmp_path / "var")}, "run", timeout=60)
        assert result.returncode == 2 and needle in result.stderr and "Traceback" not in result.stderr, result.stderr
