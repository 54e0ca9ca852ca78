"""A frozen server (SIGSTOP) makes the API answer 503 within about 2 s, and a write its client gave
up on is never carried out when the server wakes (SIGCONT)."""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from api_shim import create_app
from engine import keys
from engine.embedded import start_embedded
from tests.api_shim.conftest import API_KEYS, READ, WRITE
from tests.conftest import make_engine

Q = "/api/v1/queue"
JOB = {"data": {"phone": "+9779800000000", "message": "hi"}}


@pytest.fixture
def private_server(tmp_path):
    """A Valkey of this test's own, so that freezing it stops nobody else; always thawed and stopped."""
    server = start_embedded(tmp_path / "valkey", durable=False)
    pid = server._process.pid
    try:
        yield server, (lambda: os.kill(pid, signal.SIGSTOP)), (lambda: os.kill(pid, signal.SIGCONT))
    finally:
        os.kill(pid, signal.SIGCONT)
        server.stop()


def timed_call(fn, limit_s: float = 10.0):
    """(result, seconds) of fn() run in a thread; a call that hangs fails the test after limit_s."""
    with ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        result = pool.submit(fn).result(timeout=limit_s)
        return result, time.monotonic() - started


def test_a_frozen_server_gets_503_from_healthz_and_a_post_within_about_2_s(private_server):
    server, freeze, thaw = private_server
    eng = make_engine(server.connection_url, real_processors=True)
    with TestClient(create_app(eng, api_keys=API_KEYS), raise_server_exceptions=False) as client:
        assert client.get("/healthz").status_code == 200
        freeze()
        health, health_s = timed_call(lambda: client.get("/healthz"))
        post, post_s = timed_call(lambda: client.post(f"{Q}/jobs/whatsapp", headers=WRITE, json=JOB))
        read, read_s = timed_call(lambda: client.get(f"{Q}/metrics/whatsapp", headers=READ))
        thaw()
        assert (health.status_code, post.status_code, read.status_code) == (503, 503, 503)
        assert post.json()["error"]["code"] == "server_unavailable" and post.headers["Retry-After"]
        assert max(health_s, post_s, read_s) < 3.0, (health_s, post_s, read_s)
        # once thawed, it serves again
        assert client.get("/healthz").status_code == 200


def test_a_post_that_got_503_from_a_frozen_server_is_not_carried_out_after_it_wakes(private_server):
    server, freeze, thaw = private_server
    eng = make_engine(server.connection_url, real_processors=True)
    with TestClient(create_app(eng, api_keys=API_KEYS), raise_server_exceptions=False) as client:
        # scripts loaded and the pool connected, so a write sent now would run as soon as the server wakes
        assert client.post(f"{Q}/jobs/whatsapp", headers=WRITE, json={**JOB, "job_id": "warm-up"}).status_code == 201
        freeze()
        r, _ = timed_call(lambda: client.post(f"{Q}/jobs/whatsapp", headers=WRITE, json={**JOB, "job_id": "gave-up"}))
        assert r.status_code == 503
        thaw()
    probe = make_engine(server.connection_url)
    probe.conn.ping()  # the server has worked through whatever reached it while frozen
    time.sleep(0.3)
    assert not probe.conn.exists(keys.job("gave-up"))
    assert probe.conn.lrange(keys.waiting("whatsapp", "normal"), 0, -1) == [b"warm-up"]


def test_a_write_past_the_request_budget_is_not_sent(engine):
    with TestClient(create_app(engine, api_keys=API_KEYS, request_budget_s=1e-9),
                    raise_server_exceptions=False) as client:
        r = client.post(f"{Q}/jobs/whatsapp", headers=WRITE, json={**JOB, "job_id": "too-late"})
        assert r.status_code == 503 and r.json()["error"]["code"] == "server_unavailable"
        assert client.get(f"{Q}/metrics/whatsapp", headers=READ).status_code == 200  # reads are not refused
    assert not engine.conn.exists(keys.job("too-late"))
    with TestClient(create_app(engine, api_keys=API_KEYS), raise_server_exceptions=False) as client:
        assert client.post(f"{Q}/jobs/whatsapp", headers=WRITE, json={**JOB, "job_id": "in-time"}).status_code == 201
    assert engine.conn.exists(keys.job("in-time"))


def test_an_idle_worker_blocks_longer_than_the_socket_timeout_without_errors(engine_factory, caplog):
    """BLPOP waits up to the reap interval (here 2.5 s) on a 0.3 s socket timeout: no timeout errors."""
    from engine.worker import Worker
    from tests.engine.support import put, wait_until

    eng = engine_factory(reap_interval_ms=2_500, redis_socket_timeout_s=0.3)
    eng.conn.flushdb()
    worker = Worker(eng, ["whatsapp"])
    thread = threading.Thread(target=worker.run, daemon=True)
    with caplog.at_level(logging.WARNING, logger="engine.worker"):
        thread.start()
        try:
            wait_until(lambda: eng.conn.zcard(keys.WORKERS), timeout_s=5)
            time.sleep(2.0)  # idle: blocked in BLPOP well past the socket timeout
            job = put(eng, "whatsapp", "ok")
            wait_until(lambda: eng.conn.hget(keys.job(job.id), "status") == b"finished", timeout_s=5)
        finally:
            worker.stopping = True
            thread.join(timeout=10)
    assert not [r for r in caplog.records if "unreachable" in r.getMessage()]
