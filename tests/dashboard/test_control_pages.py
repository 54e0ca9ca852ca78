"""Schedules (pause, resume, run now) and Queue controls (pause, resume, rate limit)."""
from __future__ import annotations

from engine import audit, control, monitoring
from engine import schedule_state as schedules
from tests.dashboard.conftest import buttons, click, no_exception, texts, values

SCHED = "pages/schedules.py"
QUEUES = "pages/queues.py"


def test_schedules_list_with_next_and_last_runs(app, dash):
    at = no_exception(app.new(page=SCHED))
    frame = at.dataframe[0].value.set_index("schedule")
    assert set(frame.index) == {"daily-report", "credit-reconciliation", "order-expiry-sweep"}
    assert frame.loc["daily-report", "cron"] == "15 0 * * *" and frame.loc["daily-report", "state"] == "on"
    assert frame.loc["daily-report", "next run"].endswith("UTC") and frame.loc["daily-report", "last run"] == ""
    assert {"Pause", "Run now"} <= set(buttons(at))


def test_pause_resume_and_run_now_are_audited(app, dash):
    at = app.new(page=SCHED)
    click(at, "sched-pause-daily-report")
    no_exception(at)
    row = {s["name"]: s for s in schedules.list_schedules(dash)}["daily-report"]
    assert row["paused"] and "Schedule daily-report paused." in values(at.success)
    assert at.dataframe[0].value.set_index("schedule").loc["daily-report", "state"] == "paused"
    assert at.dataframe[0].value.set_index("schedule").loc["daily-report", "next run"] == ""
    click(at, "sched-resume-daily-report")
    assert not {s["name"]: s for s in schedules.list_schedules(dash)}["daily-report"]["paused"]
    click(at, "sched-run-daily-report")
    no_exception(at)
    row = {s["name"]: s for s in schedules.list_schedules(dash)}["daily-report"]
    assert row["last_job_id"] and monitoring.get_job("dailyReports", row["last_job_id"], engine=dash)
    assert f"Schedule daily-report ran now: job {row['last_job_id']}." in values(at.success)
    frame = at.dataframe[0].value.set_index("schedule")
    assert frame.loc["daily-report", "last job"] == row["last_job_id"] and frame.loc["daily-report", "last run"]
    link = next(p for p in at.get("page_link") if "dailyReports" in p.proto.query_string)
    assert link.proto.query_string == f"queue=dailyReports&job={row['last_job_id']}"
    actions = [(e["action"], e["target"], e["actor"]) for e in audit.list_entries(engine=dash)]
    assert actions[:3] == [("schedule_run_now", "daily-report", "olga"), ("schedule_resume", "daily-report", "olga"),
                           ("schedule_pause", "daily-report", "olga")]


def test_schedules_viewer_has_no_controls(app, dash):
    at = no_exception(app.new("vera", page=SCHED))
    assert len(at.dataframe[0].value) == 3 and buttons(at) == ["Log out"]


def test_queue_controls_show_state(app, dash):
    control.pause("dailyReports", engine=dash)
    at = no_exception(app.new(page=QUEUES))
    frame = at.dataframe[0].value.set_index("queue")
    assert bool(frame.loc["dailyReports", "paused"]) and not bool(frame.loc["whatsapp", "paused"])
    assert frame.loc["whatsapp", "rate limit"] == 100 and frame.loc["whatsapp", "window s"] == 60.0
    assert at.button(key="q-resume-dailyReports") and at.button(key="q-pause-whatsapp")


def test_pause_resume_and_rate_limit(app, dash):
    at = app.new(page=QUEUES)
    click(at, "q-pause-whatsapp")
    assert control.state("whatsapp", engine=dash)["paused"] and "Queue whatsapp paused" in texts(at)
    click(at, "q-resume-whatsapp")
    assert not control.state("whatsapp", engine=dash)["paused"]
    at.number_input(key="q-limit-orderExpiry").set_value(7)
    click(at, "q-setlimit-orderExpiry")
    no_exception(at)
    assert control.state("orderExpiry", engine=dash)["rate_limit"] == 7
    assert at.number_input(key="q-limit-orderExpiry").value == 7
    assert at.dataframe[0].value.set_index("queue").loc["orderExpiry", "rate limit"] == 7
    entries = audit.list_entries(engine=dash)
    assert [(e["action"], e["queue"]) for e in entries[:3]] == [("rate_limit", "orderExpiry"), ("resume", "whatsapp"),
                                                                ("pause", "whatsapp")]
    assert entries[0]["details"]["limit"] == 7


def test_queue_controls_viewer_has_none(app, dash):
    at = no_exception(app.new("vera", page=QUEUES))
    assert len(at.dataframe[0].value) == 5 and buttons(at) == ["Log out"] and not at.number_input
