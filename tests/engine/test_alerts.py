"""Alerts reach ALERT_WEBHOOK_URL (a real HTTP server on 127.0.0.1), sent by the scheduler's duty."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from engine import alert_delivery, alerts, dead_letters, keys, monitoring
from engine.alert_delivery import AlertDuty
from engine.scheduler import Scheduler
from engine.schedules import Schedule, build_schedules
from engine.worker import Worker
from tests.engine import alert_funcs
from tests.engine.support import put, thread_workers, wait_until
from tests.engine.webhook import webhook

T0 = 2_000_000_000_000  # an injected "now" (ms), far from the server's clock on purpose


def drain(eng, queues):
    t = threading.Thread(target=Worker(eng, queues, burst=True).run)
    t.start()
    t.join(timeout=30)


def dead(eng, queue, n):
    ids = [put(eng, queue, "permanent", {"i": i}).id for i in range(n)]
    drain(eng, [queue])
    wait_until(lambda: all(dead_letters.exists(i, engine=eng) for i in ids), timeout_s=10)
    return ids


@pytest.fixture
def hook():
    with webhook() as receiver:
        yield receiver


@pytest.fixture
def alerting(engine_factory, hook):
    """An engine that sends to the test webhook, and its duty (no schedules)."""
    def make(**kw):
        eng = engine_factory(**{"alert_webhook_url": hook.url, "alert_timeout_s": 2, "alert_backoff_s": 1, **kw})
        return eng, AlertDuty(eng, {})
    return make


def test_first_dead_letter_reaches_the_webhook_from_a_running_scheduler_within_30_s(engine, alerting, hook):
    eng, _ = alerting()
    scheduler = Scheduler(eng, {}, interval_s=0.05)
    thread = threading.Thread(target=scheduler.run, daemon=True)
    thread.start()
    try:
        [job_id] = dead(eng, "whatsapp", 1)
        dead_ms = dead_letters.get_entry(job_id, engine=eng)["dead_lettered_ms"]
        wait_until(lambda: hook.of_kind("dead_lettered"), timeout_s=30)
    finally:
        scheduler.stop()
        thread.join(timeout=10)
    [body] = hook.of_kind("dead_lettered")
    assert hook.received_at[hook.bodies.index(body)] - dead_ms / 1000 < 30
    assert body["queue"] == "whatsapp" and body["count"] == 1 and body["job_ids"] == [job_id]
    assert body["state"] == "firing" and job_id in body["text"] and body["text"].startswith(":rotating_light:")
    assert datetime.fromisoformat(body["time"]).tzinfo is not None


def test_dead_letters_after_the_first_are_batched_per_queue(engine, alerting, hook):
    eng, duty = alerting(alert_dead_letter_batch_s=30)
    first = dead(eng, "whatsapp", 1)
    duty.run(now_ms=T0)
    assert [b["job_ids"] for b in hook.of_kind("dead_lettered")] == [first]
    more = dead(eng, "whatsapp", 12)
    other = dead(eng, "orderExpiry", 1)
    duty.run(now_ms=T0 + 1_000)  # whatsapp is inside its batch window; orderExpiry's first goes at once
    assert [(b["queue"], b["count"]) for b in hook.of_kind("dead_lettered")] == [("whatsapp", 1), ("orderExpiry", 1)]
    assert hook.of_kind("dead_lettered")[1]["job_ids"] == other
    duty.run(now_ms=T0 + 30_000)
    batch = hook.of_kind("dead_lettered")[2]
    assert (batch["queue"], batch["count"]) == ("whatsapp", 12)
    assert len(batch["job_ids"]) == alerts.FIRST_IDS and set(batch["job_ids"]) <= set(more)
    assert "12 job(s) dead-lettered" in batch["text"] and batch["text"].rstrip(")").endswith("...")
    duty.run(now_ms=T0 + 90_000)
    assert len(hook.of_kind("dead_lettered")) == 3  # nothing new: nothing sent


def test_no_worker_alert_fires_once_while_jobs_wait_and_resolves_when_drained(engine, alerting, hook):
    eng, duty = alerting()
    duty.run(now_ms=T0)
    assert not hook.of_kind("no_workers")  # no worker, but nothing waits either
    put(eng, "whatsapp", "ok")
    for i in range(3):
        duty.run(now_ms=T0 + 1_000 + i)
    [firing] = hook.of_kind("no_workers")
    assert (firing["state"], firing["queue"], firing["count"]) == ("firing", "whatsapp", 1)
    assert "no live workers while 1 job(s) wait" in firing["text"]
    drain(eng, ["whatsapp"])
    duty.run(now_ms=T0 + 61_000)
    [resolved] = hook.of_kind("no_workers", "resolved")
    assert resolved["queue"] == "whatsapp" and "resolved after 60 s" in resolved["text"]
    assert resolved["text"].startswith(":white_check_mark:")
    assert alerts.firing(eng) == []


def test_the_overview_and_the_alerts_share_one_condition_computation(engine, alerting, hook):
    eng, duty = alerting()
    dead(eng, "vendorFallback", 1)
    put(eng, "vendorFallback", "ok")
    shown = monitoring.get_queue_metrics("vendorFallback", engine=eng)
    assert [c["kind"] for c in shown["conditions"]] == ["dead_letter_growth", "no_workers"]
    assert shown["alerts"] == [c["message"] for c in shown["conditions"]]
    duty.run(now_ms=T0)
    growth = hook.of_kind("dead_letter_growth")
    assert [(b["queue"], b["count"]) for b in growth] == [("vendorFallback", 1)]
    assert "1 new dead-letter entries in the last hour" in growth[0]["text"]


def test_sla_breach_is_sent(engine_factory, alerting, hook):
    eng, duty = alerting(queue_overrides={"whatsapp": {"sla": {"start_within_s": 0.001, "ratio": 1.0}}})
    eng.conn.flushdb()
    for i in range(3):
        put(eng, "whatsapp", "ok", {"i": i})
    time.sleep(0.05)  # the jobs wait longer than the 1 ms SLA before a worker starts them
    drain(eng, ["whatsapp"])
    duty.run(now_ms=T0)
    [breach] = hook.of_kind("sla_breach")
    assert breach["queue"] == "whatsapp" and "SLA breached" in breach["text"]


def test_retries_with_backoff_when_the_webhook_answers_500_then_200(engine, alerting, hook):
    eng, duty = alerting(alert_backoff_s=1)
    hook.statuses[:] = [500, 200]
    put(eng, "dailyReports", "ok")
    duty.run(now_ms=T0)
    assert len(hook.bodies) == 1 and duty.last_report.retrying == 1
    [waiting] = alert_delivery.pending(eng)
    assert waiting["attempts"] == 1 and waiting["kind"] == "no_workers"
    duty.run(now_ms=T0 + 999)  # still inside the first backoff: no second POST
    assert len(hook.bodies) == 1
    duty.run(now_ms=T0 + 1_000)
    assert len(hook.bodies) == 2 and hook.bodies[0]["id"] == hook.bodies[1]["id"]
    assert alert_delivery.pending(eng) == []
    [kept] = alerts.history(eng)
    assert (kept["outcome"], kept["attempts"], kept["kind"]) == ("delivered", 2, "no_workers")
    assert alert_delivery.backoff_ms(eng, 1) == 1_000 and alert_delivery.backoff_ms(eng, 3) == 4_000


def test_an_alert_is_given_up_after_its_attempts_and_kept_as_failed(engine, alerting, hook):
    eng, duty = alerting(alert_max_attempts=2)
    hook.statuses[:] = [503, 503, 503]
    put(eng, "dailyReports", "ok")
    duty.run(now_ms=T0)
    duty.run(now_ms=T0 + 1_000)
    duty.run(now_ms=T0 + 10_000)
    assert len(hook.bodies) == 2 and alert_delivery.pending(eng) == []
    [kept] = alerts.history(eng)
    assert kept["outcome"] == "failed: HTTP 503" and kept["attempts"] == 2


def test_a_refusing_webhook_is_not_retried_and_an_unreachable_one_is(engine, alerting, hook, engine_factory):
    eng, duty = alerting()
    hook.statuses[:] = [404]
    put(eng, "dailyReports", "ok")
    duty.run(now_ms=T0)
    assert alert_delivery.pending(eng) == [] and alerts.history(eng)[0]["outcome"] == "failed: HTTP 404"
    closed = engine_factory(alert_webhook_url="http://127.0.0.1:1/secret-token")  # nothing listens there
    duty = AlertDuty(closed, {})
    put(closed, "creditReconciliation", "ok")
    duty.run(now_ms=T0 + 1)
    [waiting] = alert_delivery.pending(closed)
    assert waiting["attempts"] == 1 and waiting["queue"] == "creditReconciliation"
    assert duty.last_report.retrying == 1 and duty.last_report.outcomes[0].startswith("ConnectError")
    assert "secret-token" not in duty.last_report.outcomes[0]


def test_a_hanging_webhook_does_not_hold_up_workers_draining_jobs(engine, alerting, hook):
    eng, _ = alerting(alert_timeout_s=5, alert_budget_s=5)
    hook.hang.set()
    put(eng, "whatsapp", "ok")  # waiting with no worker: an alert to send, into the hanging webhook
    scheduler = Scheduler(eng, {}, interval_s=0.05)
    thread = threading.Thread(target=scheduler.run, daemon=True)
    thread.start()
    try:
        assert hook.hanging.wait(10), "the scheduler never reached the webhook"
        ids = [put(eng, "whatsapp", "ok", {"i": i}).id for i in range(200)]
        with thread_workers(eng, ["whatsapp"], n=2):
            wait_until(lambda: monitoring.get_queue_metrics("whatsapp", engine=eng)["completed"] >= 201,
                       timeout_s=30)
            assert not hook.released.is_set()  # every job finished while the webhook still hung
    finally:
        hook.release()
        scheduler.stop()
        thread.join(timeout=10)
    assert all(eng.conn.hget(keys.job(i), "status") == b"finished" for i in ids)


def test_server_memory_above_the_high_water_mark_fires_and_resolves(engine, alerting, hook):
    eng, duty = alerting(memory_high_water_ratio=0.1)
    used = int(eng.conn.info("memory")["used_memory"])
    before = eng.conn.config_get("maxmemory")["maxmemory"]
    try:
        eng.conn.config_set("maxmemory", used * 4)
        assert monitoring.memory(engine=eng)["above_high_water"]
        duty.run(now_ms=T0)
        [firing] = hook.of_kind("memory_high")
        assert firing["queue"] is None and firing["details"]["max_bytes"] == used * 4
        assert "above its high-water mark (10% of maxmemory" in firing["text"]
    finally:
        eng.conn.config_set("maxmemory", before)
    duty.run(now_ms=T0 + 5_000)
    assert hook.of_kind("memory_high", "resolved")


def test_default_high_water_is_90_percent_of_maxmemory_and_none_without_it(engine):
    from engine.settings import Settings

    assert Settings().memory_high_water_ratio == engine.settings.memory_high_water_ratio == 0.9
    before = engine.conn.config_get("maxmemory")["maxmemory"]
    try:
        engine.conn.config_set("maxmemory", 0)
        assert monitoring.memory(engine=engine)["high_water_bytes"] is None
        engine.conn.config_set("maxmemory", 1_000_000_000)
        assert monitoring.memory(engine=engine)["high_water_bytes"] == 900_000_000
    finally:
        engine.conn.config_set("maxmemory", before)


def test_a_call_schedule_that_raises_fires_once_and_resolves_when_it_succeeds(engine, alerting, hook):
    eng, _ = alerting()
    schedules = build_schedules({}, base=[Schedule("flaky", "* * * * *", "call", "tests.engine.alert_funcs.flaky")])
    base = datetime(2031, 3, 5, 10, 0, 5, tzinfo=timezone.utc)
    clock = {"now": base}
    scheduler = Scheduler(eng, schedules, clock=lambda: clock["now"])
    alert_funcs.FAIL["on"] = True
    try:
        scheduler.run_pass()  # first start: plans the next tick
        for minute in (1, 2):
            clock["now"] = base + timedelta(minutes=minute)
            scheduler.run_pass()
        assert [b["schedule"] for b in hook.of_kind("schedule_failed")] == ["flaky"]  # deduplicated
        alert_funcs.FAIL["on"] = False
        clock["now"] = base + timedelta(minutes=3)
        scheduler.run_pass()
    finally:
        alert_funcs.FAIL["on"] = True
    assert [b["state"] for b in hook.of_kind("schedule_failed")] == ["firing", "resolved"]
    assert alerts.tick_counts(eng)["failed"] == {"flaky": 2}


def test_a_call_tick_noticed_too_late_is_reported_as_missed(engine, alerting, hook):
    eng, _ = alerting()
    schedules = build_schedules({}, base=[Schedule("flaky", "* * * * *", "call", "tests.engine.alert_funcs.flaky")])
    base = datetime(2031, 3, 5, 10, 0, 5, tzinfo=timezone.utc)
    clock = {"now": base}
    scheduler = Scheduler(eng, schedules, clock=lambda: clock["now"])
    scheduler.run_pass()
    clock["now"] = base + timedelta(minutes=1, seconds=30)  # the 10:01 tick, 35 s late, no catch-up
    scheduler.run_pass()
    [missed] = hook.of_kind("schedule_missed")
    assert missed["schedule"] == "flaky" and missed["details"]["tick"].startswith("2031-03-05T10:01:00")
    assert not hook.of_kind("schedule_failed")


def test_without_a_webhook_alerts_are_kept_in_the_history_as_not_sent(engine):
    duty = AlertDuty(engine, {})
    put(engine, "whatsapp", "ok")
    duty.run(now_ms=T0)
    [kept] = alerts.history(engine)
    assert kept["kind"] == "no_workers" and kept["outcome"].startswith("not sent")


def test_history_is_trimmed_by_count_and_by_age(engine_factory):
    eng = engine_factory(alert_history_max=10, alert_history_days=1)
    eng.conn.flushdb()
    eng.conn.xadd(keys.ALERTS_HISTORY, {"alert": "{}", "outcome": "old", "attempts": 0}, id="1000-0")
    alerts.record(eng, alerts.Alert("dead_lettered", "firing", "n0", T0, queue="whatsapp"), "delivered", 1)
    assert eng.conn.xlen(keys.ALERTS_HISTORY) == 1  # the entry older than a day is gone
    for i in range(1, 15):
        alerts.record(eng, alerts.Alert("dead_lettered", "firing", f"n{i}", T0 + i, queue="whatsapp"), "delivered", 1)
    rows = alerts.history(eng, limit=100)
    assert [r["text"].split()[-1] for r in rows] == [f"n{i}" for i in range(14, 4, -1)]
    assert eng.conn.xlen(keys.ALERTS_HISTORY) == 10


def test_a_webhook_url_must_be_http():
    from engine.settings import Settings

    with pytest.raises(ValueError, match="ALERT_WEBHOOK_URL"):
        Settings(alert_webhook_url="ftp://example.invalid/x")
