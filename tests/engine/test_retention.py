"""Nothing grows without bound: after a drain with short retention, the keyspace and the server's
memory come back to where they started (engine/retention.py, run by every worker's maintenance)."""
from __future__ import annotations

import os
import signal
import threading
from collections import Counter

from engine import dead_letters, keys, retention
from engine.enqueue import EnqueueRequest, enqueue, enqueue_many
from processors.table import QUEUE_NAMES
from tests.engine.support import spawn_worker, thread_workers, wait_until

FUNCS = "tests.engine.jobfuncs"  # the table names these functions (QUEUE_OVERRIDES)

SHORT = {"keep_completed_s": 1, "keep_failed_s": 1, "rate_limit_per_min": 1_000_000}
# every queue keeps 1 s; orderExpiry's jobs fail once (retry, attempts, failure group) then complete
OVERRIDES = {q: {**SHORT, "func": f"{FUNCS}.ok"} for q in QUEUE_NAMES}
OVERRIDES["orderExpiry"]["func"] = f"{FUNCS}.fail_first_run"
OVERRIDES["vendorFallback"]["func"] = f"{FUNCS}.permanent"

ONE_ID = ("rq:job:", "jq:attempts:", "jq:log:", "rq:worker:", "jq:fgroup:", "jq:dlq:entry:", "jq:dlq:group:")


def pattern(key: str) -> str:
    """The key's family in engine/keys.py: ids, names and bucket times become `*`."""
    for prefix in ONE_ID:
        if key.startswith(prefix):
            return prefix + "*"
    parts = key.split(":")
    if key.startswith("jq:m:") and len(parts) == 5:
        return ":".join(parts[:4]) + ":*"
    return key


def keyspace(conn) -> Counter:
    return Counter(pattern(k.decode()) for k in conn.scan_iter(count=1000))


def used_memory(conn) -> int:
    return int(conn.info("memory")["used_memory"])


def registries_empty(eng) -> bool:
    """RQ's registries and the rate logs (entries older than the rate window) are gone."""
    return not any(eng.conn.exists(keys.finished(q), keys.failed(q), keys.rate_log(q)) for q in QUEUE_NAMES)


def drained(eng) -> bool:
    pending = [keys.waiting(q, p) for q in QUEUE_NAMES for p in keys.PRIORITIES]
    pending += [keys.scheduled(q) for q in QUEUE_NAMES] + [keys.active(q) for q in QUEUE_NAMES]
    return not eng.conn.exists(*pending)


def run_mix(eng, n: int, tag: str) -> None:
    requests = [EnqueueRequest("whatsapp" if i % 3 else "orderExpiry", {"i": i}, job_id=f"{tag}-{i}")
                for i in range(n)]
    for i in range(0, n, 500):
        enqueue_many(eng, requests[i:i + 500])


def test_a_drain_with_short_retention_leaves_the_keyspace_and_memory_at_baseline(engine, engine_factory):
    eng = engine_factory(queue_overrides=OVERRIDES)
    with thread_workers(eng, list(QUEUE_NAMES), n=2):
        # warm up (scripts loaded, metric buckets of this minute exist), then take the baseline
        run_mix(eng, 60, "warm")
        wait_until(lambda: drained(eng) and registries_empty(eng) and not eng.conn.exists(keys.FAILURE_GROUPS),
                   timeout_s=30)
        base_keys, base_memory = keyspace(eng.conn), used_memory(eng.conn)

        # a worker killed without unregistering leaves its record behind
        proc = spawn_worker(eng, ["dailyReports"])
        try:
            wait_until(lambda: _name_of(eng, proc.pid), timeout_s=20)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        # thousands of jobs: completed, retried-then-completed
        run_mix(eng, 3000, "load")
        wait_until(lambda: drained(eng), timeout_s=120)
        assert eng.conn.zcard(keys.finished("whatsapp")) + eng.conn.zcard(keys.finished("orderExpiry")) > 0

        last: dict = {}

        def back_to_baseline():
            now = keyspace(eng.conn)
            last["diff"] = {p: (base_keys.get(p, 0), now.get(p, 0)) for p in set(now) | set(base_keys)
                            if not p.startswith("jq:m:") and base_keys.get(p, 0) != now.get(p, 0)}
            return not last["diff"] and registries_empty(eng) and not eng.conn.exists(keys.FAILURE_GROUPS) and now

        try:
            now_keys = wait_until(back_to_baseline, timeout_s=30, interval_s=0.2)
        except AssertionError:
            raise AssertionError(f"keys by pattern (baseline, now): {last['diff']}") from None
        assert eng.conn.zcard(keys.WORKERS) == 2  # the two live thread workers only
        # metric buckets: at most a new minute (and hour/day) per queue since the baseline
        for p, n in now_keys.items():
            if p.startswith("jq:m:"):
                assert n <= base_keys.get(p, 0) + 2, (p, n, base_keys.get(p))
        grown = used_memory(eng.conn) - base_memory
        assert grown < max(64_000, base_memory // 20), (grown, base_memory)


def _name_of(eng, pid: int) -> str | None:
    for name in eng.conn.zrange(keys.WORKERS, 0, -1):
        if eng.conn.hget(keys.worker(name.decode()), "pid") == str(pid).encode():
            return name.decode()
    return None


def test_a_dead_letter_stays_when_its_failed_registry_membership_expires(engine, engine_factory):
    eng = engine_factory(queue_overrides=OVERRIDES)
    job = enqueue(eng, EnqueueRequest("vendorFallback", {"order_id": "1"}))
    with thread_workers(eng, ["vendorFallback"]):
        wait_until(lambda: dead_letters.exists(job.id, engine=eng))
        wait_until(lambda: not eng.conn.exists(keys.failed("vendorFallback")), timeout_s=10)
    entry = dead_letters.get_entry(job.id, engine=eng)
    assert entry["errors"] and eng.conn.exists(keys.job(job.id))
    # its failure group is kept while a dead letter belongs to it
    assert eng.conn.exists(keys.failure_group(entry["signature"]))


def test_every_trim_call_does_bounded_work_and_concurrent_passes_remove_each_member_once(engine):
    now_s = int(engine.conn.time()[0])
    members = {f"gone-{i}": now_s - 10 for i in range(5_000)}
    engine.conn.zadd(keys.finished("whatsapp"), members)
    engine.conn.zadd(keys.finished("whatsapp"), {"kept": now_s + 3600})
    assert retention.trim(engine, budget=1000, max_calls=1) == 1000
    assert engine.conn.zcard(keys.finished("whatsapp")) == 4001

    counts: list[int] = []
    threads = [threading.Thread(target=lambda: counts.append(retention.trim(engine, budget=500, max_calls=20)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sum(counts) == 4000  # every member removed by exactly one pass
    assert [m.decode() for m in engine.conn.zrange(keys.finished("whatsapp"), 0, -1)] == ["kept"]


def test_old_failure_groups_go_even_behind_groups_kept_for_their_dead_letters(engine, engine_factory):
    eng = engine_factory(queue_overrides=OVERRIDES)
    dead = enqueue(eng, EnqueueRequest("vendorFallback", {"order_id": "1"}))  # the oldest group: kept
    with thread_workers(eng, ["vendorFallback"]):
        wait_until(lambda: dead_letters.exists(dead.id, engine=eng))
    enqueue(eng, EnqueueRequest("orderExpiry", {"order_id": "2"}))  # a newer group: nothing left of it
    with thread_workers(eng, ["orderExpiry"]):
        wait_until(lambda: eng.conn.zcard(keys.FAILURE_GROUPS) == 2)
        wait_until(lambda: drained(eng))
    kept = dead_letters.get_entry(dead.id, engine=eng)["signature"]
    # one group per call: without a cursor the kept group would hide the other one forever
    wait_until(lambda: retention.trim(eng, budget=1, max_calls=1) is not None
               and [s.decode() for s in eng.conn.zrange(keys.FAILURE_GROUPS, 0, -1)] == [kept], timeout_s=10)
    assert eng.conn.exists(keys.failure_group(kept))


def test_rate_logs_of_idle_queues_and_old_audit_entries_are_trimmed(engine):
    now_ms = int(engine.conn.time()[0]) * 1000
    window = engine.settings.rate_window_ms
    engine.conn.zadd(keys.rate_log("whatsapp"), {"old:1": now_ms - window - 1000, "new:1": now_ms})
    from engine.audit import KEEP_MS

    for i in range(300):  # entries older than 365 days fill whole stream nodes
        engine.conn.xadd(keys.AUDIT, {"actor": "x"}, id=f"{now_ms - KEEP_MS - 10_000 + i}-0")
    engine.conn.xadd(keys.AUDIT, {"actor": "recent"})
    retention.trim(engine)
    assert [m.decode() for m in engine.conn.zrange(keys.rate_log("whatsapp"), 0, -1)] == ["new:1"]
    assert engine.conn.xlen(keys.AUDIT) < 150  # approximate trimming keeps at most a partial node
    assert engine.conn.xrevrange(keys.AUDIT, count=1)[0][1][b"actor"] == b"recent"
