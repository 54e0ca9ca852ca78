"""The Alerts page: what fires now, what waits for the webhook, and the alert history."""
from __future__ import annotations

from engine import alerts, keys
from engine.alert_delivery import AlertDuty
from tests.dashboard.conftest import dead, metrics, no_exception, texts
from tests.engine.support import put


def test_alerts_page_shows_the_history_and_what_fires(app, dash):
    eng = dash
    ids = dead(eng, "whatsapp", 2)
    put(eng, "orderExpiry", "ok")
    AlertDuty(eng, {}).run()  # no webhook in this environment: kept as "not sent"
    at = no_exception(app.new("vera", page="pages/alerts.py"))
    shown = metrics(at)
    assert shown["Firing"] == "2"  # orderExpiry: a job waits, no worker; whatsapp: dead-letter growth
    now = at.dataframe[0].value
    assert sorted(zip(now["kind"], now["on"])) == [("dead_letter_growth", "whatsapp"), ("no_workers", "orderExpiry")]
    history = at.dataframe[-1].value
    kinds = set(history["kind"])
    assert {"dead_lettered", "dead_letter_growth", "no_workers"} <= kinds
    batch = history[history["kind"] == "dead_lettered"].iloc[0]
    assert batch["queue"] == "whatsapp" and batch["count"] == 2 and all(i in batch["message"] for i in ids)
    assert set(history["delivery"]) == {"not sent: ALERT_WEBHOOK_URL is not set"}
    assert "not sent: ALERT_WEBHOOK_URL is not set by the scheduler" in texts(at)


def test_alerts_page_empty_and_linked_from_the_overview(app, dash):
    at = no_exception(app.new(page="pages/alerts.py"))
    assert metrics(at) == {"Firing": "0", "Waiting for the webhook": "0", "In the history": "0"}
    assert "Nothing is firing." in texts(at)
    assert dash.conn.xlen(keys.ALERTS_HISTORY) == 0 and alerts.firing(dash) == []
    overview = no_exception(app.new(page="pages/overview.py"))
    assert any("alerts" in link.proto.page for link in overview.get("page_link"))
