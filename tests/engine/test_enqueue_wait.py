"""ENQUEUE_WAIT_REPLICAS: an enqueue returns only once a replica has the job (WAIT on the same connection);
with the replica stalled it fails with ReplicationTimeoutError, and a re-send with the same id is safe."""
from __future__ import annotations

import os
import signal
import time

import pytest
import redis

from engine import keys
from engine.embedded import start_embedded
from engine.enqueue import EnqueueRequest, enqueue, enqueue_many
from engine.errors import ReplicationTimeoutError
from tests.conftest import make_engine
from tests.engine.support import wait_until


@pytest.fixture
def primary_and_replica(tmp_path):
    primary = start_embedded(tmp_path / "primary", durable=False, config={"repl-diskless-sync-delay": "0"})
    replica = start_embedded(tmp_path / "replica", durable=False)
    link = redis.Redis.from_url(replica.connection_url)
    try:
        link.execute_command("REPLICAOF", "127.0.0.1", primary.port)
        wait_until(lambda: link.info("replication").get("master_link_status") == "up", timeout_s=10)
        yield primary, replica, link
    finally:
        if replica._process.poll() is None:
            os.kill(replica._process.pid, signal.SIGCONT)
        link.close()
        replica.stop()
        primary.stop()


def test_an_enqueue_waiting_for_a_replica_returns_once_the_replica_has_the_job(primary_and_replica):
    primary, _replica, link = primary_and_replica
    eng = make_engine(primary.connection_url, enqueue_wait_replicas=1, enqueue_wait_timeout_ms=900)
    job = enqueue(eng, EnqueueRequest("dailyReports", {"fn": "ok"}, job_id="waited-1"))
    assert link.exists(keys.job(job.id))  # on the replica when enqueue returned


def test_a_stalled_replica_fails_the_enqueue_on_time_and_the_same_id_is_resent_safely(primary_and_replica):
    primary, replica, link = primary_and_replica
    eng = make_engine(primary.connection_url, enqueue_wait_replicas=1, enqueue_wait_timeout_ms=300)
    plain = make_engine(primary.connection_url)
    os.kill(replica._process.pid, signal.SIGSTOP)  # the replica stops acknowledging
    started = time.monotonic()
    with pytest.raises(ReplicationTimeoutError) as refused:
        enqueue(eng, EnqueueRequest("dailyReports", {"fn": "ok"}, job_id="stalled-1"))
    assert 0.25 <= time.monotonic() - started < 2
    assert refused.value.confirmed == 0 and "re-send it with the same job_id" in str(refused.value)
    assert eng.conn.exists(keys.job("stalled-1"))  # written on the primary, not yet safe
    with pytest.raises(ReplicationTimeoutError, match=r"stalled-2 \(and 1 more of its batch\)"):  # bulk too
        enqueue_many(eng, [EnqueueRequest("dailyReports", {"fn": "ok"}, job_id=f"stalled-{n}") for n in (2, 3)])
    started = time.monotonic()
    enqueue(plain, EnqueueRequest("dailyReports", {"fn": "ok"}, job_id="async-1"))  # the default does not wait
    assert time.monotonic() - started < 0.25
    os.kill(replica._process.pid, signal.SIGCONT)
    again = enqueue(eng, EnqueueRequest("dailyReports", {"fn": "ok"}, job_id="stalled-1"))
    assert again.id == "stalled-1" and link.exists(keys.job("stalled-1"))
    assert eng.conn.llen(keys.waiting("dailyReports", "normal")) == 4  # the re-send added no second job


def test_a_wait_timeout_as_long_as_the_socket_timeout_is_refused_at_start_up():
    from pydantic import ValidationError

    from engine.settings import Settings
    with pytest.raises(ValidationError, match="ENQUEUE_WAIT_TIMEOUT_MS must be shorter"):
        Settings(enqueue_wait_replicas=1, enqueue_wait_timeout_ms=1000, redis_socket_timeout_s=1.0)
    assert Settings(enqueue_wait_replicas=0, enqueue_wait_timeout_ms=1000).enqueue_wait_timeout_ms == 1000


def test_the_api_answers_503_not_replicated_and_a_resend_with_the_same_id_is_201_or_200(primary_and_replica):
    from fastapi.testclient import TestClient

    from api_shim import create_app
    from tests.api_shim.conftest import API_KEYS, WRITE
    primary, replica, link = primary_and_replica
    eng = make_engine(primary.connection_url, enqueue_wait_replicas=1, enqueue_wait_timeout_ms=300)
    job = {"data": {"phone": "+9779800000000", "message": "hello"}, "job_id": "api-stalled-1"}
    with TestClient(create_app(eng, api_keys=API_KEYS), raise_server_exceptions=False) as client:
        os.kill(replica._process.pid, signal.SIGSTOP)
        refused = client.post("/api/v1/queue/jobs/whatsapp", headers=WRITE, json=job)
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
        assert refused.json()["error"]["code"] == "not_replicated"
        assert "re-send it with the same job_id" in refused.json()["error"]["message"]
        os.kill(replica._process.pid, signal.SIGCONT)
        again = client.post("/api/v1/queue/jobs/whatsapp", headers=WRITE, json=job)
        assert again.status_code in (200, 201) and again.json()["id"] == "api-stalled-1"
    assert link.exists(keys.job("api-stalled-1"))
