"""Overview, Throughput & latency and Workers."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

from dashboard.pages import throughput
from engine import control, export
from tests.dashboard.conftest import buttons, metrics, no_exception, texts, values
from tests.engine.support import thread_workers, wait_until

QUEUES = ("whatsapp", "orderExpiry", "vendorFallback", "dailyReports", "creditReconciliation")


# -- Overview ---------------------------------------------------------------------------------
def test_overview_empty_server_shows_a_card_per_queue_and_missing_workers(app):
    at = no_exception(app.new(page="pages/overview.py"))
    for q in QUEUES:
        card = at.container(key=f"card-{q}")
        assert metrics(card) == {"Waiting": "0", "Active": "0", "Scheduled": "0", "Workers": "0", "Completed": "0",
                                 "Failed": "0", "Dead letters": "0"}
        assert values(card.warning) == ["no live workers"]
    assert "5 alert(s)" in at.error[0].value


def test_overview_seeded_counts_priorities_alerts_and_sla(app, seeded):
    control.pause("vendorFallback", engine=seeded["engine"])
    at = no_exception(app.new(page="pages/overview.py"))
    card = at.container(key="card-whatsapp")
    m = metrics(card)
    assert (m["Waiting"], m["Scheduled"], m["Completed"], m["Dead letters"]) == ("3", "1", "3", "2")
    assert "high 1 · normal 1 · low 1" in texts(card)
    assert "2 new dead-letter entries in the last hour" in values(card.warning)
    assert any("SLA: 95.0 % start within 60 s" in c.value for c in card.caption)
    assert any("Rate limit:" in p.proto.text for p in card.get("progress"))
    assert metrics(at.container(key="card-orderExpiry"))["Dead letters"] == "1"
    assert "paused" in texts(at.container(key="card-vendorFallback"))
    assert metrics(at)["Dead-lettered"] == "3"


def test_overview_live_worker_clears_the_alert(app, dash):
    with thread_workers(dash, ["whatsapp"]):
        at = no_exception(app.new(page="pages/overview.py"))
        card = at.container(key="card-whatsapp")
        assert metrics(card)["Workers"] == "1"
        assert "no live workers" not in values(card.warning)


def test_overview_has_no_controls_for_anyone(app):
    for user in ("olga", "vera"):
        at = app.new(user, page="pages/overview.py")
        assert buttons(at) == ["Log out"]


# -- Throughput & latency -----------------------------------------------------------------------
def test_throughput_empty_server_renders_every_chart(app):
    at = no_exception(app.new(page="pages/throughput.py"))
    assert len(at.get("plotly_chart")) == 4  # counts; latency has no runs yet
    assert "One point per minute" in texts(at)
    assert [b.label for b in at.get("download_button")] == ["Download CSV (the data charted)"]


def test_throughput_windows_and_queue_choice(app, seeded):
    at = app.new(page="pages/throughput.py")
    assert len(at.get("plotly_chart")) == 6  # 4 counts + run and wait percentiles
    for label, resolution in (("24 h", "minute"), ("7 d", "hour"), ("90 d", "day")):
        at.button_group(key="tp_window").set_value(label).run()
        no_exception(at)
        assert f"One point per {resolution}" in texts(at)
    at.multiselect(key="tp_queues").set_value([]).run()
    assert "Choose at least one queue." in texts(at)


def test_throughput_csv_is_exactly_the_rows_charted(seeded):
    eng = seeded["engine"]
    rows = throughput.history_rows(eng, ["whatsapp", "orderExpiry"], timedelta(hours=1), "Asia/Kathmandu")
    assert len(rows) == 2 * 61 and {r["queue"] for r in rows} == {"whatsapp", "orderExpiry"}
    assert all(r["time"].utcoffset() == timedelta(hours=5, minutes=45) for r in rows)
    assert sum(r["completed"] for r in rows if r["queue"] == "whatsapp") == 3
    assert sum(r["dead_lettered"] for r in rows) == 3 and sum(r["retried"] for r in rows) == 2
    parsed = list(csv.DictReader(io.StringIO(export.to_csv(rows, export.HISTORY_COLUMNS))))
    assert len(parsed) == len(rows) and list(parsed[0]) == export.HISTORY_COLUMNS
    assert parsed[0]["time"].endswith("+05:45")
    assert sum(int(p["completed"]) for p in parsed) == sum(r["completed"] for r in rows)


# -- Workers ----------------------------------------------------------------------------------
def test_workers_empty_server(app):
    at = no_exception(app.new(page="pages/workers.py"))
    assert metrics(at)["Live workers"] == "0"
    assert at.dataframe[0].value.empty
    assert "No live worker for: whatsapp, orderExpiry" in at.warning[0].value


def test_workers_show_queues_current_job_and_heartbeat(app, dash):
    from tests.engine.support import put

    job = put(dash, "whatsapp", "sleep", {"seconds": 2.0})
    with thread_workers(dash, ["whatsapp", "orderExpiry"]):
        wait_until(lambda: control.state("whatsapp", engine=dash)["rate_used"] == 1, timeout_s=5)
        at = no_exception(app.new("vera", page="pages/workers.py"))
    frame = at.dataframe[0].value
    assert len(frame) == 1 and frame.iloc[0]["queues"] == "whatsapp, orderExpiry"
    assert frame.iloc[0]["current job"] == job.id
    assert frame.iloc[0]["last heartbeat"].endswith("UTC")
    assert "No live worker for: vendorFallback, dailyReports, creditReconciliation" in at.warning[0].value
    assert buttons(at) == ["Log out"]
