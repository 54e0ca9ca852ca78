from datetime import date, datetime, timedelta, timezone

import pytest
from rq.job import Job
from rq.serializers import JSONSerializer

from engine import keys
from processors import helpers
from engine.errors import UnknownQueueError, ValidationError


@pytest.fixture
def engine(processors_engine):
    """The helpers enqueue for the platform's real processors."""
    return processors_engine


def test_whatsapp_helper_enqueues_a_json_job_on_the_normal_list(engine):
    job = helpers.add_whatsapp_message("+9779800000000", "Hello!")
    assert engine.conn.lrange(keys.waiting("whatsapp", "normal"), 0, -1) == [job.id.encode()]
    stored = Job.fetch(job.id, connection=engine.conn, serializer=JSONSerializer)
    assert stored.kwargs == {"phone": "+9779800000000", "message": "Hello!"}
    assert stored.func_name == "processors.whatsapp.run"  # the table's processor
    assert b"\x80" not in engine.conn.hget(keys.job(job.id), "data")[:2]  # not a pickle stream


def test_priority_high_goes_to_its_own_list(engine):
    job = helpers.add_whatsapp_message("+9779800000000", "urgent", priority="high")
    assert engine.conn.lrange(keys.waiting("whatsapp", "high"), 0, -1) == [job.id.encode()]


@pytest.mark.parametrize("phone, message, field", [
    ("9779800000000", "hi", "phone"),
    ("+97798000000001234567", "hi", "phone"),
    ("+9779800000000", "", "message"),
    ("+9779800000000", "x" * 4097, "message"),
])
def test_whatsapp_validation_names_the_field_and_writes_nothing(engine, phone, message, field):
    with pytest.raises(ValidationError) as info:
        helpers.add_whatsapp_message(phone, message)
    assert info.value.field == field
    assert engine.conn.dbsize() == 0


def test_message_of_exactly_4096_characters_is_accepted(engine):
    helpers.add_whatsapp_message("+9779800000000", "x" * 4096)


def test_bad_priority_unknown_queue_and_unsafe_id_are_rejected(engine):
    with pytest.raises(ValidationError, match="priority"):
        helpers.add_whatsapp_message("+9779800000000", "hi", priority="urgent")
    with pytest.raises(UnknownQueueError):
        helpers.add_job("sms", {})
    with pytest.raises(ValidationError, match="order_id"):
        helpers.add_vendor_fallback_job("../etc", "w1")
    with pytest.raises(ValidationError, match="job_id"):
        helpers.add_whatsapp_message("+9779800000000", "hi", job_id="a b")
    assert engine.conn.dbsize() == 0


def test_order_expiry_runs_at_expires_at_and_rejects_naive_times(engine):
    at = datetime.now(timezone.utc) + timedelta(minutes=30)
    job = helpers.add_order_expiry_job("42", at)
    due_ms = int(engine.conn.hget(keys.job(job.id), "jq_due_ms"))
    assert abs(due_ms - at.timestamp() * 1000) < 2
    assert engine.conn.zscore(keys.scheduled("orderExpiry"), job.id) == pytest.approx(at.timestamp(), abs=0.002)
    with pytest.raises(ValidationError, match="expires_at"):
        helpers.add_order_expiry_job("42", datetime.now())


def test_daily_report_defaults_to_yesterday(engine):
    job = helpers.add_daily_report_job()
    stored = Job.fetch(job.id, connection=engine.conn, serializer=JSONSerializer)
    assert stored.kwargs["report_date"] == (datetime.now(timezone.utc).date() - timedelta(days=1)).isoformat()
    job = helpers.add_daily_report_job(date(2026, 1, 2))
    assert Job.fetch(job.id, connection=engine.conn, serializer=JSONSerializer).kwargs == {"report_date": "2026-01-02"}


def test_credit_reconciliation_for_all_or_one_account(engine):
    assert Job.fetch(helpers.add_credit_reconciliation_job().id, connection=engine.conn,
                     serializer=JSONSerializer).kwargs == {}
    assert Job.fetch(helpers.add_credit_reconciliation_job("acc-1").id, connection=engine.conn,
                     serializer=JSONSerializer).kwargs == {"account_id": "acc-1"}


def test_same_job_id_while_pending_gives_one_job(engine):
    first = helpers.add_whatsapp_message("+9779800000000", "once", job_id="order-7-confirmation")
    second = helpers.add_whatsapp_message("+9779800000000", "twice", job_id="order-7-confirmation")
    assert first.id == second.id
    assert engine.conn.llen(keys.waiting("whatsapp", "normal")) == 1
    assert Job.fetch(first.id, connection=engine.conn, serializer=JSONSerializer).kwargs["message"] == "once"


def test_delay_and_run_at_are_exclusive_and_bounded(engine):
    with pytest.raises(ValidationError, match="delay"):
        helpers.add_whatsapp_message("+9779800000000", "hi", delay=5, run_at=datetime.now(timezone.utc))
    with pytest.raises(ValidationError, match="delay"):
        helpers.add_whatsapp_message("+9779800000000", "hi", delay=-1)
    job = helpers.add_whatsapp_message("+9779800000000", "hi", delay=timedelta(seconds=5))
    assert engine.conn.hget(keys.job(job.id), "status") == b"scheduled"


def test_broadcast_enqueues_all_in_one_round_trip_after_validating_all(engine):
    with pytest.raises(ValidationError):
        helpers.broadcast_whatsapp(["+9779800000000", "bad"], "sale!")
    assert engine.conn.dbsize() == 0
    jobs = helpers.broadcast_whatsapp([f"+97798000000{i:02d}" for i in range(50)], "sale!")
    assert len({j.id for j in jobs}) == 50
    assert engine.conn.llen(keys.waiting("whatsapp", "normal")) == 50


@pytest.mark.parametrize("bad", ["a.b", "abc\n", "", "-x", "x" * 129])
def test_job_ids_rq_would_refuse_are_a_validation_error(engine, bad):
    with pytest.raises(ValidationError, match="job_id"):
        helpers.add_whatsapp_message("+9779800000000", "hi", job_id=bad)


def test_resending_an_enqueue_after_the_job_finished_does_not_run_it_again(engine):
    from engine.worker import Worker

    first = helpers.add_whatsapp_message("+9779800000000", "hi", job_id="order-9-hello")
    Worker(engine, ["whatsapp"], burst=True).run()
    again = helpers.add_whatsapp_message("+9779800000000", "hi", job_id="order-9-hello")
    assert again.id == first.id and again.get_status() == "finished"
    assert engine.conn.llen(keys.waiting("whatsapp", "normal")) == 0
    other_queue = helpers.add_vendor_fallback_job("1", "2", job_id="order-9-hello")
    assert other_queue.origin == "whatsapp"  # the existing job is returned, not a second one
