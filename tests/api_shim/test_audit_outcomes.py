"""What the audit log records for refused calls (rate-limited, counted) and for conflicts."""
from __future__ import annotations

import time

from engine import audit, keys
from engine.audit import Actor
from tests.api_shim.conftest import READ, WRITE
from tests.api_shim.support import error_of

Q = "/api/v1/queue"
WA = {"phone": "+9779800000000", "message": "hi"}


def refusals(engine, actor="viewer"):
    return [e for e in audit.list_entries(actor=actor, engine=engine) if e["outcome"].startswith("denied")]


def test_refused_calls_are_audited_once_per_key_per_minute_with_a_count(client, engine):
    for _ in range(200):
        r = client.post(f"{Q}/jobs/whatsapp", headers=READ, json={"data": WA})
        assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
    for _ in range(50):
        assert client.post(f"{Q}/queues/whatsapp/pause", headers=READ).status_code == 403
    [entry] = refusals(engine)
    assert entry["details"] == {"count": 1} and entry["source"] == "api" and entry["outcome"] == "denied: read-only role"
    assert int(engine.conn.get(keys.audit_refusals("api", "viewer"))) == 249  # counted, not yet written
    assert engine.conn.xlen(keys.AUDIT) == 1


def test_the_next_entry_carries_the_refusals_counted_since_the_previous_one(client, engine, monkeypatch):
    monkeypatch.setattr(audit, "REFUSAL_ENTRY_EVERY_MS", 1000)  # room for five requests on a loaded machine
    for _ in range(5):
        client.post(f"{Q}/jobs/whatsapp", headers=READ, json={"data": WA})
    time.sleep(1.05)  # the (scaled) minute has passed
    client.post(f"{Q}/jobs/whatsapp", headers=READ, json={"data": WA})
    newest, oldest = refusals(engine)
    assert oldest["details"] == {"count": 1} and newest["details"] == {"count": 5}  # 4 counted + this one
    assert sum(e["details"]["count"] for e in refusals(engine)) == 6


def test_refusals_are_limited_per_key_not_globally(engine):
    for name in ("viewer-a", "viewer-b"):
        for _ in range(3):
            audit.record_refusal(Actor(name, "api"), "pause", outcome="denied: read-only role", engine=engine)
    assert len(refusals(engine, "viewer-a")) == len(refusals(engine, "viewer-b")) == 1


def test_a_job_id_conflict_is_409_and_audited_as_conflict(client, engine):
    first = client.post(f"{Q}/jobs/dailyReports", headers=WRITE, json={"data": {}, "job_id": "shared-id"})
    assert first.status_code == 201
    r = client.post(f"{Q}/jobs/whatsapp", headers=WRITE, json={"data": WA, "job_id": "shared-id"})
    assert r.status_code == 409 and error_of(r)["code"] == "conflict" and "dailyReports" in error_of(r)["message"]
    newest, oldest = audit.list_entries(action="enqueue", engine=engine)
    assert (oldest["queue"], oldest["outcome"]) == ("dailyReports", "ok")
    assert (newest["queue"], newest["outcome"]) == ("whatsapp", "conflict")
    assert "dailyReports" in newest["details"]["error"] and newest["details"]["job_id"] == "shared-id"
    assert engine.conn.llen(keys.waiting("whatsapp", "normal")) == 0
