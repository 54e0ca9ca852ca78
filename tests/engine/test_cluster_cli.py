"""The operator CLI (`python -m engine ...`, real processes) against a real 3-master Valkey Cluster:
enqueue, info, search, pause / resume / limit, cancel, and the dead letters a worker left, listed and retried."""
from __future__ import annotations

import json

from engine import control, dead_letters, keys
from engine.job_ids import in_queue
from tests.engine.support import put, spawn_worker, wait_until
from tests.engine.test_supervisor_cli import engine_cli


def ok(result) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_operator_cli_works_on_a_cluster(cluster_engine):
    eng = cluster_engine
    # the CLI checks data against the real schemas (no test `fn`): the worker dead-letters this job at once
    data = json.dumps({"phone": "+9779800000001", "message": "m", "order_id": "77"})
    created = ok(engine_cli(eng, "enqueue", "whatsapp", data, "--job-id", "cli-77"))
    assert created["id"] == in_queue("whatsapp", "cli-77") and eng.conn.exists(keys.job(created["id"]))
    delayed = ok(engine_cli(eng, "enqueue", "orderExpiry", json.dumps({"order_id": "77", "expires_at": "2030-01-01T00:00:00Z"}),
                                "--delay", "600"))
    info = ok(engine_cli(eng, "info"))
    assert info["whatsapp"]["waiting"]["total"] == 1 and info["orderExpiry"]["scheduled"] == 1
    found = ok(engine_cli(eng, "search", "--order-id", "77"))
    assert {i["id"] for i in found["items"]} == {created["id"], delayed["id"]}  # two queues, two slots
    ok(engine_cli(eng, "pause", "whatsapp"))
    assert control.state("whatsapp", engine=eng)["paused"]
    ok(engine_cli(eng, "resume", "whatsapp"))
    ok(engine_cli(eng, "limit", "whatsapp", "120"))
    assert not control.state("whatsapp", engine=eng)["paused"]
    assert control.state("whatsapp", engine=eng)["rate_limit"] == 120
    assert ok(engine_cli(eng, "cancel", "orderExpiry", delayed["id"]))["outcome"] == "cancelled"
    bad = engine_cli(eng, "cancel", "orderExpiry", delayed["id"])
    assert bad.returncode == 2 and "Traceback" not in bad.stderr

    finished = put(eng, "dailyReports", "ok")
    worker = spawn_worker(eng, ["whatsapp", "dailyReports"], "--burst")
    try:
        worker.wait(timeout=30)
    finally:
        worker.kill()
    wait_until(lambda: dead_letters.exists(created["id"], engine=eng))
    assert eng.conn.hget(keys.job(finished.id), keys.JobField.STATUS) == b"finished"
    listed = ok(engine_cli(eng, "dead-letters", "list"))
    assert listed["total"] == 1 and [e["id"] for e in listed["entries"]] == [created["id"]]
    assert ok(engine_cli(eng, "dead-letters", "retry", created["id"]))["retried"] == 1
    assert not dead_letters.exists(created["id"], engine=eng)
    assert eng.conn.hget(keys.job(created["id"]), keys.JobField.STATUS) == b"queued"
