"""The support desk over HTTP: search, count, bulk actions, cancel, fix and resend, events."""
from __future__ import annotations

import pytest

from engine import audit, keys
from tests.api_shim.conftest import READ, WRITE
from tests.api_shim.support import error_of
from tests.engine.support import put, thread_workers, wait_until

SEARCH = "/api/v1/queue/search"


@pytest.fixture
def jobs(engine):
    """Order 42: a dead-lettered whatsapp message (bad number) and a waiting expiry; order 43: noise."""
    dead = put(engine, "whatsapp", "permanent", {"phone": "+9779800000042", "message": "m", "order_id": "42"}).id
    noise = put(engine, "whatsapp", "permanent", {"phone": "+9779800000043", "message": "m", "order_id": "43"}).id
    with thread_workers(engine, ["whatsapp"]):
        wait_until(lambda: all(engine.conn.exists(keys.dlq_entry(j)) for j in (dead, noise)))
    waiting = put(engine, "orderExpiry", "ok", {"order_id": "42"}, delay=3600).id
    return {"dead": dead, "noise": noise, "waiting": waiting}


def test_a_read_key_searches_by_order_across_queues_and_states(client, jobs):
    r = client.get(SEARCH, params={"order_id": "42"}, headers=READ)
    assert r.status_code == 200
    body = r.json()
    assert {i["id"]: i["state"] for i in body["items"]} == {jobs["dead"]: "dead_lettered", jobs["waiting"]: "scheduled"}
    assert body["next_cursor"] is None
    dead = next(i for i in body["items"] if i["id"] == jobs["dead"])
    assert dead["last_error"]["type"] == "PermanentError" and dead["data"]["order_id"] == "42"
    for field in ("queue", "id", "state", "priority", "runs", "enqueued_at", "started_at", "ended_at", "data",
                  "last_error"):
        assert field in dead


def test_phone_in_a_local_format_state_queue_and_paging(client, jobs):
    r = client.get(SEARCH, params={"phone": "980-000-0042"}, headers=READ)
    assert [i["id"] for i in r.json()["items"]] == [jobs["dead"]]
    r = client.get(SEARCH, params={"order_id": "42", "state": "scheduled", "queue": "orderExpiry"}, headers=READ)
    assert [i["id"] for i in r.json()["items"]] == [jobs["waiting"]]
    first = client.get(SEARCH, params={"order_id": "42", "limit": 1}, headers=READ).json()
    second = client.get(SEARCH, params={"order_id": "42", "limit": 1, "cursor": first["next_cursor"]},
                        headers=READ).json()
    assert first["items"][0]["id"] == jobs["waiting"] and second["items"][0]["id"] == jobs["dead"]


@pytest.mark.parametrize("params, field", [
    ({"order_id": "4 2"}, "order_id"), ({"phone": "call me"}, "phone"), ({"order_id": "1", "state": "odd"}, "state"),
    ({"order_id": "1", "queue": "nope"}, "queue"), ({"order_id": "1", "limit": 0}, "limit"),
    ({"order_id": "1", "cursor": "x"}, "cursor"), ({"q": " "}, "q"),
])
def test_bad_parameters_are_422_naming_the_parameter(client, params, field):
    r = client.get(SEARCH, params=params, headers=READ)
    assert r.status_code == 422 and error_of(r)["field"] == field


def test_a_search_naming_nothing_says_what_to_give(client, jobs):
    body = client.get(SEARCH, headers=READ).json()
    assert body["items"] == [] and "order_id" in body["hint"]
    assert client.get(SEARCH, params={"order_id": "42"}).status_code == 401


def test_error_words_and_job_id_prefix(client, jobs):
    r = client.get(SEARCH, params={"q": "recipient 12345"}, headers=READ)
    assert {i["id"] for i in r.json()["items"]} == {jobs["dead"], jobs["noise"]}
    r = client.get(SEARCH, params={"q": jobs["dead"][:10]}, headers=READ)
    assert jobs["dead"] in {i["id"] for i in r.json()["items"]}


def test_cancel_route_cancels_a_waiting_job_and_409s_a_dead_one(client, engine, jobs):
    r = client.post(f"/api/v1/queue/jobs/orderExpiry/{jobs['waiting']}/cancel", headers=WRITE)
    assert r.status_code == 200 and r.json()["outcome"] == "cancelled"
    r = client.post(f"/api/v1/queue/jobs/orderExpiry/{jobs['waiting']}/cancel", headers=WRITE)
    assert r.status_code == 409
    assert client.post(f"/api/v1/queue/jobs/whatsapp/{jobs['dead']}/cancel", headers=WRITE).status_code == 409
    assert client.post("/api/v1/queue/jobs/whatsapp/nope/cancel", headers=WRITE).status_code == 404
    assert client.post(f"/api/v1/queue/jobs/whatsapp/{jobs['dead']}/cancel", headers=READ).status_code == 403
    assert [e["outcome"][:2] for e in audit.list_entries(action="cancel", engine=engine)][-1] == "ok"


def test_fix_and_resend_through_both_retry_routes(client, engine, jobs):
    bad = {"data": {"phone": "12", "message": "m", "order_id": "42"}}
    r = client.post(f"/api/v1/queue/dead-letter/{jobs['dead']}/retry", json=bad, headers=WRITE)
    assert r.status_code == 422 and error_of(r)["field"] == "data.phone"
    assert engine.conn.exists(keys.dlq_entry(jobs["dead"]))
    fixed = {"data": {"phone": "+9779811111111", "message": "m", "order_id": "42"}}
    r = client.post(f"/api/v1/queue/dead-letter/{jobs['dead']}/retry", json=fixed, headers=WRITE)
    assert r.status_code == 200
    item = client.get(SEARCH, params={"phone": "9811111111"}, headers=READ).json()["items"][0]
    assert item["id"] == jobs["dead"] and item["state"] == "waiting"
    r = client.post(f"/api/v1/queue/retry/whatsapp/{jobs['noise']}", json={"data": {"phone": "+9779800000043"}},
                    headers=WRITE)
    assert r.status_code == 422 and error_of(r)["field"] == "data.message"
    r = client.post(f"/api/v1/queue/retry/whatsapp/{jobs['noise']}",
                    json={"data": {"phone": "+9779800000044", "message": "again", "order_id": "43"}}, headers=WRITE)
    assert r.status_code == 200
    entry = audit.list_entries(action="retry", engine=engine)[0]
    assert entry["details"]["data_before"]["phone"] == "+9779800000043"
    assert entry["details"]["data_after"]["phone"] == "+9779800000044"


def test_count_then_bulk_cancel_and_delete_on_a_search_filter(client, engine, jobs):
    r = client.get(f"{SEARCH}/count", params={"order_id": "42", "action": "cancel"}, headers=READ)
    assert r.json() == {"count": 1, "cap": 10_000, "over_cap": False}
    r = client.post(f"{SEARCH}/cancel", json={"filter": {"order_id": "42"}}, headers=WRITE)
    assert r.status_code == 200 and r.json() == {"count": 1}
    r = client.post(f"{SEARCH}/delete", json={"filter": {"order_id": "42", "state": "dead_lettered"}}, headers=WRITE)
    assert r.json() == {"count": 1} and not engine.conn.exists(keys.dlq_entry(jobs["dead"]))
    assert engine.conn.exists(keys.dlq_entry(jobs["noise"]))
    [entry] = audit.list_entries(action="bulk_delete_search", engine=engine)
    assert entry["details"] == {"filter": {"order_id": "42", "state": "dead_lettered"}, "count": 1}
    r = client.post(f"{SEARCH}/retry", json={"filter": {"queue": "whatsapp"}}, headers=WRITE)
    assert r.status_code == 422
    assert client.post(f"{SEARCH}/retry", json={"filter": {"order_id": "43"}}, headers=READ).status_code == 403


def test_events_of_an_order(client, jobs):
    r = client.get(f"{SEARCH}/events", params={"kind": "order", "value": "42"}, headers=READ)
    events = r.json()["items"]
    assert {e["job_id"] for e in events} == {jobs["dead"], jobs["waiting"]}
    assert "dead_lettered" in {e["event"] for e in events}
