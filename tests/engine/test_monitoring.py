import csv
import io
import time
from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client.parser import text_string_to_metric_families

from engine import audit, control, dead_letters, export, failure_groups, histogram, keys, metrics, monitoring
from engine.audit import Actor
from engine.errors import NotFoundError, PermissionDenied, UnknownQueueError
from engine.operator import Operator
from engine.worker import Worker
from tests.engine.support import put, thread_workers, wait_until


def drain(engine, queues):
    Worker(engine, queues, burst=True).run()


def test_counts_for_every_state(engine):
    put(engine, "whatsapp", "ok", priority="high")
    put(engine, "whatsapp", "ok")
    put(engine, "whatsapp", "ok", priority="low")
    put(engine, "whatsapp", "ok", delay=60)
    m = monitoring.get_queue_metrics("whatsapp")
    assert m["waiting"] == {"high": 1, "normal": 1, "low": 1, "total": 3}
    assert m["scheduled"] == 1 and m["active"] == 0 and m["workers"] == 0
    assert "no live workers" in m["alerts"]
    put(engine, "whatsapp", "permanent")
    drain(engine, ["whatsapp"])
    m = monitoring.get_queue_metrics("whatsapp")
    assert m["waiting"]["total"] == 0 and m["completed"] == 3 and m["failed"] == 1 and m["dead_lettered"] == 1
    assert m["dead_lettered_last_hour"] == 1 and any("dead-letter" in a for a in m["alerts"])
    assert m["last_hour"]["started"] == 4 and m["last_hour"]["completed"] == 3
    assert m["last_hour"]["dead_lettered"] == 1 and m["rate_used"] == 4
    assert m["per_minute"] and m["per_minute"][-1]["completed"] >= 1


def test_active_and_workers_alive_while_a_job_runs(engine):
    put(engine, "whatsapp", "sleep", {"seconds": 2})
    with thread_workers(engine, ["whatsapp"], n=2):
        m = wait_until(lambda: (lambda m: m if m["active"] == 1 and m["workers"] == 2 else None)(
            monitoring.get_queue_metrics("whatsapp")), timeout_s=5)
        assert m["workers"] == 2 and m["active"] == 1
        live = monitoring.workers()
        assert sum(1 for w in live if w["current_job"]) == 1


def test_paused_flag_and_rate_limit_in_metrics(engine):
    control.pause("orderExpiry")
    control.set_rate_limit("orderExpiry", 7)
    m = monitoring.get_all_metrics()["queues"]["orderExpiry"]
    assert m["paused"] is True and m["rate_limit"] == 7


def test_percentiles_from_histograms_are_within_ten_percent():
    values = [1.5 * i for i in range(1, 1001)]
    counts = {}
    for v in values:
        counts[histogram.bucket_of(v)] = counts.get(histogram.bucket_of(v), 0) + 1
    for q in (50, 95, 99):
        exact = sorted(values)[int(q / 100 * len(values)) - 1]
        assert histogram.percentile(counts, q) == pytest.approx(exact, rel=0.10)
    assert histogram.percentile({}, 50) is None


def test_run_time_percentiles_reflect_real_runs(engine):
    for _ in range(19):
        put(engine, "whatsapp", "sleep", {"seconds": 0.01})
    put(engine, "whatsapp", "sleep", {"seconds": 0.2})
    drain(engine, ["whatsapp"])
    hour = monitoring.get_queue_metrics("whatsapp")["last_hour"]
    assert 9 <= hour["run_p50_ms"] <= 14
    assert 180 <= hour["run_p99_ms"] <= 240


def test_average_run_time_counts_sub_millisecond_runs_without_adding_to_the_sum(engine):
    for _ in range(3):
        put(engine, "whatsapp", "ok")  # well under 1 ms: complete.lua skips the run_ms sum's call
    put(engine, "whatsapp", "sleep", {"seconds": 0.04})
    drain(engine, ["whatsapp"])
    hour = monitoring.get_queue_metrics("whatsapp")["last_hour"]
    assert hour["completed"] == 4
    assert 10 <= hour["run_avg_ms"] <= 15  # the one 40 ms run over four completions


def test_history_is_rolled_up_into_minutes_hours_and_days_with_retention(engine):
    for _ in range(3):
        put(engine, "whatsapp", "ok")
    drain(engine, ["whatsapp"])
    now = datetime.now(timezone.utc)
    now_s = int(engine.conn.time()[0])
    window = dict(start=now - timedelta(minutes=2), end=now + timedelta(minutes=2))
    assert sum(r["completed"] for r in metrics.history("whatsapp", resolution="m", **window)) == 3
    # the current minute is still open: nothing is folded into stored hour buckets yet
    metrics.roll_up(now_s=now_s)
    assert engine.conn.keys(keys.metrics_prefix("h", "whatsapp") + "*") == []
    # once it has closed (injected clock), it is folded into hours and days exactly once
    later = now_s + 120
    assert metrics.roll_up(now_s=later) >= 1
    metrics.roll_up(now_s=later)
    for res in ("h", "d"):
        rows = metrics.history("whatsapp", resolution=res, **window)
        assert sum(r["completed"] for r in rows) == 3
        # the window may span an hour (or day) boundary: the jobs' bucket is not always the last row
        assert sum(r["started"] for r in rows) == 3 and any(r["run_p50_ms"] is not None for r in rows)
    for res, ttl in (("m", histogram.KEEP_MINUTES_S), ("h", histogram.KEEP_HOURS_S), ("d", histogram.KEEP_DAYS_S)):
        [key] = engine.conn.keys(keys.metrics_prefix(res, "whatsapp") + "*")
        assert abs(engine.conn.ttl(key) - ttl) < 5
    assert metrics.resolution_for(3600) == "m" and metrics.resolution_for(7 * 86400) == "h"
    assert metrics.resolution_for(200 * 86400) == "d"


def test_roll_up_from_two_processes_at_once_folds_each_minute_once(engine):
    put(engine, "whatsapp", "ok")
    drain(engine, ["whatsapp"])
    later = int(engine.conn.time()[0]) + 120
    import threading

    threads = [threading.Thread(target=metrics.roll_up, kwargs={"now_s": later}) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [key] = engine.conn.keys(keys.metrics_prefix("d", "whatsapp") + "*")
    assert engine.conn.hget(key, "completed") == b"1"


def test_failures_that_differ_only_in_ids_share_a_group(engine):
    for order in (17, 23, 99):
        put(engine, "whatsapp", "permanent", {"order_id": order})
    put(engine, "orderExpiry", "always_fail", {"order_id": 5})
    with thread_workers(engine, ["whatsapp", "orderExpiry"]):
        wait_until(lambda: dead_letters.list_entries()[1] == 4, timeout_s=10)
    groups = {g["type"]: g for g in failure_groups.list_groups()}
    perm = groups["PermanentError"]
    assert perm["count"] == 3 and perm["queues"] == {"whatsapp": 3} and len(perm["sample_job_ids"]) == 3
    assert perm["dead_lettered"] == 3 and perm["message"] == "recipient <n> is invalid"
    assert groups["RuntimeError"]["count"] == 3  # three failed runs of one job
    assert dead_letters.bulk_retry(dead_letters.Filter(group=perm["signature"])) == 3


def test_normalise_masks_numbers_uuids_and_ids():
    a = failure_groups.normalise("order 123 for 9f1c2d3e-1111-2222-3333-444455556666 failed: ord_77a")
    b = failure_groups.normalise("order 456 for 0a1b2c3d-aaaa-bbbb-cccc-ddddeeeeffff failed: ord_12b")
    assert a == b


def test_every_operator_action_is_audited_with_actor_source_and_outcome(engine):
    op = Operator(engine, Actor("alice", "dashboard"), role="operator")
    job = op.enqueue("whatsapp", {"phone": "+9779800000000", "message": "hi"})
    op.pause("whatsapp")
    op.resume("whatsapp")
    op.set_rate_limit("whatsapp", 50)
    op.remove_job("whatsapp", job.id)
    with pytest.raises(NotFoundError):
        op.remove_job("whatsapp", job.id)
    entries = audit.list_entries(actor="alice")
    assert [e["action"] for e in entries] == ["delete", "delete", "rate_limit", "resume", "pause", "enqueue"]
    assert entries[0]["outcome"].startswith("error") and entries[1]["outcome"] == "ok"
    assert all(e["source"] == "dashboard" and e["queue"] == "whatsapp" for e in entries)
    viewer = Operator(engine, Actor("bob", "api"), role="read")
    with pytest.raises(PermissionDenied):
        viewer.pause("whatsapp")
    assert audit.list_entries(actor="bob")[0]["outcome"].startswith("denied")
    assert audit.list_entries(queue="orderExpiry") == []
    future = datetime.now(timezone.utc) + timedelta(minutes=1)
    assert audit.list_entries(since=future) == []


def test_prometheus_exposition_parses(engine):
    put(engine, "whatsapp", "ok")
    drain(engine, ["whatsapp"])
    from engine.prometheus import exposition

    families = {f.name: f for f in text_string_to_metric_families(exposition().decode())}
    jobs = {(s.labels["queue"], s.labels["state"]): s.value for s in families["jq_jobs"].samples}
    assert jobs[("whatsapp", "completed")] == 1
    assert {s.labels["queue"] for s in families["jq_workers"].samples} == set(engine.table.names)
    assert any(s.labels["quantile"] == "0.95" for s in families["jq_run_seconds"].samples)


def test_csv_exports_round_trip(engine):
    put(engine, "whatsapp", "permanent", {"order_id": 1})
    drain(engine, ["whatsapp"])
    Operator(engine, Actor("carol", "cli"), role="operator").pause("whatsapp")
    now = datetime.now(timezone.utc)
    for text, key, expected in (
        (export.dead_letters_csv(engine=engine), "error_type", "PermanentError"),
        (export.failure_groups_csv(engine=engine), "count", "1"),
        (export.audit_csv(engine=engine), "actor", "carol"),
        (export.history_csv(["whatsapp"], start=now - timedelta(minutes=1), end=now, engine=engine), "queue",
         "whatsapp"),
    ):
        rows = list(csv.DictReader(io.StringIO(text)))
        assert rows and rows[-1][key] == expected or any(r[key] == expected for r in rows)
    rows = list(csv.DictReader(io.StringIO(export.dead_letters_csv(engine=engine))))
    assert rows[0]["data"] == '{"fn": "permanent", "order_id": 1}'


def _snapshot(conn):
    """Every key's content (not DUMP: a hashtable-encoded hash's DUMP order changes as the server rehashes)."""
    read = {b"hash": conn.hgetall, b"string": conn.get, b"list": lambda k: conn.lrange(k, 0, -1),
            b"set": conn.smembers, b"zset": lambda k: conn.zrange(k, 0, -1, withscores=True),
            b"stream": lambda k: conn.xrange(k)}
    return {k: (conn.type(k), read[conn.type(k)](k)) for k in conn.keys("*")}


def test_reads_have_no_side_effects(engine):
    put(engine, "whatsapp", "ok")
    put(engine, "whatsapp", "ok", delay=0.05)  # due by the time we read: reads must not promote it
    put(engine, "whatsapp", "permanent")
    Worker(engine, ["whatsapp"], burst=True).run()
    time.sleep(0.1)
    before = _snapshot(engine.conn)
    monitoring.get_all_metrics()
    monitoring.get_queue_metrics("whatsapp")
    monitoring.get_failed_jobs("whatsapp")
    for state in ("queued", "scheduled", "started", "finished", "failed"):
        monitoring.list_jobs("whatsapp", state)
    dead_letters.list_entries()
    dead_letters.stats()
    failure_groups.list_groups()
    assert _snapshot(engine.conn) == before


def test_unknown_queue_is_a_clear_error(engine):
    with pytest.raises(UnknownQueueError):
        monitoring.get_queue_metrics("sms")
    with pytest.raises(UnknownQueueError):
        monitoring.get_failed_jobs("sms")


def test_hour_and_day_history_include_minutes_not_yet_rolled_up_without_writing(engine):
    put(engine, "whatsapp", "ok")
    drain(engine, ["whatsapp"])
    now = datetime.now(timezone.utc)
    before = _snapshot(engine.conn)
    for res in ("h", "d"):
        rows = metrics.history("whatsapp", start=now - timedelta(hours=1), end=now, resolution=res)
        assert sum(r["completed"] for r in rows) == 1
    assert _snapshot(engine.conn) == before
    metrics.roll_up(now_s=int(engine.conn.time()[0]) + 120)  # after the roll-up: still counted once
    rows = metrics.history("whatsapp", start=now - timedelta(hours=1), end=now + timedelta(minutes=3), resolution="h")
    assert sum(r["completed"] for r in rows) == 1


def test_sla_compliance_per_bucket_and_breach_flag(engine_factory, engine):
    eng = engine_factory(queue_overrides={"whatsapp": {"sla": {"start_within_s": 0.05, "ratio": 0.95}}})
    put(eng, "whatsapp", "ok")
    late = put(eng, "whatsapp", "ok", delay=0.0)
    time.sleep(0.2)  # both wait > 50 ms before a worker starts them: the SLA is breached
    Worker(eng, ["whatsapp"], burst=True).run()
    m = monitoring.get_queue_metrics("whatsapp", engine=eng)
    assert m["sla"]["compliance_last_hour"] == 0.0 and m["sla"]["breached"] is True
    assert "SLA breached" in m["alerts"]
    now = datetime.now(timezone.utc)
    rows = metrics.history("whatsapp", start=now - timedelta(hours=2), end=now, resolution="h", engine=eng)
    assert rows[-1]["sla_compliance"] == 0.0 and late.id
    assert "sla_compliance" not in metrics.history("orderExpiry", start=now, end=now, engine=eng)[0]


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised():
    text = export.to_csv([{"a": "=HYPERLINK(\"http://x\")", "b": -5, "c": "@SUM(1)", "d": "plain"}],
                         ["a", "b", "c", "d"])
    row = next(csv.DictReader(io.StringIO(text)))
    assert row == {"a": "'=HYPERLINK(\"http://x\")", "b": "-5", "c": "'@SUM(1)", "d": "plain"}


def test_repeated_metric_reads_reuse_closed_buckets_and_stay_correct(engine):
    put(engine, "whatsapp", "ok")
    drain(engine, ["whatsapp"])
    first = monitoring.get_queue_metrics("whatsapp")
    second = monitoring.get_queue_metrics("whatsapp")
    assert first["last_hour"] == second["last_hour"] and first["last_hour"]["completed"] == 1
    put(engine, "whatsapp", "ok")
    drain(engine, ["whatsapp"])
    assert monitoring.get_queue_metrics("whatsapp")["last_hour"]["completed"] == 2  # open bucket re-read
