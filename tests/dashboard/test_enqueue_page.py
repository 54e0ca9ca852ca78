"""Enqueue: one form per job type, the engine's validation next to the field, timing, and the new job's link."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from engine import audit, monitoring
from processors.table import QUEUES
from tests.dashboard.conftest import no_exception, page_path, unescape, values

ENQ = "pages/enqueue.py"


def form(at, queue: str):
    return next(f for f in at.get("form") if f.proto.form.form_id == f"enqueue-{queue}")


def submit(at, queue: str):
    return next(b for b in form(at, queue).button if b.label.startswith("Enqueue")).click().run()


def error_after(at, queue: str, widget_key: str) -> str | None:
    """The error shown right after a widget in the form (what "next to the field" means)."""
    nodes = [n for n in form(at, queue) if getattr(n, "type", None) not in ("flex_container", "column", "form")]
    for i, node in enumerate(nodes):
        if getattr(node, "key", None) == widget_key:
            following = nodes[i + 1] if i + 1 < len(nodes) else None
            return unescape(following.value) if following is not None and following.type == "error" else None
    raise AssertionError(f"no widget {widget_key}")


def test_forms_cover_every_schema_field_with_its_description_and_constraints(app):
    at = no_exception(app.new(page=ENQ))
    for policy in QUEUES:
        keys = {w.key for w in form(at, policy.name) if getattr(w, "key", None)}
        for name in policy.schema.model_fields:
            assert {f"enq-{policy.name}-{name}", f"enq-{policy.name}-{name}-date"} & keys, (policy.name, name)
    message = at.text_area(key="enq-whatsapp-message")
    assert message.label == "Message (optional)" and "free text" in message.help and "1 to 4096 characters" in message.help
    template = at.text_area(key="enq-whatsapp-template")
    assert template.label == "Template (optional)" and "order_failed" in template.help
    assert "must match" in at.text_input(key="enq-whatsapp-phone").help
    assert at.text_input(key="enq-whatsapp-reference").label == "Reference (optional)"


def test_one_form_per_job_type(app):
    at = no_exception(app.new(page=ENQ))
    assert [t.label for t in at.tabs] == ["WhatsApp message", "Order expiry", "Vendor fallback", "Daily report",
                                          "Credit reconciliation"]
    assert len([f for f in at.main.form]) == 5


def test_whatsapp_message_is_enqueued_and_linked(app, dash):
    at = app.new(page=ENQ)
    at.text_input(key="enq-whatsapp-phone").input("+9779800000000")
    at.text_area(key="enq-whatsapp-message").input("Your order 42 is confirmed")
    at.text_input(key="enq-whatsapp-reference").input("order-42")
    at.selectbox(key="enq-whatsapp-priority").set_value("high")
    submit(at, "whatsapp")
    no_exception(at)
    job_id = at.session_state["last_enqueued"]["job"]
    assert f"Enqueued job {job_id} on whatsapp." in values(at.success)
    job = monitoring.get_job("whatsapp", job_id, engine=dash)
    assert job["data"] == {"phone": "+9779800000000", "message": "Your order 42 is confirmed", "reference": "order-42"}
    assert job["options"]["priority"] == "high" and job["state"] == "queued"
    link = at.get("page_link")[0]
    assert link.proto.label == "Open the job's page"
    assert link.proto.page == "jobs" and link.proto.query_string == f"queue=whatsapp&job={job_id}"
    entry = audit.list_entries(action="enqueue", engine=dash)[0]
    assert (entry["actor"], entry["queue"], entry["outcome"]) == ("olga", "whatsapp", "ok")


@pytest.mark.parametrize("name,value,expected", [
    ("phone", "98000", "String should match pattern"),
    ("message", "", "exactly one of message (free text) or template"),
    ("reference", "bad ref!", "String should match pattern"),
])
def test_whatsapp_validation_is_shown_next_to_the_field(app, dash, name, value, expected):
    at = app.new(page=ENQ)
    good = {"phone": "+9779800000000", "message": "hello", "reference": ""}
    good[name] = value
    at.text_input(key="enq-whatsapp-phone").input(good["phone"])
    at.text_area(key="enq-whatsapp-message").input(good["message"])
    at.text_input(key="enq-whatsapp-reference").input(good["reference"])
    submit(at, "whatsapp")
    no_exception(at)
    message = error_after(at, "whatsapp", f"enq-whatsapp-{name}")
    assert message and expected in message
    for other in {"phone", "message", "reference"} - {name}:
        assert error_after(at, "whatsapp", f"enq-whatsapp-{other}") is None
    assert "last_enqueued" not in at.session_state
    assert monitoring.get_queue_metrics("whatsapp", engine=dash)["waiting"]["total"] == 0
    entry = audit.list_entries(action="enqueue", engine=dash)[0]
    assert entry["outcome"].startswith(f"error: {name}:")


@pytest.mark.parametrize("template,expected", [
    ('{"name": "no_such", "language": "en", "params": []}', "unknown template 'no_such'"),
    ('{"name": "order_failed", "language": "en", "params": ["one"]}', "takes 2 parameter(s), got 1"),
    ('{"name": "order_failed"', "not valid JSON"),
])
def test_a_bad_template_is_shown_next_to_the_template_field(app, dash, template, expected):
    at = app.new(page=ENQ)
    at.text_input(key="enq-whatsapp-phone").input("+9779800000000")
    at.text_area(key="enq-whatsapp-template").input(template)
    submit(at, "whatsapp")
    no_exception(at)
    message = error_after(at, "whatsapp", "enq-whatsapp-template")
    assert message and expected in message
    assert monitoring.get_queue_metrics("whatsapp", engine=dash)["waiting"]["total"] == 0


def test_a_template_message_is_enqueued(app, dash):
    at = app.new(page=ENQ)
    at.text_input(key="enq-whatsapp-phone").input("+9779800000000")
    at.text_area(key="enq-whatsapp-template").input('{"name": "order_failed", "language": "en", "params": ["A", "7"]}')
    submit(at, "whatsapp")
    no_exception(at)
    assert monitoring.get_queue_metrics("whatsapp", engine=dash)["waiting"]["total"] == 1


def test_bad_job_id_is_shown_under_the_job_id(app, dash):
    at = app.new(page=ENQ)
    at.text_input(key="enq-vendorFallback-order_id").input("42")
    at.text_input(key="enq-vendorFallback-failed_wholesaler_id").input("7")
    at.text_input(key="enq-vendorFallback-job_id").input("no spaces allowed")
    submit(at, "vendorFallback")
    assert "must be 1-128 letters" in error_after(at, "vendorFallback", "enq-vendorFallback-job_id")


def test_job_id_deduplicates_and_delay_schedules(app, dash):
    at = app.new(page=ENQ)
    at.text_input(key="enq-vendorFallback-order_id").input("42")
    at.text_input(key="enq-vendorFallback-failed_wholesaler_id").input("7")
    at.text_input(key="enq-vendorFallback-job_id").input("fallback-42")
    at.radio(key="enq-vendorFallback-when").set_value("After a delay")
    at.number_input(key="enq-vendorFallback-delay").set_value(120)
    submit(at, "vendorFallback")
    job = monitoring.get_job("vendorFallback", "fallback-42", engine=dash)
    assert job["state"] == "scheduled"
    due = datetime.fromisoformat(job["due_at"])
    assert timedelta(seconds=100) < due - datetime.now(timezone.utc) <= timedelta(seconds=121)
    submit(at, "vendorFallback")  # same id while pending: one job
    assert monitoring.get_queue_metrics("vendorFallback", engine=dash)["scheduled"] == 1


def test_order_expiry_runs_at_expiry_in_the_chosen_zone(app, dash):
    at = app.new(page=ENQ)
    at.sidebar.selectbox(key="tz").set_value("Asia/Kathmandu").run()
    day = date.today() + timedelta(days=2)
    at.text_input(key="enq-orderExpiry-order_id").input("42")
    at.date_input(key="enq-orderExpiry-expires_at-date").set_value(day)
    at.time_input(key="enq-orderExpiry-expires_at-time").set_value(time(9, 30))
    submit(at, "orderExpiry")
    no_exception(at)
    job_id = at.session_state["last_enqueued"]["job"]
    job = monitoring.get_job("orderExpiry", job_id, engine=dash)
    expected = datetime.combine(day, time(9, 30), ZoneInfo("Asia/Kathmandu"))
    assert datetime.fromisoformat(job["data"]["expires_at"]) == expected
    assert job["state"] == "scheduled" and datetime.fromisoformat(job["due_at"]) == expected


def test_run_at_a_date_and_time(app, dash):
    at = app.new(page=ENQ)
    at.radio(key="enq-creditReconciliation-when").set_value("At a date and time")
    when = datetime.now(timezone.utc) + timedelta(days=1)
    at.date_input(key="enq-creditReconciliation-run_day").set_value(when.date())
    at.time_input(key="enq-creditReconciliation-run_time").set_value(time(when.hour, when.minute))
    submit(at, "creditReconciliation")
    job = monitoring.get_job("creditReconciliation", at.session_state["last_enqueued"]["job"], engine=dash)
    assert job["data"] == {} and job["state"] == "scheduled"


def test_daily_report_with_and_without_a_date(app, dash):
    at = app.new(page=ENQ)
    submit(at, "dailyReports")
    first = at.session_state["last_enqueued"]["job"]
    assert monitoring.get_job("dailyReports", first, engine=dash)["data"] == {}
    at.date_input(key="enq-dailyReports-report_date").set_value(date(2025, 3, 9))
    submit(at, "dailyReports")
    second = at.session_state["last_enqueued"]["job"]
    assert monitoring.get_job("dailyReports", second, engine=dash)["data"] == {"report_date": "2025-03-09"}


def test_credit_reconciliation_bad_account_id(app, dash):
    at = app.new(page=ENQ)
    at.text_input(key="enq-creditReconciliation-account_id").input("../etc")
    submit(at, "creditReconciliation")
    assert "String should match pattern" in error_after(at, "creditReconciliation",
                                                        "enq-creditReconciliation-account_id")


def test_viewer_cannot_reach_the_enqueue_page(app):
    at = app.new("vera")
    with pytest.raises(ValueError):
        at.switch_page(page_path(ENQ))
    assert not at.main.form


def test_a_full_server_is_said_in_the_form_and_nothing_is_written(app, dash):
    used = int(dash.conn.info("memory")["used_memory"])
    dash.conn.config_set("maxmemory", int(used / 0.95))  # used is above the 90 % mark, below maxmemory
    try:
        at = app.new(page=ENQ)
        at.text_input(key="enq-whatsapp-phone").input("+9779800000000")
        at.text_area(key="enq-whatsapp-message").input("hello")
        at.text_input(key="enq-whatsapp-job_id").input("full-1")
        submit(at, "whatsapp")
        no_exception(at)
        [message] = [unescape(e.value) for e in form(at, "whatsapp").error]
        assert message.startswith("Not enqueued: the server is full") and "try again in 5 s" in message
        assert not dash.conn.exists("rq:job:full-1") and "last_enqueued" not in at.session_state
    finally:
        dash.conn.config_set("maxmemory", 0)
    entry = audit.list_entries(action="enqueue", engine=dash)[0]
    assert entry["outcome"].startswith("error: server full")
