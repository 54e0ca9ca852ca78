import threading
from datetime import datetime, timedelta, timezone

import pytest

from engine import dead_letters, job_ops, keys, monitoring
from engine.dead_letters import Filter
from engine.errors import ConflictError, NotFoundError
from tests.engine.support import put, thread_workers, wait_until


def dead(engine, queue, n, func="permanent", **data):
    jobs = [put(engine, queue, func, {"i": i, **data}) for i in range(n)]
    with thread_workers(engine, [queue]):
        wait_until(lambda: all(dead_letters.exists(j.id) for j in jobs), timeout_s=10)
    return [j.id for j in jobs]


def test_list_is_newest_first_paginated_and_filtered_by_queue(engine):
    a = dead(engine, "whatsapp", 3)
    b = dead(engine, "orderExpiry", 2)
    entries, total = dead_letters.list_entries()
    assert total == 5 and [e["id"] for e in entries] == list(reversed(a + b))
    page, total = dead_letters.list_entries(Filter(queue="whatsapp"), offset=1, limit=1)
    assert total == 3 and [e["id"] for e in page] == [a[1]]


def test_filter_by_error_type_group_and_time(engine):
    perm = dead(engine, "whatsapp", 2, "permanent")
    timeouts = dead(engine, "vendorFallback", 1, "always_fail")  # dead after 4 runs (scaled waits)
    entries, total = dead_letters.list_entries(Filter(error_type="PermanentError"))
    assert total == 2 and {e["id"] for e in entries} == set(perm)
    group = entries[0]["signature"]
    assert {e["id"] for e in dead_letters.list_entries(Filter(group=group))[0]} == set(perm)
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    assert dead_letters.list_entries(Filter(since=future))[1] == 0
    assert dead_letters.list_entries(Filter(until=future))[1] == 3
    assert timeouts


def test_retry_moves_entry_back_with_a_fresh_budget_and_failed_list_agrees(engine):
    [job_id] = dead(engine, "whatsapp", 1)
    assert [j["id"] for j in monitoring.get_failed_jobs("whatsapp")] == [job_id]
    assert dead_letters.retry(job_id) is True
    assert not dead_letters.exists(job_id)
    assert monitoring.get_failed_jobs("whatsapp") == []
    raw = engine.conn.hgetall(keys.job(job_id))
    assert raw[b"status"] == b"queued" and raw[b"jq_runs"] == b"0"
    assert engine.conn.lrange(keys.waiting("whatsapp", "normal"), 0, -1) == [job_id.encode()]
    with pytest.raises(NotFoundError):
        dead_letters.retry(job_id)


def test_retry_through_the_failed_jobs_api_removes_the_dead_letter_entry(engine):
    [job_id] = dead(engine, "whatsapp", 1)
    assert monitoring.retry_job("whatsapp", job_id) is True
    assert dead_letters.list_entries()[1] == 0


def test_two_concurrent_retries_enqueue_the_job_once(engine):
    ids = dead(engine, "whatsapp", 20)
    results = []
    barrier = threading.Barrier(2)

    def retry_all():
        barrier.wait()
        for job_id in ids:
            try:
                results.append(dead_letters.retry(job_id))
            except NotFoundError:
                results.append(False)

    threads = [threading.Thread(target=retry_all) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 20
    waiting = engine.conn.lrange(keys.waiting("whatsapp", "normal"), 0, -1)
    assert sorted(waiting) == sorted(i.encode() for i in ids)


def test_delete_removes_entry_and_job(engine):
    [job_id] = dead(engine, "whatsapp", 1)
    assert dead_letters.delete(job_id) is True
    assert not engine.conn.exists(keys.job(job_id), keys.dlq_entry(job_id), keys.attempts(job_id))
    assert monitoring.get_failed_jobs("whatsapp") == []
    with pytest.raises(NotFoundError):
        dead_letters.get_entry(job_id)


def test_bulk_retry_and_delete_by_filter_and_by_ids(engine):
    w = dead(engine, "whatsapp", 3)
    o = dead(engine, "orderExpiry", 2)
    assert dead_letters.bulk_retry(Filter(queue="orderExpiry")) == 2
    assert dead_letters.bulk_delete(ids=w[:2]) == 2
    assert [e["id"] for e in dead_letters.list_entries()[0]] == [w[2]]
    assert all(engine.conn.hget(keys.job(i), "status") == b"queued" for i in o)


def test_stats_give_size_and_oldest_age_per_queue(engine):
    dead(engine, "whatsapp", 2)
    stats = dead_letters.stats()
    assert stats["whatsapp"]["count"] == 2 and stats["whatsapp"]["oldest_age_s"] >= 0
    assert stats["whatsapp"]["added_last_hour"] == 2
    assert stats["orderExpiry"] == {"count": 0, "oldest_age_s": None, "added_last_hour": 0}


def test_retrying_a_queued_job_conflicts_and_removing_a_running_job_conflicts(engine):
    job = put(engine, "whatsapp", "ok")
    with pytest.raises(ConflictError):
        job_ops.retry_job("whatsapp", job.id)
    engine.conn.hset(keys.job(job.id), "status", "started")
    with pytest.raises(ConflictError):
        job_ops.remove_job("whatsapp", job.id)


def test_unknown_job_and_wrong_queue_are_not_found(engine):
    job = put(engine, "whatsapp", "ok")
    with pytest.raises(NotFoundError):
        job_ops.get_job("whatsapp", "nope")
    with pytest.raises(NotFoundError):
        job_ops.get_job("orderExpiry", job.id)
    with pytest.raises(NotFoundError):
        job_ops.remove_job("whatsapp", "nope")


def test_remove_waiting_job_takes_it_out_of_line(engine):
    job = put(engine, "whatsapp", "ok")
    job_ops.remove_job("whatsapp", job.id)
    assert engine.conn.llen(keys.waiting("whatsapp", "normal")) == 0
    assert not engine.conn.exists(keys.job(job.id))
