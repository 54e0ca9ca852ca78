"""The async whatsapp sends' aiohttp sessions close with the event loop that made them
(domain/whatsapp/cloud_async.py): an async slot pool's loop, and the loop a thread slot makes for each job
alike, so a worker that ran whatsapp jobs against the Cloud API exits without "Unclosed client session"."""
import subprocess
import sys

import pytest

from engine import keys
from processors import helpers

from tests.engine.support import ROOT, worker_env

JOBS = 6


@pytest.mark.parametrize("queues", [
    ["whatsapp"],  # arun's queue alone: its slots are tasks of one loop (engine/async_slots.py)
    ["whatsapp", "orderExpiry"],  # with a sync queue: thread slots, each arun job on a loop of its own
])
def test_a_worker_that_sent_whatsapp_jobs_through_arun_exits_with_every_session_closed(
        engine, settings, cloud_api, queues):
    ids = [helpers.add_whatsapp_message(f"+97798200000{i:02d}", f"Order {i} ready").id for i in range(JOBS)]
    env = worker_env(engine) | {"DATABASE_URL": settings.database_url, "WHATSAPP_PROVIDER": "cloud",
                                "WHATSAPP_API_BASE_URL": cloud_api.base_url,
                                "WHATSAPP_PHONE_NUMBER_ID": cloud_api.phone_number_id,
                                "WHATSAPP_TOKEN": cloud_api.token, "WHATSAPP_TIMEOUT_S": "5",
                                "PYTHONWARNINGS": "always::ResourceWarning",
                                "QUEUE_OVERRIDES": '{"whatsapp": {"func": "processors.whatsapp.arun"}}'}
    worker = subprocess.run([sys.executable, "-m", "engine", "worker", "--queues", ",".join(queues),
                             "--concurrency", "3", "--burst"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert worker.returncode == 0, worker.stderr
    assert [engine.conn.hget(keys.job(i), "status") for i in ids] == [b"finished"] * JOBS
    assert len(cloud_api.requests) == JOBS
    assert "Unclosed" not in worker.stderr and "ResourceWarning" not in worker.stderr, worker.stderr
