"""Cancel in every state: waiting and scheduled at once, running cooperatively or past the grace period."""
from __future__ import annotations

import pytest

from engine import audit, dead_letters, failures, keys
from engine.audit import Actor
from engine.cancel import cancel_job
from engine.errors import ConflictError, NotFoundError, PermissionDenied, WorkerDiedError
from engine.operator import Operator
from engine.search import SearchFilter, search

from tests.engine.support import put, thread_workers, wait_until


def status(eng, job_id):
    raw = eng.conn.hget(keys.job(job_id), "status")
    return raw.decode() if raw else None


def state_in_search(eng, job_id, **key):
    flt = SearchFilter(**(key or {"order_id": "1"}))
    return {i["id"]: i["state"] for i in search(flt, engine=eng)["items"]}[job_id]


def test_a_waiting_job_is_cancelled_at_once_and_never_runs(engine):
    job = put(engine, "whatsapp", "mark", {"order_id": "1"})
    assert cancel_job("whatsapp", job.id, engine=engine) == "cancelled"
    assert status(engine, job.id) == "canceled" and state_in_search(engine, job.id) == "cancelled"
    assert engine.conn.llen(keys.waiting("whatsapp", "normal")) == 0
    assert 0 < engine.conn.ttl(keys.job(job.id)) <= engine.table["whatsapp"].keep_failed_s
    assert engine.conn.zscore(keys.cancelled("whatsapp"), job.id) is not None
    later = put(engine, "whatsapp", "mark", {"order_id": "1"})
    with thread_workers(engine, ["whatsapp"]):
        wait_until(lambda: engine.conn.sismember("test:done", later.id))
    assert not engine.conn.sismember("test:done", job.id) and status(engine, job.id) == "canceled"


def test_a_scheduled_job_is_cancelled_at_once(engine):
    job = put(engine, "orderExpiry", "mark", {"order_id": "1"}, delay=3600)
    assert cancel_job("orderExpiry", job.id, engine=engine) == "cancelled"
    assert engine.conn.zcard(keys.scheduled("orderExpiry")) == 0
    assert state_in_search(engine, job.id) == "cancelled"


def test_a_running_job_stops_cooperatively_and_is_never_retried(engine):
    job = put(engine, "creditReconciliation", "cooperative", {"account_id": "1"})
    with thread_workers(engine, ["creditReconciliation"]):
        wait_until(lambda: status(engine, job.id) == "started")
        assert cancel_job("creditReconciliation", job.id, engine=engine) == "cancelling"
        wait_until(lambda: status(engine, job.id) == "canceled", timeout_s=5)
    assert engine.conn.zcard(keys.scheduled("creditReconciliation")) == 0
    assert not dead_letters.exists(job.id, engine=engine)
    assert engine.conn.zcard(keys.active("creditReconciliation")) == 0
    assert state_in_search(engine, job.id, account_id="1") == "cancelled"
    assert int(engine.conn.hget(keys.job(job.id), "jq_runs")) == 1


def test_a_run_that_fails_after_the_cancel_is_cancelled_not_retried(engine):
    job = put(engine, "whatsapp", "fail_when_cancelled", {"order_id": "1"})
    with thread_workers(engine, ["whatsapp"]):
        wait_until(lambda: status(engine, job.id) == "started")
        cancel_job("whatsapp", job.id, engine=engine)
        wait_until(lambda: status(engine, job.id) == "canceled", timeout_s=5)
    assert engine.conn.zcard(keys.scheduled("whatsapp")) == 0 and not dead_letters.exists(job.id, engine=engine)


def test_a_running_job_that_ignores_the_cancel_is_recorded_cancelled_after_the_grace_and_its_result_discarded(
        engine_factory):
    eng = engine_factory(cancel_grace_ms=200)
    eng.conn.flushdb()
    job = put(eng, "creditReconciliation", "stubborn", {"account_id": "1", "seconds": 2.0})
    with thread_workers(eng, ["creditReconciliation"]) as workers:
        wait_until(lambda: status(eng, job.id) == "started")
        assert cancel_job("creditReconciliation", job.id, engine=eng) == "cancelling"
        wait_until(lambda: status(eng, job.id) == "canceled", timeout_s=3)
        assert workers[0].processed == 0  # recorded while the processor still runs
        wait_until(lambda: workers[0].processed == 1, timeout_s=5)
    assert status(eng, job.id) == "canceled" and eng.conn.hget(keys.job(job.id), "jq_result") is None
    assert eng.conn.zcard(keys.finished("creditReconciliation")) == 0


def test_finished_dead_lettered_cancelled_and_unknown_jobs_cannot_be_cancelled(engine):
    done = put(engine, "whatsapp", "ok")
    dead = put(engine, "whatsapp", "permanent")
    with thread_workers(engine, ["whatsapp"]):
        wait_until(lambda: status(engine, done.id) == "finished" and dead_letters.exists(dead.id, engine=engine))
    for job_id in (done.id, dead.id):
        with pytest.raises(ConflictError):
            cancel_job("whatsapp", job_id, engine=engine)
    waiting = put(engine, "whatsapp", "ok")
    cancel_job("whatsapp", waiting.id, engine=engine)
    with pytest.raises(ConflictError, match="already cancelled"):
        cancel_job("whatsapp", waiting.id, engine=engine)
    with pytest.raises(NotFoundError):
        cancel_job("whatsapp", "no-such-job", engine=engine)
    with pytest.raises(NotFoundError):
        cancel_job("orderExpiry", done.id, engine=engine)  # it lives on another queue


def test_the_failure_ladder_turns_any_failure_of_a_cancelled_job_into_cancelled(engine):
    assert failures.decide(engine, "whatsapp", WorkerDiedError("gone"), 1, cancel_requested=True) == ("cancelled", 0)
    assert failures.decide(engine, "whatsapp", WorkerDiedError("gone"), 1)[0] == "retry"


def test_every_cancel_is_audited_and_a_viewer_is_refused(engine):
    job = put(engine, "whatsapp", "ok")
    Operator(engine, Actor("ann", "dashboard"), role="operator").cancel("whatsapp", job.id)
    with pytest.raises(PermissionDenied):
        Operator(engine, Actor("vic", "dashboard"), role="viewer").cancel("whatsapp", job.id)
    with pytest.raises(ConflictError):
        Operator(engine, Actor("ann", "dashboard"), role="operator").cancel("whatsapp", job.id)
    entries = audit.list_entries(action="cancel", engine=engine)
    assert [(e["actor"], e["outcome"][:5]) for e in entries] == [("ann", "confl"), ("vic", "denie"), ("ann", "ok")]
    assert entries[-1]["details"] == {"outcome": "cancelled"} and entries[-1]["target"] == job.id


def test_a_cancelled_job_shows_as_cancelled_in_its_details_and_its_state_list(engine):
    from engine.job_ops import get_job, list_jobs

    job = put(engine, "whatsapp", "ok")
    cancel_job("whatsapp", job.id, engine=engine)
    assert get_job("whatsapp", job.id, engine=engine)["state"] == "cancelled"
    rows, total = list_jobs("whatsapp", "cancelled", engine=engine)
    assert total == 1 and rows[0]["id"] == job.id


def test_the_reaper_records_a_cancelled_job_whose_worker_died_as_cancelled_not_retried(engine):
    from engine.hooks import Hooks
    from engine.maintenance import reap

    job = put(engine, "whatsapp", "ok")
    engine.conn.lrem(keys.waiting("whatsapp", "normal"), 0, job.id)  # taken by a worker that then died
    engine.conn.zadd(keys.active("whatsapp"), {f"{job.id}|dead-worker": 1})  # lease long expired
    engine.conn.hset(keys.job(job.id), mapping={"status": "started", "jq_runs": 1})
    assert cancel_job("whatsapp", job.id, engine=engine) == "cancelling"
    assert reap(engine, Hooks(), "reaper") == 1
    assert status(engine, job.id) == "canceled"
    assert engine.conn.zcard(keys.scheduled("whatsapp")) == 0 and not dead_letters.exists(job.id, engine=engine)
