"""Queue control, metrics (now and history, JSON and CSV) and the audit log over HTTP."""
from __future__ import annotations

import csv
import io
from urllib.parse import quote

from engine import audit, control
from tests.api_shim.conftest import READ, WRITE
from tests.api_shim.support import error_of
from tests.engine.support import put
from engine.worker import Worker

Q = "/api/v1/queue"


def test_pause_resume_and_rate_limit_change_the_queue_for_every_worker(client, engine):
    r = client.post(f"{Q}/queues/orderExpiry/pause", headers=WRITE)
    assert r.status_code == 200 and r.json()["paused"] is True and r.json()["queue"] == "orderExpiry"
    assert control.state("orderExpiry", engine=engine)["paused"] is True
    assert client.post(f"{Q}/queues/orderExpiry/resume", headers=WRITE).json()["paused"] is False
    r = client.put(f"{Q}/queues/orderExpiry/rate-limit", headers=WRITE, json={"limit": 7, "window_ms": 5000})
    assert r.status_code == 200 and r.json()["rate_limit"] == 7 and r.json()["rate_window_s"] == 5.0
    assert client.get(f"{Q}/metrics/orderExpiry", headers=READ).json()["rate_limit"] == 7


def test_rate_limit_body_is_validated(client):
    for body in ({}, {"limit": 0}, {"limit": 1_000_001}, {"limit": "5"}, {"limit": 2.5}, {"limit": True},
                 {"limit": 5, "window_ms": 10}, {"limit": 5, "extra": 1}):
        r = client.put(f"{Q}/queues/whatsapp/rate-limit", headers=WRITE, json=body)
        assert r.status_code == 422 and error_of(r)["code"] == "validation_error", body
    assert client.put(f"{Q}/queues/whatsapp/rate-limit", headers=WRITE, json={"limit": 5.0}).status_code == 200


def test_metrics_for_all_queues_and_one(client, engine):
    put(engine, "whatsapp", "ok", priority="high")
    put(engine, "whatsapp", "ok", delay=60)
    everything = client.get(f"{Q}/metrics", headers=READ).json()
    assert set(everything["queues"]) == {"whatsapp", "orderExpiry", "vendorFallback", "dailyReports",
                                         "creditReconciliation"}
    assert everything["totals"]["waiting"] == 1 and everything["totals"]["scheduled"] == 1
    one = client.get(f"{Q}/metrics/whatsapp", headers=READ).json()
    assert one["waiting"]["high"] == 1 and one["scheduled"] == 1 and "no live workers" in one["alerts"]


def test_history_as_json_and_csv(client, engine):
    put(engine, "dailyReports", "ok")
    put(engine, "dailyReports", "permanent")
    Worker(engine, ["dailyReports"], burst=True).run()
    r = client.get(f"{Q}/metrics/dailyReports/history", headers=READ)
    assert r.status_code == 200
    body = r.json()
    assert body["resolution"] == "m" and body["truncated"] is False and len(body["rows"]) >= 60
    assert sum(row["completed"] for row in body["rows"]) == 1 and sum(row["dead_lettered"] for row in body["rows"]) == 1
    r = client.get(f"{Q}/metrics/dailyReports/history.csv?resolution=m", headers=READ)
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert sum(int(row["completed"]) for row in rows) == 1 and rows[0]["queue"] == "dailyReports"


def test_history_windows_are_clipped_to_the_data_and_refused_only_outside_the_documented_years(client):
    start, end = quote("1970-01-01T00:00:00+23:59"), quote("9998-12-31T23:59:59-23:59")
    body = client.get(f"{Q}/metrics/whatsapp/history?start={start}&end={end}&resolution=m", headers=READ).json()
    assert body["truncated"] is True and len(body["rows"]) <= 20_000
    backwards = client.get(f"{Q}/metrics/whatsapp/history?start=2024-02-01T00:00:00Z&end=2024-01-01T00:00:00Z",
                           headers=READ).json()
    assert backwards["rows"] == []
    csv_text = client.get(f"{Q}/metrics/whatsapp/history.csv?start=2024-02-01T00:00:00Z&end=2024-01-01T00:00:00Z",
                          headers=READ).text
    assert csv_text.strip().startswith("time,queue")
    for bad in ("resolution=w", "start=2024-01-01", "end=now"):
        r = client.get(f"{Q}/metrics/whatsapp/history?{bad}", headers=READ)
        assert r.status_code == 422, bad


def test_audit_log_filters_and_csv(client, engine):
    client.post(f"{Q}/queues/whatsapp/pause", headers=WRITE)
    client.post(f"{Q}/queues/orderExpiry/pause", headers=WRITE)
    client.post(f"{Q}/queues/orderExpiry/resume", headers=READ)  # denied, still audited
    everything = client.get(f"{Q}/audit", headers=READ).json()["items"]
    assert [(e["actor"], e["action"], e["queue"]) for e in everything] == [
        ("viewer", "resume", "orderExpiry"), ("ops-bot", "pause", "orderExpiry"), ("ops-bot", "pause", "whatsapp")]
    mine = client.get(f"{Q}/audit?actor=ops-bot&queue=orderExpiry", headers=READ).json()["items"]
    assert [e["action"] for e in mine] == ["pause"]
    assert client.get(f"{Q}/audit?since=2999-01-01T00:00:00Z", headers=READ).json()["items"] == []
    assert client.get(f"{Q}/audit?until=1900-01-01T00:00:00Z", headers=READ).json()["items"] == []
    assert len(client.get(f"{Q}/audit?since=0002-01-01T00:00:00Z&limit=2", headers=READ).json()["items"]) == 2
    rows = list(csv.DictReader(io.StringIO(client.get(f"{Q}/audit.csv?action=pause", headers=READ).text)))
    assert [r["queue"] for r in rows] == ["orderExpiry", "whatsapp"] and rows[0]["source"] == "api"
    assert client.get(f"{Q}/audit?limit=501", headers=READ).status_code == 422
    assert audit.list_entries(engine=engine, action="pause")[0]["actor"] == "ops-bot"
