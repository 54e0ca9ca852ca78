"""`python -m api_shim` serves the app with uvicorn, configured from the environment."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx

from tests.engine.support import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_python_m_api_shim_serves_the_api_from_the_environment(engine, redis_url):
    port = _free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "API_KEYS": "cli:write:cli-key-123456", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "api_shim", "--host", "127.0.0.1", "--port", str(port),
                             "--log-level", "warning"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                health = httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert health.status_code == 200 and health.json()["server"] == "reachable"
        assert httpx.get(f"{base}/api/v1/queue/metrics").status_code == 401
        created = httpx.post(f"{base}/api/v1/queue/jobs/creditReconciliation", json={"data": {}},
                             headers={"Authorization": "Bearer cli-key-123456"})
        assert created.status_code == 201
        assert httpx.get(base + created.headers["location"], headers={"X-API-Key": "cli-key-123456"}).status_code == 200
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        stderr = proc.stderr.read().decode()
        assert "cli-key-123456" not in stderr


def test_bad_api_keys_stop_the_server_at_start(redis_url):
    env = {**os.environ, "REDIS_URL": redis_url, "API_KEYS": "oops", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "api_shim", "--port", str(_free_port())], cwd=ROOT, env=env,
                          capture_output=True, timeout=30)
    assert done.returncode == 2 and b"name:role:key" in done.stderr
