"""The alert history and the firing conditions over HTTP."""
from __future__ import annotations

from engine.alert_delivery import AlertDuty
from tests.api_shim.conftest import READ
from tests.api_shim.support import error_of
from tests.engine.support import put

Q = "/api/v1/queue"


def test_alert_history_and_firing_conditions_are_readable_with_a_read_key(client, engine):
    put(engine, "dailyReports", "ok")
    AlertDuty(engine, {}).run()
    [kept] = client.get(f"{Q}/alerts", headers=READ).json()["items"]
    assert (kept["kind"], kept["state"], kept["queue"], kept["count"]) == ("no_workers", "firing", "dailyReports", 1)
    assert kept["outcome"] == "not sent: ALERT_WEBHOOK_URL is not set" and kept["text"]
    [now] = client.get(f"{Q}/alerts/firing", headers=READ).json()["items"]
    assert (now["key"], now["kind"], now["queue"]) == ("no_workers:dailyReports", "no_workers", "dailyReports")


def test_alert_routes_need_a_key_and_a_sane_limit(client):
    assert client.get(f"{Q}/alerts").status_code == 401
    assert client.get(f"{Q}/alerts/firing").status_code == 401
    r = client.get(f"{Q}/alerts?limit=0", headers=READ)
    assert r.status_code == 422 and error_of(r)["field"] == "limit"
    assert client.get(f"{Q}/alerts", headers=READ).json() == {"items": []}
