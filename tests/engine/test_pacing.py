"""Per-key pacing (QueuePolicy.key_limit) in the dequeue step: one start per key per interval, held jobs in
order and without a run counted, other keys not held up, the queue's rate limit still applies."""
import pytest

from engine import keys
from engine.enqueue import EnqueueRequest, enqueue
from engine.errors import ConfigError
from engine.queues import QueuePolicy
from processors.schemas import WhatsAppData

from tests.engine.support import thread_workers, wait_until

PACE_S = 0.3


def paced(engine_factory, **over):
    return engine_factory(queue_overrides={"whatsapp": {"key_limit": ["phone", PACE_S], **over}})


def put(eng, phone, i):
    return enqueue(eng, EnqueueRequest("whatsapp", {"fn": "ok", "phone": phone, "i": i})).id


def starts(eng, ids):
    """(start ms, runs) of each job, from its hash."""
    out = []
    for job_id in ids:
        f = eng.conn.hmget(keys.job(job_id), keys.JobField.STARTED_MS, keys.JobField.RUNS)
        out.append((int(f[0]), int(f[1])))
    return out


def finished(eng, ids):
    return all(eng.conn.hget(keys.job(i), keys.JobField.STATUS) == b"finished" for i in ids)


def test_one_key_is_paced_in_order_and_other_keys_are_not_held_up(engine, engine_factory):
    eng = paced(engine_factory)
    burst = [put(eng, "+9779800000001", i) for i in range(4)]
    others = [put(eng, f"+97798000001{i:02d}", i) for i in range(4)]
    with thread_workers(eng, ["whatsapp"], 2):
        assert wait_until(lambda: finished(eng, burst + others), timeout_s=10)
    burst_starts = starts(eng, burst)
    assert [runs for _, runs in burst_starts] == [1, 1, 1, 1]  # held jobs used no attempt
    times = [t for t, _ in burst_starts]
    assert times == sorted(times)  # in order
    assert all(b - a >= PACE_S * 1000 - 5 for a, b in zip(times, times[1:]))  # one per interval
    other_times = [t for t, _ in starts(eng, others)]
    assert max(other_times) < times[1]  # none waited behind the burst's held jobs


def test_a_held_job_shows_as_scheduled_and_keeps_its_data(engine, engine_factory):
    eng = paced(engine_factory, key_limit=["phone", 30])
    first, second = put(eng, "+9779800000001", 0), put(eng, "+9779800000001", 1)
    with thread_workers(eng, ["whatsapp"], 1):
        assert wait_until(lambda: finished(eng, [first]), timeout_s=5)
        assert wait_until(lambda: eng.conn.hget(keys.job(second), keys.JobField.STATUS) == b"scheduled", timeout_s=5)
    assert eng.conn.hget(keys.job(second), keys.JobField.RUNS) == b"0"
    assert eng.conn.zscore(keys.scheduled("whatsapp"), second) is not None


def test_the_queue_rate_limit_still_holds(engine, engine_factory):
    eng = engine_factory(rate_window_ms=1000,
                         queue_overrides={"whatsapp": {"key_limit": ["phone", 0.01], "rate_limit_per_min": 3}})
    ids = [put(eng, f"+97798000002{i:02d}", i) for i in range(6)]
    with thread_workers(eng, ["whatsapp"], 2):
        assert wait_until(lambda: finished(eng, ids), timeout_s=10)
    times = sorted(t for t, _ in starts(eng, ids))
    assert times[3] - times[0] >= 1000 - 5  # at most 3 starts in any 1 s window


def test_key_limit_is_checked_and_overridable():
    base = QueuePolicy("q", "m.f", 1, 0, "fixed", 1.0, 10, schema=WhatsAppData)
    assert base.with_overrides({"key_limit": ["phone", 6]}).key_limit == ("phone", 6)
    with pytest.raises(ConfigError, match="key_limit"):
        base.with_overrides({"key_limit": ["phone", 0]})


def _remove(eng, job_id):
    from engine import job_ops

    job_ops.remove_job("whatsapp", job_id, engine=eng)


def _cancel(eng, job_id):
    from engine.cancel import cancel_job

    assert cancel_job("whatsapp", job_id, engine=eng) == "cancelled"  # its hash stays, as a cancelled job


@pytest.mark.parametrize("gone", [_remove, _cancel], ids=["removed", "cancelled"])
def test_a_held_job_that_goes_away_does_not_block_the_ones_after_it(engine, engine_factory, gone):
    eng = paced(engine_factory)
    ids = [put(eng, "+9779800000001", i) for i in range(3)]
    with thread_workers(eng, ["whatsapp"], 1):
        assert wait_until(lambda: finished(eng, ids[:1]), timeout_s=5)
        assert wait_until(lambda: eng.conn.zscore(keys.scheduled("whatsapp"), ids[1]) is not None, timeout_s=5)
        gone(eng, ids[1])  # the held job due next
        assert wait_until(lambda: finished(eng, ids[2:]), timeout_s=5)
    assert eng.conn.exists(keys.pace_prefix("whatsapp") + "+9779800000001:wait") == 0  # nothing left behind


def test_a_wait_list_expires_when_its_jobs_are_long_gone(engine, engine_factory):
    eng = paced(engine_factory, key_limit=["phone", 30])
    ids = [put(eng, "+9779800000001", i) for i in range(3)]
    with thread_workers(eng, ["whatsapp"], 1):
        assert wait_until(lambda: eng.conn.zscore(keys.scheduled("whatsapp"), ids[2]) is not None, timeout_s=5)
    ttl_ms = eng.conn.pttl(keys.pace_prefix("whatsapp") + "+9779800000001:wait")
    assert 0 < ttl_ms <= (2 * 30 + 3600) * 1000  # past the last held job's turn, plus an hour's slack
