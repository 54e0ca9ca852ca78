"""The REST API over an engine in cluster mode (a real 3-master Valkey Cluster): tagged job ids in paths,
a caller's plain id, and the reads that merge every queue's slot."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api_shim import create_app
from tests.api_shim.conftest import API_KEYS, READ, WRITE

J = "/api/v1/queue/jobs"
WA = {"phone": "+9779800000000", "message": "Your order 42 is confirmed", "order_id": "ord-77"}


@pytest.fixture
def client(cluster_engine):
    with TestClient(create_app(cluster_engine, api_keys=API_KEYS), raise_server_exceptions=False) as c:
        yield c


def test_a_job_added_in_cluster_mode_is_found_by_its_tagged_id_and_by_search(client):
    r = client.post(f"{J}/whatsapp", headers=WRITE, json={"data": WA})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"].startswith("{whatsapp}") and body["status"] == "queued"
    details = client.get(body["href"], headers=READ)
    assert details.status_code == 200 and details.json()["id"] == body["id"]
    found = client.get("/api/v1/queue/search", params={"order_id": "ord-77"}, headers=READ).json()
    assert [i["id"] for i in found["items"]] == [body["id"]]


def test_a_caller_s_id_is_tagged_and_its_plain_form_still_names_the_job(client):
    r = client.post(f"{J}/dailyReports", headers=WRITE, json={"data": {"report_date": "2024-05-01"},
                                                              "job_id": "report-2024-05-01"})
    assert r.status_code == 201 and r.json()["id"] == "{dailyReports}report-2024-05-01"
    plain = client.get(f"{J}/dailyReports/report-2024-05-01", headers=READ)
    assert plain.status_code == 200 and plain.json()["id"] == "{dailyReports}report-2024-05-01"
    assert client.get(f"{J}/orderExpiry/report-2024-05-01", headers=READ).status_code == 404


def test_cross_queue_reads_answer_in_cluster_mode(client):
    client.post(f"{J}/whatsapp", headers=WRITE, json={"data": WA})
    client.post(f"{J}/dailyReports", headers=WRITE, json={"data": {"report_date": "2024-05-02"}})
    metrics = client.get("/api/v1/queue/metrics", headers=READ)
    assert metrics.status_code == 200 and metrics.json()["totals"]["waiting"] == 2
    dead = client.get("/api/v1/queue/dead-letter", headers=READ)
    assert dead.status_code == 200 and dead.json()["total"] == 0
    audit = client.get("/api/v1/queue/audit", headers=WRITE)
    assert audit.status_code == 200
    assert [e["queue"] for e in audit.json()["items"]][:2] == ["dailyReports", "whatsapp"]  # newest first, merged


def test_dead_letters_with_tagged_ids_are_read_retried_and_deleted_over_http(client, cluster_engine):
    from tests.api_shim.support import dead

    wa = dead(cluster_engine, "whatsapp", 2)
    oe = dead(cluster_engine, "orderExpiry", 1)
    assert all(i.startswith("{whatsapp}") for i in wa) and oe[0].startswith("{orderExpiry}")
    D = "/api/v1/queue/dead-letter"
    page = client.get(D, headers=WRITE).json()
    assert page["total"] == 3 and {e["id"] for e in page["items"]} == {*wa, *oe}
    assert client.get(f"{D}/{wa[0]}", headers=WRITE).json()["queue"] == "whatsapp"
    assert client.post(f"{D}/{wa[0]}/retry", headers=WRITE).status_code == 200
    r = client.post(f"{D}/delete", headers=WRITE, json={"ids": [wa[1], "not-there"]})
    assert r.status_code == 200 and r.json() == {"count": 1}
    groups = client.get("/api/v1/queue/failure-groups", headers=WRITE).json()["items"]
    assert len(groups) == 1 and groups[0]["dead_lettered"] == 1 and set(groups[0]["queues"]) == {"whatsapp",
                                                                                                  "orderExpiry"}
    r = client.post(f"/api/v1/queue/failure-groups/{groups[0]['signature']}/retry", headers=WRITE)
    assert r.status_code == 200 and client.get(D, headers=WRITE).json()["total"] == 0
