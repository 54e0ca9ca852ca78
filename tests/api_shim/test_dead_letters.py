"""The dead-letter queue and failure groups over HTTP: list, filter, page, inspect, retry, delete."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from engine import dead_letters
from tests.api_shim.conftest import WRITE
from tests.api_shim.support import dead, error_of

D = "/api/v1/queue/dead-letter"


def test_list_is_newest_first_filtered_and_paginated(client, engine):
    wa = dead(engine, "whatsapp", 3)
    vf = dead(engine, "vendorFallback", 1, func="always_fail")
    page = client.get(D, headers=WRITE).json()
    assert page["total"] == 4 and [e["id"] for e in page["items"]] == (wa + vf)[::-1]
    only = client.get(f"{D}?queue=whatsapp&limit=2&offset=1", headers=WRITE).json()
    assert only["total"] == 3 and [e["id"] for e in only["items"]] == [wa[1], wa[0]]
    by_type = client.get(f"{D}?error_type=PermanentError", headers=WRITE).json()
    assert {e["id"] for e in by_type["items"]} == set(wa)
    group = by_type["items"][0]["signature"]
    assert {e["id"] for e in client.get(f"{D}?group={group}", headers=WRITE).json()["items"]} == set(wa)
    future = quote((datetime.now(timezone.utc) + timedelta(hours=1)).isoformat())
    assert client.get(f"{D}?since={future}", headers=WRITE).json()["total"] == 0
    assert client.get(f"{D}?until={future}", headers=WRITE).json()["total"] == 4


def test_bad_filters_and_page_sizes_are_422(client):
    for query, field in [("limit=501", "limit"), ("offset=-1", "offset"), ("queue=sms", "queue"),
                         ("group=NOT-HEX", "group"), ("since=yesterday", "since"),
                         ("until=2024-01-01T00:00:00", "until"), ("error_type=", "error_type")]:
        r = client.get(f"{D}?{query}", headers=WRITE)
        assert r.status_code == 422 and error_of(r)["field"] == field, query


def test_one_entry_has_every_attempt_error(client, engine):
    [job_id] = dead(engine, "vendorFallback", func="always_fail")
    entry = client.get(f"{D}/{job_id}", headers=WRITE).json()
    assert entry["id"] == job_id and entry["queue"] == "vendorFallback" and entry["error_type"] == "RuntimeError"
    assert len(entry["errors"]) == entry["runs"] == 4
    assert client.get(f"{D}/no-such-entry", headers=WRITE).status_code == 404


def test_retry_and_delete_one_entry(client, engine):
    a, b = dead(engine, "whatsapp", 2)
    r = client.post(f"{D}/{a}/retry", headers=WRITE)
    assert r.status_code == 200 and r.json() == {"id": a, "done": True}
    assert not dead_letters.exists(a, engine=engine)
    assert client.post(f"{D}/{a}/retry", headers=WRITE).status_code == 404
    r = client.delete(f"{D}/{b}", headers=WRITE)
    assert r.status_code == 200 and client.get(f"{D}/{b}", headers=WRITE).status_code == 404
    assert client.get(f"/api/v1/queue/jobs/whatsapp/{b}", headers=WRITE).status_code == 404
    assert client.delete(f"{D}/{b}", headers=WRITE).status_code == 404


def test_bulk_retry_by_filter_and_bulk_delete_by_ids(client, engine):
    wa = dead(engine, "whatsapp", 3)
    oe = dead(engine, "orderExpiry", 2)
    r = client.post(f"{D}/retry", headers=WRITE, json={"filter": {"queue": "whatsapp"}})
    assert r.status_code == 200 and r.json() == {"count": 3}
    assert not any(dead_letters.exists(i, engine=engine) for i in wa)
    r = client.post(f"{D}/delete", headers=WRITE, json={"ids": [oe[0], "not-there"]})
    assert r.json() == {"count": 1} and dead_letters.exists(oe[1], engine=engine)
    since = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    r = client.post(f"{D}/delete", headers=WRITE, json={"filter": {"since": since, "queue": "orderExpiry"}})
    assert r.json() == {"count": 1}


def test_bulk_body_needs_exactly_one_of_filter_or_ids(client):
    for body in ({}, {"filter": {}}, {"filter": {"queue": "whatsapp"}, "ids": ["a"]}, {"ids": []},
                 {"ids": ["a"] * 201}, {"filter": {"queue": "sms"}}, {"filter": {"since": "2024-01-01"}}):
        r = client.post(f"{D}/retry", headers=WRITE, json=body)
        assert r.status_code == 422 and error_of(r)["code"] == "validation_error", body


def test_bulk_path_names_are_not_entry_ids(client):
    for method in ("get", "delete"):
        r = client.request(method, f"{D}/retry", headers=WRITE)
        assert r.status_code == 405 and r.headers["Allow"] == "POST" and error_of(r)["code"] == "method_not_allowed"
    # an entry whose id is "retry" can still be retried by id
    assert client.post(f"{D}/retry/retry", headers=WRITE).status_code == 404


def test_dead_letter_csv(client, engine):
    ids = dead(engine, "whatsapp", 2)
    r = client.get(f"{D}.csv?queue=whatsapp", headers=WRITE)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["id"] for row in rows} == set(ids) and rows[0]["error_type"] == "PermanentError"


def test_failure_groups_list_retry_and_delete(client, engine):
    perm = dead(engine, "whatsapp", 2)
    boom = dead(engine, "vendorFallback", 1, func="always_fail")
    groups = client.get("/api/v1/queue/failure-groups", headers=WRITE).json()["items"]
    by_type = {g["type"]: g for g in groups}
    assert by_type["PermanentError"]["dead_lettered"] == 2 and by_type["PermanentError"]["queues"] == {"whatsapp": 2}
    perm_sig, boom_sig = by_type["PermanentError"]["signature"], by_type["RuntimeError"]["signature"]
    r = client.post(f"/api/v1/queue/failure-groups/{perm_sig}/retry", headers=WRITE)
    assert r.json() == {"count": 2} and not any(dead_letters.exists(i, engine=engine) for i in perm)
    r = client.post(f"/api/v1/queue/failure-groups/{boom_sig}/delete", headers=WRITE)
    assert r.json() == {"count": 1} and not dead_letters.exists(boom[0], engine=engine)
    assert client.post("/api/v1/queue/failure-groups/0123456789abcdef/retry", headers=WRITE).status_code == 404
    assert client.post("/api/v1/queue/failure-groups/NOTHEX/retry", headers=WRITE).status_code == 422
    csv_text = client.get("/api/v1/queue/failure-groups.csv", headers=WRITE).text
    assert csv_text.splitlines()[0].startswith("signature,type,message")
