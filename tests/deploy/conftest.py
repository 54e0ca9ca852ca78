"""What the deploy/ files are checked against: the metric names a real API's /metrics exposes."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from engine.alert_delivery import AlertDuty
from tests.engine.support import ROOT, put, thread_workers, wait_until

DEPLOY = ROOT / "deploy"
PROMQL_WORDS = {"and", "or", "unless", "on", "ignoring", "group_left", "group_right", "by", "without", "bool",
                "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (label matchers, ranges, strings, groupings and
    function names taken out)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for m in re.finditer(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)", expr):
        rest = expr[m.end():].lstrip()
        if not rest.startswith("(") and m.group(1).lower() not in PROMQL_WORDS:
            names.add(m.group(1))
    return names


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def exposed(engine, redis_url) -> set[str]:
    """Sample names of `/metrics` served by `python -m api_shim` over a server with runs, a dead
    letter, an alert firing and schedule counters, so that every family has samples."""
    for i in range(5):
        put(engine, "whatsapp", "ok", {"i": i})
    put(engine, "whatsapp", "permanent")
    with thread_workers(engine, ["whatsapp"]):
        wait_until(lambda: engine.conn.zcard("jq:dlq:all") == 1, timeout_s=20)
    put(engine, "orderExpiry", "ok")
    AlertDuty(engine, {}).run()
    port = _free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "API_KEYS": "deploy:read:deploy-key-123456", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "api_shim", "--host", "127.0.0.1", "--port", str(port),
                             "--log-level", "warning"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                scrape = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "the API did not start"
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert scrape.status_code == 200
    return {s.name for family in text_string_to_metric_families(scrape.text) for s in family.samples}
