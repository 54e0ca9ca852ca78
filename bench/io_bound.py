"""`python -m bench io_bound`: the real whatsapp processor (Cloud provider, SQLite outbox) in one worker
process of 50 slots (thread slots for `run`, async slots for `arun`), against the local fake Cloud API (domain/whatsapp/fake_cloud.py) answering every
send after 100 ms, in a process of its own. Target: >= 450 jobs/s steady (first start to last end)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from engine import keys
from engine.enqueue import EnqueueRequest, enqueue_many

from .harness import ROOT, Bench, children_cpu_s, cpu_s
from .measures import row
from .rates import steady_rate

FAKE_API = """
import dataclasses, http.server, sys
from domain.whatsapp.fake_cloud import FakeCloudApi

http.server.ThreadingHTTPServer.request_queue_size = 256  # 50 slots connect at once (the default backlog is 5)

class Slow(FakeCloudApi):
    def handle_send(self, path, authorization, payload):
        return dataclasses.replace(super().handle_send(path, authorization, payload), delay_s=%(delay)r)

api = Slow(token="bench-token").start()
print(api.base_url, flush=True)
sys.stdin.read()  # until the bench closes our stdin
"""


def _drain(b: Bench, n: int, concurrency: int, overrides: dict, data, extra_env: dict,
           api_pid: int) -> tuple[float, str]:
    """The steady rate, and a note: CPU ms per job of the worker and of the fake API, what did not finish."""
    b.flush()
    eng = b.engine(queue_overrides=overrides)
    for i in range(0, n, 1000):
        enqueue_many(eng, [EnqueueRequest("whatsapp", data(j)) for j in range(i, min(n, i + 1000))])
    cpu0, api0 = children_cpu_s(), cpu_s(api_pid)
    worker = subprocess.run([sys.executable, "-m", "engine", "worker", "--queues", "whatsapp", "--concurrency",
                             str(concurrency), "--burst"], cwd=ROOT, env={**b.env(eng), **extra_env},
                            capture_output=True, text=True, timeout=600)
    cpu = f"; CPU per job: worker {(children_cpu_s() - cpu0) * 1000 / n:.2f} ms (start-up included), " \
          f"fake API {(cpu_s(api_pid) - api0) * 1000 / n:.2f} ms"
    if worker.returncode != 0:
        raise RuntimeError(f"worker exited {worker.returncode}: {worker.stderr[-400:]}")
    rate = steady_rate(b.url, n, strict=False)
    errors = Counter(json.loads(e)["type"] for key in eng.conn.scan_iter(match="jq:attempts:*", count=1000)
                     for e in eng.conn.lrange(key, 0, -1))
    unfinished = n - sum(1 for _ in eng.conn.zscan_iter(keys.finished("whatsapp")))
    return rate, cpu + (f"; {unfinished} not finished by the burst's end" if unfinished else "") + \
        (f"; failed runs: {dict(errors)}" if errors else "")


def io_bound(b: Bench, n: int = 3000, concurrency: int = 50, delay_s: float = 0.1) -> list[dict]:
    folder = Path(tempfile.mkdtemp(prefix="bench-io-"))
    api = subprocess.Popen([sys.executable, "-c", FAKE_API % {"delay": delay_s}], cwd=ROOT, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        base_url = api.stdout.readline().strip()
        cloud = {"DATABASE_URL": f"sqlite:///{folder / 'domain.sqlite3'}", "WHATSAPP_PROVIDER": "cloud",
                 "WHATSAPP_API_BASE_URL": base_url, "WHATSAPP_PHONE_NUMBER_ID": "1234567890",
                 "WHATSAPP_TOKEN": "bench-token", "WHATSAPP_TIMEOUT_S": "5"}
        message = lambda j: {"phone": f"+9779800{j:06d}", "message": f"Order {j} ready"}  # noqa: E731
        real, real_note = _drain(b, n, concurrency, {"whatsapp": {"func": "processors.whatsapp.run"}}, message,
                                 cloud, api.pid)
        areal, areal_note = _drain(b, n, concurrency, {"whatsapp": {"func": "processors.whatsapp.arun"}}, message,
                                   cloud, api.pid)
        url = f"{base_url}/1234567890/messages"
        bare, bare_note = _drain(b, n, concurrency, {"whatsapp": {"key_limit": None}},
                      lambda j: {"fn": "post", "url": url, "to": f"9779800{j:06d}"}, {}, api.pid)
    finally:
        api.stdin.close()
        api.wait(timeout=10)
    what = f"fake Cloud API answering in {delay_s * 1000:g} ms, one process, concurrency {concurrency} (steady jobs/s)"
    return [row(f"IO-bound whatsapp, the real processor (Cloud provider, SQLite outbox), {what}", real, None, "jobs/s",
                ">= 450", real >= 450, note=f"{n:,} jobs, each to its own recipient; thread slots{real_note}"),
            row(f"IO-bound whatsapp, its async processor (processors.whatsapp.arun, aiohttp) on async slots, {what}",
                areal, None, "jobs/s", ">= 450", areal >= 450,
                note=f"{n:,} jobs, each to its own recipient; one event loop{areal_note}"),
            row(f"IO-bound: one POST per job, no business code, {what}", bare, None, "jobs/s", "", None,
                note=f"{n:,} jobs; the ceiling is {concurrency / delay_s:,.0f}{bare_note}")]


ALL = [io_bound]
