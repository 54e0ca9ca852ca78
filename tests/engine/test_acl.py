"""Least privilege: the engine, the API, a worker, the scheduler and the CLI run as the ACL user of
deploy/valkey/engine.acl (only the engine's commands, only `rq:*` and `jq:*` keys) against a Valkey with
ACLs on, and the server denies them nothing (its ACL LOG stays empty). A wrong password is one line and
exit code 2 from the CLI (and from the API's command)."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import redis
from fastapi.testclient import TestClient

from api_shim import create_app
from engine import keys, monitoring
from engine.app import Engine
from engine.enqueue import EnqueueRequest, enqueue
from engine.settings import Settings
from tests.acl_server import ACL_FILE, PASSWORD, USER, acl_valkey, denials
from tests.conftest import FAST
from tests.custom_app import write_app
from tests.engine.support import ROOT, wait_until

KEY = "acl-write-key-0123456"


@pytest.fixture
def acl_server(tmp_path):
    with acl_valkey(tmp_path) as server:
        yield server


@pytest.fixture
def app_env(tmp_path, monkeypatch, acl_server):
    """A one-queue application (tests/custom_app.py), its engine and child environment, as the ACL user."""
    port, admin = acl_server
    module = write_app(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = Settings(redis_url=f"redis://127.0.0.1:{port}", redis_username=USER, redis_password=PASSWORD,
                        engine_queues=f"{module}:QUEUES", engine_schedules=f"{module}:SCHEDULES", **FAST)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT}:{tmp_path}", "REDIS_URL": settings.redis_url,
           "REDIS_USERNAME": USER, "REDIS_PASSWORD": PASSWORD, "ENGINE_QUEUES": settings.engine_queues,
           "ENGINE_SCHEDULES": settings.engine_schedules, "ENGINE_SYSTEM": "", "LEASE_MS": str(FAST["lease_ms"]),
           "REAP_INTERVAL_MS": str(FAST["reap_interval_ms"]), "DELAY_SCALE": str(FAST["delay_scale"])}
    return Engine.from_settings(settings), env, admin


def cli(env, *args, timeout=60):
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_engine_api_worker_scheduler_and_cli_need_nothing_beyond_the_engine_acl(app_env):
    eng, env, admin = app_env
    done = cli(env, "enqueue", "restock", '{"sku": "ABC-123", "quantity": 3}')
    assert done.returncode == 0, done.stderr
    cli_job = json.loads(done.stdout)["id"]

    headers = {"X-API-Key": KEY}
    with TestClient(create_app(eng, api_keys=f"acl:write:{KEY}"), raise_server_exceptions=False) as client:
        made = client.post("/api/v1/queue/jobs/restock", headers=headers, json={"data": {"sku": "XYZ-999", "quantity": 7}})
        assert made.status_code == 201, made.text
        api_job = made.json()["id"]
        for path in ("/healthz", "/metrics", "/api/v1/queue/metrics", "/api/v1/queue/metrics/restock",
                     "/api/v1/queue/dead-letter", "/api/v1/queue/failure-groups", "/api/v1/queue/audit",
                     "/api/v1/queue/alerts", "/api/v1/queue/search?q=ABC", f"/api/v1/queue/jobs/restock/{api_job}",
                     "/api/v1/queue/metrics/restock/history"):
            assert client.get(path, headers=headers).status_code == 200, path
        assert client.post("/api/v1/queue/queues/restock/pause", headers=headers).status_code == 200
        assert client.post("/api/v1/queue/queues/restock/resume", headers=headers).status_code == 200

    # a job its processor cannot take (no retries in this table): the failure ladder dead-letters it
    bad = enqueue(eng, EnqueueRequest("restock", {"sku": "BAD-001", "quantity": 1, "unexpected": True})).id
    worker = cli(env, "worker", "--queues", "restock", "--burst", timeout=120)
    assert worker.returncode == 0, worker.stderr
    for job_id in (cli_job, api_job):
        assert monitoring.get_job("restock", job_id, engine=eng)["state"] == "finished"
    assert "LOSE JOBS" not in worker.stderr  # the eviction policy is read from INFO, which the user has
    listed = cli(env, "dead-letters", "list")
    assert listed.returncode == 0 and bad in listed.stdout, listed.stderr
    for args in (("dead-letters", "retry", bad), ("scheduler", "--once"), ("info",), ("search", "--q", "ABC"),
                 ("pause", "restock"), ("resume", "restock"), ("limit", "restock", "30")):
        out = cli(env, *args)
        assert out.returncode == 0, (args, out.stderr)
    [tick] = wait_until(lambda: eng.conn.zrange(keys.scheduled("restock"), 0, -1), timeout_s=5)  # the scheduler's
    assert cli(env, "cancel", "restock", tick.decode()).returncode == 0
    assert cli(env, "worker", "--queues", "restock", "--burst", timeout=120).returncode == 0  # fails `bad` again
    assert monitoring.get_job("restock", bad, engine=eng)["state"] == "dead_lettered"
    assert cli(env, "dead-letters", "delete", bad).returncode == 0
    assert denials(admin) == []


def test_the_engine_user_cannot_touch_other_keys_or_administer_the_server(app_env):
    eng, _env, admin = app_env
    for call in (lambda c: c.set("other:key", "1"), lambda c: c.flushall(), lambda c: c.config_get("*"),
                 lambda c: c.keys("*"), lambda c: c.execute_command("ACL", "LIST"), lambda c: c.publish("chan", "x")):
        with pytest.raises(redis.ResponseError, match="(?i)no permissions"):
            call(eng.conn)
    assert admin.dbsize() == 0


def test_the_shipped_acl_grants_named_commands_on_the_engines_keys_only():
    rules = ACL_FILE.read_text().split()
    assert rules[:3] == ["user", USER, "on"]
    assert {r for r in rules if r.startswith("~")} == {"~rq:*", "~jq:*"}
    assert "resetkeys" in rules and "resetchannels" in rules and "-@all" in rules
    granted = {r[1:] for r in rules if r.startswith("+")}
    assert not any(g.startswith("@") for g in granted)  # no whole categories
    assert not granted & {"flushall", "flushdb", "config", "keys", "debug", "shutdown", "acl", "module",
                          "function", "client", "monitor", "replicaof", "save", "bgsave"}
    assert all(re.fullmatch(r"[a-z]+(\|[a-z]+)?", g) for g in granted)


@pytest.mark.parametrize("command", [["engine", "info"], ["engine", "worker", "--queues", "restock", "--burst"],
                                     ["engine", "workers", "--burst"], ["engine", "scheduler", "--once"],
                                     ["engine", "run"], ["api_shim", "--port", "1"]])
def test_a_wrong_password_is_one_line_and_exit_code_2(app_env, command):
    _eng, env, _admin = app_env
    out = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, env={**env, "REDIS_PASSWORD": "wrong"},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the Redis server refused the credentials"), out.stderr
    assert "WRONGPASS" in lines[0] or "invalid username-password" in lines[0]
