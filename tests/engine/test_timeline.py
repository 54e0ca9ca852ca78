"""The order timeline: every job about an order, each run, failure, retry, dead-lettering, cancel, completion."""
from __future__ import annotations

import pytest

from engine import dead_letters, keys
from engine.audit import Actor
from engine.errors import NotFoundError
from engine.operator import Operator
from engine.timeline import job_events, key_events

from tests.engine.support import put, thread_workers, wait_until


def test_an_orders_timeline_shows_every_job_and_event_in_time_order(engine, tmp_path):
    flaky = put(engine, "whatsapp", "fail_then_ok", {"order_id": "42", "phone": "+9779800000001",
                                                     "path": str(tmp_path / "runs"), "fail_times": 1})
    dead = put(engine, "vendorFallback", "permanent", {"order_id": "42", "failed_wholesaler_id": "3"})
    put(engine, "whatsapp", "ok", {"order_id": "43", "phone": "+9779800000001"})  # another order
    with thread_workers(engine, ["whatsapp", "vendorFallback"]):
        wait_until(lambda: engine.conn.hget(keys.job(flaky.id), "status") == b"finished"
                   and dead_letters.exists(dead.id, engine=engine))
    waiting = put(engine, "orderExpiry", "ok", {"order_id": "42"}, delay=3600)
    Operator(engine, Actor("ann", "dashboard"), role="operator").cancel("orderExpiry", waiting.id)
    events = key_events("order", "42", engine=engine)
    assert {e["job_id"] for e in events} == {flaky.id, dead.id, waiting.id}
    assert [e["at_ms"] for e in events] == sorted(e["at_ms"] for e in events)
    mine = [e["event"] for e in events if e["job_id"] == flaky.id]
    assert mine == ["enqueued", "failed", "retry_scheduled", "started", "completed"]
    failed = next(e for e in events if e["job_id"] == flaky.id and e["event"] == "failed")
    assert failed["run"] == 1 and "transient failure 1" in failed["detail"]
    assert [e["event"] for e in events if e["job_id"] == dead.id] == ["enqueued", "started", "failed",
                                                                      "dead_lettered"]
    assert sorted(e["event"] for e in events if e["job_id"] == waiting.id) == ["cancel_requested", "cancelled",
                                                                               "enqueued"]


def test_a_job_history_includes_operator_edits(engine):
    dead = put(engine, "whatsapp", "permanent", {"phone": "+9779800000001", "message": "m", "order_id": "1"})
    with thread_workers(engine, ["whatsapp"]):
        wait_until(lambda: dead_letters.exists(dead.id, engine=engine))
    Operator(engine, Actor("ann", "dashboard"), role="operator").retry_dead_letter(
        dead.id, data={"phone": "+9779800000002", "message": "m", "order_id": "1"})
    events = [e["event"] for e in job_events("whatsapp", dead.id, engine=engine)]
    assert events[:4] == ["enqueued", "started", "failed", "dead_lettered"] and {"retried", "data_edited"} <= set(events)
    with pytest.raises(NotFoundError):
        job_events("orderExpiry", dead.id, engine=engine)
