"""Fix and resend: a dead-lettered job retried with corrected data, validated, audited, re-indexed."""
from __future__ import annotations

import pytest

from engine import audit, dead_letters, keys
from engine.app import set_default_engine
from engine.helpers import add_job
from engine.audit import Actor
from engine.errors import ValidationError
from engine.operator import Operator
from engine.search import SearchFilter, search

from tests.engine.support import thread_workers, wait_until

BAD = {"phone": "+9779800000001", "message": "Order 42 confirmed", "order_id": "42"}
OPERATOR = Actor("ann", "dashboard")


@pytest.fixture
def engine(engine_factory):
    """whatsapp runs a stand-in processor that refuses BAD for good and sends corrected data, so the jobs
    carry plain whatsapp data (what fix and resend validates against the queue's schema)."""
    eng = engine_factory(queue_overrides={"whatsapp": {"func": "tests.engine.jobfuncs.refuse_bad_whatsapp"}})
    eng.conn.flushdb()
    set_default_engine(eng)
    yield eng
    set_default_engine(None)


@pytest.fixture
def dead(engine):
    job = add_job("whatsapp", dict(BAD), engine=engine)
    with thread_workers(engine, ["whatsapp"]):
        wait_until(lambda: dead_letters.exists(job.id, engine=engine))
    return job.id


def found(engine, **kw):
    return {i["id"]: i for i in search(SearchFilter(**kw), engine=engine)["items"]}


def test_the_edited_data_replaces_the_jobs_data_and_the_index_follows(engine, dead):
    fixed = {**BAD, "phone": "+9779811111111"}
    op = Operator(engine, OPERATOR, role="operator")
    assert op.retry_dead_letter(dead, data=fixed)
    assert not dead_letters.exists(dead, engine=engine)
    item = found(engine, phone="9811111111")[dead]
    assert item["data"]["phone"] == "+9779811111111" and item["state"] == "waiting" and item["runs"] == 0
    assert dead not in found(engine, phone="+9779800000001")
    assert engine.conn.zscore(keys.index("phone", "+9779800000001"), dead) is None
    assert dead in found(engine, order_id="42")
    entry = audit.list_entries(action="dead_letter_retry", engine=engine)[0]
    assert entry["details"] == {"data_before": BAD, "data_after": fixed} and entry["outcome"] == "ok"


def test_bad_data_is_refused_naming_the_field_and_nothing_changes(engine, dead):
    before = engine.conn.hgetall(keys.job(dead))
    for data, field in (({**BAD, "phone": "12"}, "data.phone"), ({"message": "x"}, "data.phone"),
                        ({**BAD, "extra": 1}, "data.extra"), ("not a dict", "data")):
        with pytest.raises(ValidationError) as err:
            Operator(engine, OPERATOR, role="operator").retry_dead_letter(dead, data=data)
        assert err.value.field == field
    assert dead_letters.exists(dead, engine=engine) and engine.conn.hgetall(keys.job(dead)) == before
    assert audit.list_entries(action="dead_letter_retry", engine=engine)[0]["outcome"].startswith("error")


def test_a_failed_job_retried_by_queue_and_id_with_new_data_runs_with_it(engine, dead):
    fixed = {**BAD, "message": "Order 42 confirmed (resent)"}
    assert Operator(engine, OPERATOR, role="operator").retry_job("whatsapp", dead, data=fixed)
    with thread_workers(engine, ["whatsapp"]):
        wait_until(lambda: engine.conn.hget(keys.job(dead), "status") == b"finished")
    item = found(engine, order_id="42")[dead]
    assert item["state"] == "finished" and item["data"]["message"].endswith("(resent)")
    assert audit.list_entries(action="retry", engine=engine)[0]["details"]["data_after"] == fixed


def test_a_retry_without_data_keeps_the_data(engine, dead):
    assert Operator(engine, OPERATOR, role="operator").retry_dead_letter(dead)
    assert found(engine, order_id="42")[dead]["data"] == BAD
