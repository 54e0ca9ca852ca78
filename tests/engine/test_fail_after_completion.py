"""A finished job whose effect failed later joins the failure ladder: dead letter, failure group, retryable."""
from engine import dead_letters, failure_groups, job_ops, keys
from engine.failures import fail_after_completion

from tests.engine.support import put, thread_workers, wait_until


def test_a_finished_job_failed_after_completion_is_dead_lettered_and_grouped(engine):
    job = put(engine, "whatsapp", "ok")
    with thread_workers(engine, ["whatsapp"], 1):
        assert wait_until(lambda: engine.conn.hget(keys.job(job.id), keys.JobField.STATUS) == b"finished")
    assert fail_after_completion(engine, "whatsapp", job.id, "DeliveryFailed", "WhatsApp code 131026: undeliverable")
    assert dead_letters.exists(job.id, engine=engine)
    [group] = [g for g in failure_groups.list_groups(engine=engine) if g["type"] == "DeliveryFailed"]
    assert group["count"] == 1 and job.id in group["sample_job_ids"] and group["dead_lettered"] == 1
    assert engine.conn.zscore(keys.finished("whatsapp"), job.id) is None
    assert engine.conn.ttl(keys.job(job.id)) == -1  # a dead letter never expires
    assert not fail_after_completion(engine, "whatsapp", job.id, "DeliveryFailed", "again")  # idempotent
    assert job_ops.retry_job("whatsapp", job.id, engine=engine)


def test_only_a_finished_job_can_fail_after_completion(engine):
    job = put(engine, "whatsapp", "ok")  # waiting, never run
    assert not fail_after_completion(engine, "whatsapp", job.id, "DeliveryFailed", "x")
    assert not fail_after_completion(engine, "orderExpiry", job.id, "DeliveryFailed", "x")
