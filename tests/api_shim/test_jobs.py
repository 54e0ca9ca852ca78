"""Jobs: add (per-queue data schema), details, retry, removal, and their error statuses."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine import dead_letters, monitoring
from tests.api_shim.conftest import WRITE
from tests.api_shim.support import dead, error_of
from tests.engine.support import put, thread_workers, wait_until

J = "/api/v1/queue/jobs"
WA = {"phone": "+9779800000000", "message": "Your order 42 is confirmed"}


def test_add_job_returns_201_with_the_id_and_a_link_to_its_details(client):
    r = client.post(f"{J}/whatsapp", headers=WRITE, json={"data": WA, "priority": "high"})
    assert r.status_code == 201
    body = r.json()
    assert body["queue"] == "whatsapp" and body["status"] == "queued"
    assert body["href"] == r.headers["Location"] == f"{J}/whatsapp/{body['id']}"
    details = client.get(body["href"], headers=WRITE).json()
    assert details["id"] == body["id"] and details["data"] == WA and details["options"]["priority"] == "high"


def test_delayed_and_run_at_jobs_are_scheduled(client):
    later = client.post(f"{J}/vendorFallback", headers=WRITE,
                        json={"data": {"order_id": "ord-1", "failed_wholesaler_id": "w-9"}, "delay_s": 120})
    assert later.status_code == 201 and later.json()["status"] == "scheduled"
    when = (datetime.now(timezone.utc) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")  # within 366 days
    at = client.post(f"{J}/orderExpiry", headers=WRITE, json={
        "data": {"order_id": "ord-2", "expires_at": when}, "run_at": when})
    assert at.status_code == 201
    assert client.get(at.json()["href"], headers=WRITE).json()["due_at"].startswith(when[:19])


def test_caller_job_id_is_used_and_a_pending_duplicate_returns_the_same_job(client):
    first = client.post(f"{J}/dailyReports", headers=WRITE, json={"data": {"report_date": "2024-05-01"},
                                                                   "job_id": "report-2024-05-01"})
    again = client.post(f"{J}/dailyReports", headers=WRITE, json={"data": {}, "job_id": "report-2024-05-01"})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] == "report-2024-05-01"


def test_job_id_pending_on_another_queue_is_a_conflict(client):
    client.post(f"{J}/dailyReports", headers=WRITE, json={"data": {}, "job_id": "shared-id"})
    r = client.post(f"{J}/creditReconciliation", headers=WRITE, json={"data": {}, "job_id": "shared-id"})
    assert r.status_code == 409 and error_of(r)["code"] == "conflict"


@pytest.mark.parametrize("queue,body,field", [
    ("whatsapp", {"data": {"phone": "9779800000000", "message": "hi"}}, "data.phone"),
    ("whatsapp", {"data": {"phone": "+9779800000000"}}, "data.message"),
    ("whatsapp", {"data": {"phone": "+9779800000000", "message": "   "}}, "data.message"),
    ("whatsapp", {"data": {**WA, "extra": 1}}, "data.extra"),
    ("orderExpiry", {"data": {"order_id": "o1", "expires_at": "2030-01-01T00:00:00"}}, "data.expires_at"),
    ("dailyReports", {"data": {"report_date": 20240501}}, "data.report_date"),
    ("vendorFallback", {"data": {"order_id": "o 1", "failed_wholesaler_id": "w"}}, "data.order_id"),
    ("creditReconciliation", {"data": {}, "priority": "urgent"}, "priority"),
    ("creditReconciliation", {"data": {}, "delay_s": -1}, "delay_s"),
    ("creditReconciliation", {"data": {}, "delay_s": "5"}, "delay_s"),
    ("creditReconciliation", {"data": {}, "run_at": "tomorrow"}, "run_at"),
    ("creditReconciliation", {"data": {}, "job_id": "has.dot"}, "job_id"),
    ("creditReconciliation", {"data": {}, "job_id": "../etc"}, "job_id"),
    ("creditReconciliation", {"data": {}, "unknown": 1}, "unknown"),
    ("creditReconciliation", {}, "data"),
])
def test_bad_new_job_is_422_naming_the_field(client, engine, queue, body, field):
    r = client.post(f"{J}/{queue}", headers=WRITE, json=body)
    assert r.status_code == 422, r.text
    err = error_of(r)
    assert err["code"] == "validation_error" and err["field"] == field, err
    assert monitoring.get_queue_metrics(queue, engine=engine)["waiting"]["total"] == 0


def test_delay_and_run_at_together_are_refused(client):
    r = client.post(f"{J}/creditReconciliation", headers=WRITE,
                    json={"data": {}, "delay_s": 5, "run_at": "2099-01-01T00:00:00Z"})
    assert r.status_code == 422 and "not both" in error_of(r)["message"]


def test_data_is_checked_by_the_engine_schema_too(client, monkeypatch):
    """The API's strict check and the engine's validate_data agree; the engine has the last word."""
    from engine import helpers
    from engine.errors import ValidationError

    def refuse(eng, queue, data):
        raise ValidationError("phone", "blocked number")

    monkeypatch.setattr(helpers, "validate_data", refuse)
    r = client.post(f"{J}/whatsapp", headers=WRITE, json={"data": WA})
    assert r.status_code == 422 and error_of(r)["field"] == "phone"


def test_unknown_queue_is_404_on_every_queue_route(client):
    for method, path in [("get", "/api/v1/queue/metrics/sms"), ("get", f"{J}/sms/abc"),
                         ("delete", f"{J}/sms/abc"), ("post", "/api/v1/queue/retry/sms/abc"),
                         ("get", "/api/v1/queue/failed/sms"), ("get", "/api/v1/queue/metrics/sms/history"),
                         ("get", "/api/v1/queue/metrics/sms/history.csv"),
                         ("post", "/api/v1/queue/queues/sms/pause"), ("post", "/api/v1/queue/queues/sms/resume")]:
        r = client.request(method, path, headers=WRITE)
        assert r.status_code == 404 and error_of(r)["code"] == "unknown_queue", (method, path)
    assert client.put("/api/v1/queue/queues/sms/rate-limit", headers=WRITE, json={"limit": 1}).status_code == 404
    r = client.post(f"{J}/sms", headers=WRITE, json={"data": {}})
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"


@pytest.mark.parametrize("job_id", ["-starts-with-dash", "has space", "x" * 129, "semi;colon", "ünicode"])
def test_job_id_outside_the_safe_pattern_is_422(client, job_id):
    for method, path in [("get", f"{J}/whatsapp/{job_id}"), ("delete", f"{J}/whatsapp/{job_id}"),
                         ("post", f"/api/v1/queue/retry/whatsapp/{job_id}")]:
        r = client.request(method, path, headers=WRITE)
        assert r.status_code == 422 and error_of(r)["field"] == "jobId", (method, r.text)


def test_unknown_job_is_404(client):
    assert client.get(f"{J}/whatsapp/no-such-job", headers=WRITE).status_code == 404
    assert client.delete(f"{J}/whatsapp/no-such-job", headers=WRITE).status_code == 404
    assert client.post("/api/v1/queue/retry/whatsapp/no-such-job", headers=WRITE).status_code == 404


def test_job_is_found_only_on_its_own_queue(client):
    job_id = client.post(f"{J}/whatsapp", headers=WRITE, json={"data": WA}).json()["id"]
    assert client.get(f"{J}/orderExpiry/{job_id}", headers=WRITE).status_code == 404
    assert client.delete(f"{J}/orderExpiry/{job_id}", headers=WRITE).status_code == 404


def test_delete_removes_the_job_and_a_second_delete_is_404(client):
    job_id = client.post(f"{J}/whatsapp", headers=WRITE, json={"data": WA}).json()["id"]
    r = client.delete(f"{J}/whatsapp/{job_id}", headers=WRITE)
    assert r.status_code == 200 and r.json() == {"id": job_id, "queue": "whatsapp", "done": True}
    assert client.get(f"{J}/whatsapp/{job_id}", headers=WRITE).status_code == 404
    assert client.delete(f"{J}/whatsapp/{job_id}", headers=WRITE).status_code == 404


def test_deleting_a_running_job_is_409(client, engine):
    job = put(engine, "whatsapp", "sleep", {"seconds": 1.0})
    with thread_workers(engine, ["whatsapp"]):
        wait_until(lambda: monitoring.get_queue_metrics("whatsapp", engine=engine)["active"] == 1, timeout_s=5)
        r = client.delete(f"{J}/whatsapp/{job.id}", headers=WRITE)
        assert r.status_code == 409 and error_of(r)["code"] == "conflict"
        wait_until(lambda: monitoring.get_queue_metrics("whatsapp", engine=engine)["active"] == 0, timeout_s=5)


def test_retry_of_a_dead_lettered_job_requeues_it(client, engine):
    [job_id] = dead(engine, "whatsapp")
    assert client.get(f"{J}/whatsapp/{job_id}", headers=WRITE).json()["state"] == "dead_lettered"
    r = client.post(f"/api/v1/queue/retry/whatsapp/{job_id}", headers=WRITE)
    assert r.status_code == 200 and r.json()["done"] is True
    assert not dead_letters.exists(job_id, engine=engine)
    assert client.get(f"{J}/whatsapp/{job_id}", headers=WRITE).json()["state"] == "queued"


def test_retry_of_a_job_that_is_neither_failed_nor_dead_lettered_is_409(client):
    job_id = client.post(f"{J}/whatsapp", headers=WRITE, json={"data": WA}).json()["id"]
    r = client.post(f"/api/v1/queue/retry/whatsapp/{job_id}", headers=WRITE)
    assert r.status_code == 409 and error_of(r)["code"] == "conflict"


def test_failed_jobs_are_paginated_with_a_capped_limit(client, engine):
    ids = dead(engine, "orderExpiry", 3)
    page = client.get("/api/v1/queue/failed/orderExpiry?limit=2", headers=WRITE).json()
    assert page["total"] == 3 and page["limit"] == 2 and [j["id"] for j in page["items"]] == ids[::-1][:2]
    rest = client.get("/api/v1/queue/failed/orderExpiry?limit=2&offset=2", headers=WRITE).json()
    assert [j["id"] for j in rest["items"]] == [ids[0]]
    for bad in ("limit=501", "limit=0", "offset=-1", "limit=abc"):
        r = client.get(f"/api/v1/queue/failed/orderExpiry?{bad}", headers=WRITE)
        assert r.status_code == 422 and error_of(r)["field"] in ("limit", "offset"), bad
