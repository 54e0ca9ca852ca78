"""Timestamps Python cannot represent (or the engine will not schedule) are a 422 naming the field,
never a 500, and nothing is written."""
from __future__ import annotations

import pytest

from engine import keys
from tests.api_shim.conftest import READ, WRITE
from tests.api_shim.support import error_of

Q = "/api/v1/queue"
WA = {"phone": "+9779800000000", "message": "hi"}


def nothing_enqueued(engine) -> bool:
    return not engine.conn.keys("rq:job:*") and not engine.conn.zcard(keys.scheduled("whatsapp"))


@pytest.mark.parametrize("run_at, needle", [
    ("9999-12-31T23:59:59-23:59", "1-9999"),  # year 10000 in UTC
    ("0001-01-01T00:00:00+23:59", "1-9999"),  # year 0 in UTC
    ("9999-01-01T00:00:00Z", "year"),  # outside the documented years
    ("2999-01-01T00:00:00Z", "366 days"),
])
def test_a_run_at_out_of_range_is_422_naming_run_at_and_writes_nothing(client, engine, run_at, needle):
    r = client.post(f"{Q}/jobs/whatsapp", headers=WRITE, json={"data": WA, "run_at": run_at, "job_id": "far"})
    assert r.status_code == 422, r.text
    err = error_of(r)
    assert err["field"] == "run_at" and needle in err["message"]
    assert nothing_enqueued(engine)
    assert client.get(f"{Q}/jobs/whatsapp/far", headers=READ).status_code == 404


def test_a_delay_over_366_days_is_422_naming_delay_s(client, engine):
    r = client.post(f"{Q}/jobs/whatsapp", headers=WRITE, json={"data": WA, "delay_s": 366 * 86400 + 1})
    assert r.status_code == 422 and error_of(r)["field"] == "delay_s"
    assert nothing_enqueued(engine)


def test_a_run_at_366_days_ahead_is_accepted(client):
    from datetime import datetime, timedelta, timezone

    at = (datetime.now(timezone.utc) + timedelta(days=365)).isoformat().replace("+00:00", "Z")
    r = client.post(f"{Q}/jobs/whatsapp", headers=WRITE, json={"data": WA, "run_at": at})
    assert r.status_code == 201, r.text
    assert client.get(r.json()["href"], headers=READ).json()["due_at"][:10] == at[:10]


@pytest.mark.parametrize("query, field", [
    ("end=0001-01-01T00:30:00Z", "end"),
    ("end=1969-12-31T23:59:59Z", "end"),  # before any metrics
    ("end=9999-12-31T23:59:59-23:59", "end"),
    ("start=0001-01-01T00:00:00%2B23:59", "start"),
])
def test_a_history_window_python_cannot_compute_is_422_naming_the_field(client, query, field):
    for path in ("history", "history.csv"):
        r = client.get(f"{Q}/metrics/whatsapp/{path}?{query}", headers=READ)
        assert r.status_code == 422, (path, r.text)
        assert error_of(r)["field"] == field


def test_a_stored_job_with_an_unrepresentable_due_time_has_details_not_a_500(client, engine):
    """A record written by another client (or before the check existed): its details still answer."""
    client.post(f"{Q}/jobs/whatsapp", headers=WRITE, json={"data": WA, "job_id": "odd", "delay_s": 60})
    engine.conn.hset(keys.job("odd"), mapping={"jq_due_ms": 253402300800000 + 86_400_000,
                                               "jq_started_ms": 10 ** 18})
    r = client.get(f"{Q}/jobs/whatsapp/odd", headers=READ)
    assert r.status_code == 200, r.text
    assert r.json()["due_at"] is None and r.json()["started_at"] is None
