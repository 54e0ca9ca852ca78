"""The documented waits, unscaled, checked once: a whatsapp job that always fails runs 4 times
with waits of at least 2, 4 and 8 s, then sits in the dead-letter queue with all four errors."""
from engine import dead_letters, keys
from tests.engine.support import put, thread_workers, wait_until


def test_whatsapp_job_that_always_fails_waits_2_4_8_seconds_then_dead_letters(engine_factory, engine):
    eng = engine_factory(delay_scale=1.0, rate_window_ms=60_000)
    job = put(eng, "whatsapp", "always_fail", {"order_id": 1})
    with thread_workers(eng, ["whatsapp"]):
        wait_until(lambda: dead_letters.exists(job.id, engine=eng), timeout_s=25, interval_s=0.1)
    entry = dead_letters.get_entry(job.id, engine=eng)
    assert entry["runs"] == 4 and [e["run"] for e in entry["errors"]] == [1, 2, 3, 4]
    times = [e["time"] for e in entry["errors"]]
    gaps = [b - a for a, b in zip(times, times[1:])]
    for gap, wait in zip(gaps, (2, 4, 8)):
        assert wait <= gap < wait + 0.3, gaps
    for key in (keys.dlq_entry(job.id), keys.job(job.id), keys.attempts(job.id)):
        assert eng.conn.ttl(key) == -1
