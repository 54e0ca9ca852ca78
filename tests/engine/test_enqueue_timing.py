"""The engine's own bounds on when a job may run: 0 s to 366 days ahead, and only representable times."""
from datetime import datetime, timedelta, timezone

import pytest

from engine import keys
from engine.enqueue import EnqueueRequest, enqueue
from engine.errors import ValidationError

YEAR_10000_IN_UTC = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=23, minutes=59)))


@pytest.mark.parametrize("timing, field", [
    ({"run_at": YEAR_10000_IN_UTC}, "run_at"),
    ({"run_at": datetime(2030, 1, 1)}, "run_at"),  # naive
    ({"delay": 366 * 86400 + 1}, "delay"),
    ({"delay": float("nan")}, "delay"),
    ({"delay": float("inf")}, "delay"),
    ({"delay": -1}, "delay"),
])
def test_timing_out_of_bounds_is_a_validation_error_and_nothing_is_written(engine, timing, field):
    with pytest.raises(ValidationError) as err:
        enqueue(engine, EnqueueRequest("whatsapp", {"fn": "ok"}, job_id="j1", **timing))
    assert err.value.field == field
    assert not engine.conn.keys("rq:job:*")


def test_the_helpers_refuse_a_run_at_more_than_366_days_ahead(engine):
    from processors import helpers

    with pytest.raises(ValidationError) as err:
        helpers.add_whatsapp_message("+9779800000000", "hi", run_at=datetime.now(timezone.utc) + timedelta(days=367))
    assert err.value.field == "run_at" and "366 days" in err.value.message
    assert not engine.conn.keys("rq:job:*")
    assert helpers.add_whatsapp_message("+9779800000000", "hi", run_at=datetime.now(timezone.utc) + timedelta(days=365))


def test_a_run_at_in_the_past_runs_now_and_one_within_366_days_is_scheduled(engine):
    assert enqueue(engine, EnqueueRequest("whatsapp", {}, run_at=datetime(2000, 1, 1, tzinfo=timezone.utc))).id
    ahead = datetime.now(timezone.utc) + timedelta(days=365)
    job = enqueue(engine, EnqueueRequest("whatsapp", {}, run_at=ahead))
    assert engine.conn.zscore(keys.scheduled("whatsapp"), job.id)
