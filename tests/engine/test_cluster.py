"""Cluster mode (REDIS_CLUSTER_NODES) against a real 3-master Valkey Cluster (bench/scenario/valkey_cluster.py):
the settings, the hash-tagged key layout, and the core job path end to end."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from engine import (audit, dead_letters, failure_groups, job_ops, keys, maintenance, monitoring, schedule_state,
                    search, search_index, timeline)
from engine.connection import EngineCluster, connect
from engine.enqueue import EnqueueRequest, enqueue, enqueue_many
from engine.errors import ServerError, ValidationError
from engine.runner import slot_specs
from engine.scheduler import Scheduler
from engine.settings import Settings
from engine.slots import SlotPool, SlotSpec
from engine.worker import Worker
from tests.engine.support import ROOT, put, wait_until, worker_env


def status(eng, job_id: str) -> str:
    return (eng.conn.hget(keys.job(job_id), keys.JobField.STATUS) or b"").decode()


def master_of(eng, key: str) -> str:
    return eng.conn.get_node_from_key(key).name


class Pool:
    """The real worker: in-process slots for every queue of the table, in a thread."""

    def __init__(self, eng):
        self.slots = SlotPool(eng, slot_specs(eng.table, eng.table.names))
        self.thread = threading.Thread(target=self.slots.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.slots.stop()
        self.thread.join(timeout=15)
        assert not self.thread.is_alive()


@pytest.fixture
def pool(cluster_engine):
    running = Pool(cluster_engine)
    yield running
    running.stop()


# -- settings and connection ------------------------------------------------------------
@pytest.mark.parametrize("bad", ["localhost", "h:0", ":7000", "h:7000,", "h:port", "h:70000"])
def test_a_bad_cluster_node_entry_is_a_settings_error(bad):
    with pytest.raises(ValueError, match="REDIS_CLUSTER_NODES"):
        Settings(redis_cluster_nodes=bad)


def test_cluster_nodes_are_parsed_and_win_over_url_and_host(valkey_cluster, redis_url):
    settings = Settings(redis_cluster_nodes=valkey_cluster.nodes_setting, redis_url=redis_url, redis_host="10.9.9.9")
    assert settings.cluster_nodes == [("127.0.0.1", n.port) for n in valkey_cluster.masters]
    assert settings.server_configured
    try:
        conn = connect(settings)
        assert isinstance(conn, EngineCluster)
        assert keys.cluster()
        assert {n.port for n in conn.get_primaries()} == {n.port for n in valkey_cluster.masters}
        with pytest.raises(ServerError):  # a cross-slot call is the engine's error, not redis-py's
            conn.mset({"a": 1, "b": 2})
    finally:
        keys.set_cluster(False)


def test_standalone_key_names_are_rq_s(engine):
    assert not keys.cluster()
    job = put(engine, "whatsapp", "ok")
    assert "{" not in job.id
    assert keys.job(job.id) == f"rq:job:{job.id}" and keys.waiting("whatsapp", "normal") == "rq:queue:whatsapp"


# -- key layout ---------------------------------------------------------------------------
def test_each_queue_s_keys_and_jobs_share_its_slot_and_the_queues_spread_over_masters(cluster_engine):
    eng = cluster_engine
    jobs = {q: put(eng, q, "ok") for q in eng.table.names}
    for q, job in jobs.items():
        assert job.id.startswith("{%s}" % q)
        slot = eng.conn.keyslot(keys.waiting(q, "normal"))
        for key in (keys.job(job.id), keys.attempts(job.id), keys.job_log(job.id), keys.dlq_entry(job.id),
                    keys.active(q), keys.scheduled(q), keys.dlq_all(q), keys.failure_groups(q), keys.audit(q)):
            assert eng.conn.keyslot(key) == slot, key
        assert eng.conn.llen(keys.waiting(q, "normal")) == 1
    assert len({master_of(eng, keys.waiting(q, "normal")) for q in jobs}) >= 2


def test_a_caller_s_job_id_gets_the_queue_s_tag_and_a_resend_finds_the_same_job(cluster_engine):
    first = put(cluster_engine, "orderExpiry", "ok", job_id="order-17-expiry")
    assert first.id == "{orderExpiry}order-17-expiry"
    again = put(cluster_engine, "orderExpiry", "ok", job_id=first.id)
    assert again.id == first.id and cluster_engine.conn.llen(keys.waiting("orderExpiry", "normal")) == 1
    with pytest.raises(ValidationError):  # another queue's tag would put the job in that queue's slot
        put(cluster_engine, "orderExpiry", "ok", job_id="{whatsapp}x1")


# -- the job path ------------------------------------------------------------------------
def test_the_worker_drains_every_queue_to_done(cluster_engine, pool):
    eng = cluster_engine
    jobs = [put(eng, q, "ok", {"n": i}) for q in eng.table.names for i in range(4)]
    wait_until(lambda: all(status(eng, j.id) == "finished" for j in jobs), 20)
    assert all(eng.conn.zcard(keys.active(q)) == 0 for q in eng.table.names)


def test_a_failing_job_is_dead_lettered_seen_across_queues_and_retried(cluster_engine, pool):
    eng = cluster_engine
    other = put(eng, "orderExpiry", "permanent")  # a dead letter on another master, for the merged listing
    bad = put(eng, "whatsapp", "always_fail")
    wait_until(lambda: status(eng, bad.id) == "failed" and status(eng, other.id) == "failed", 30)
    assert eng.conn.llen(keys.attempts(bad.id)) == eng.table["whatsapp"].max_runs
    assert master_of(eng, keys.dlq_all("whatsapp")) != master_of(eng, keys.dlq_all("orderExpiry"))
    entries, total = dead_letters.list_entries(engine=eng)
    assert total == 2 and [e["id"] for e in entries] == [bad.id, other.id]  # newest first, merged
    assert dead_letters.list_entries(dead_letters.Filter(queue="whatsapp"), engine=eng)[1] == 1
    stats = dead_letters.stats(engine=eng)
    assert stats["whatsapp"]["count"] == 1 and stats["orderExpiry"]["count"] == 1
    assert stats["vendorFallback"]["count"] == 0
    groups = {g["signature"]: g for g in failure_groups.list_groups(engine=eng)}
    entry = dead_letters.get_entry(bad.id, engine=eng)
    assert groups[entry["signature"]]["dead_lettered"] == 1
    assert groups[entry["signature"]]["queues"] == {"whatsapp": eng.table["whatsapp"].max_runs}
    by_group = dead_letters.Filter(group=entry["signature"])
    assert [e["id"] for e in dead_letters.list_entries(by_group, engine=eng)[0]] == [bad.id]

    pool.stop()  # the retried job must wait in its queue, not fail again at once
    assert dead_letters.retry(bad.id, engine=eng)
    assert not dead_letters.exists(bad.id, engine=eng)
    assert status(eng, bad.id) == "queued"
    assert eng.conn.lrange(keys.waiting("whatsapp", "normal"), 0, -1) == [bad.id.encode()]
    assert dead_letters.list_entries(engine=eng)[1] == 1


def test_the_support_desk_search_finds_a_job_by_its_business_key(cluster_engine):
    eng = cluster_engine
    target = put(eng, "orderExpiry", "ok", {"order_id": "ord-991"})
    time.sleep(0.005)  # the index scores are enqueue times in ms: newest first needs two instants
    also = put(eng, "whatsapp", "ok", {"order_id": "ord-991"})
    put(eng, "orderExpiry", "ok", {"order_id": "ord-992"})
    found = search.search(search.SearchFilter(order_id="ord-991"), engine=eng)
    assert [i["id"] for i in found["items"]] == [also.id, target.id]  # both queues' indexes, newest first
    only = search.search(search.SearchFilter(order_id="ord-991", queue="orderExpiry"), engine=eng)
    assert [i["id"] for i in only["items"]] == [target.id]
    by_id = search.search(search.SearchFilter(q=target.id), engine=eng)
    assert [i["id"] for i in by_id["items"]] == [target.id]


def test_a_worker_serving_queues_on_several_masters_takes_from_each_slot(cluster_engine):
    eng = cluster_engine
    queues = ["whatsapp", "orderExpiry", "dailyReports"]  # three different masters (see the slot test)
    assert len({master_of(eng, keys.waiting(q, "normal")) for q in queues}) == 3
    jobs = [put(eng, q, "ok") for q in queues for _ in range(3)]
    later = put(eng, "dailyReports", "ok", delay=0.3)  # due later: the idle worker must come back for it
    worker = Worker(eng, queues, name="multi")
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: all(status(eng, j.id) == "finished" for j in [*jobs, later]), 15)
    finally:
        worker.stopping = True
        thread.join(timeout=10)
    assert worker.processed == len(jobs) + 1


def test_the_heartbeat_keeps_a_long_run_s_lease_and_registers_the_worker(cluster_engine, pool):
    eng = cluster_engine
    assert eng.settings.lease_ms == 1_000
    job = put(eng, "creditReconciliation", "sleep", {"seconds": 2.5})  # 2.5 leases long
    wait_until(lambda: status(eng, job.id) == "started", 10)
    names = {w["name"] for w in monitoring.workers(engine=eng)}
    assert any("creditReconciliation" in n for n in names)
    wait_until(lambda: status(eng, job.id) == "finished", 10)
    assert eng.conn.hget(keys.job(job.id), keys.JobField.RUNS) == b"1"  # never reaped and re-run
    assert eng.conn.llen(keys.attempts(job.id)) == 0


def test_the_reaper_recovers_an_expired_lease_on_every_slot(cluster_engine):
    eng = cluster_engine
    held = [put(eng, q, "ok") for q in ("whatsapp", "orderExpiry", "dailyReports")]
    for q in ("whatsapp", "orderExpiry", "dailyReports"):
        taken = Worker(eng, [q], name=f"gone-{q}")._dequeue()  # leased, then its worker "dies"
        assert taken[0] == q.encode()
    time.sleep(eng.settings.lease_ms / 1000 + 0.2)
    assert maintenance.reap(eng, eng.hooks, "reaper") == 3
    assert all(status(eng, j.id) == "scheduled" for j in held)  # retried through the failure ladder
    assert all(b"WorkerDiedError" in eng.conn.lindex(keys.attempts(j.id), 0) for j in held)


def test_schedules_plan_their_ticks_into_their_queues_slots(cluster_engine):
    eng = cluster_engine
    actions = Scheduler(eng).run_pass()
    planned = {a.schedule: a.job_id for a in actions if a.what == "planned"}
    assert planned["daily-report"].startswith("{dailyReports}sched-daily-report-")
    assert eng.conn.zscore(keys.scheduled("dailyReports"), planned["daily-report"]) is not None
    assert Scheduler(eng).run_pass() == []  # claimed: a second pass plans nothing again
    assert schedule_state.pause_schedule(eng, "daily-report")
    assert eng.conn.zscore(keys.scheduled("dailyReports"), planned["daily-report"]) is None  # withdrawn


def test_bulk_enqueue_totals_operator_audit_and_plain_id_lookups(cluster_engine, pool):
    eng = cluster_engine
    many = enqueue_many(eng, [EnqueueRequest(q, {"fn": "ok"}) for q in ("vendorFallback", "whatsapp", "dailyReports")])
    assert [j.id.split("}")[0] for j in many] == ["{vendorFallback", "{whatsapp", "{dailyReports"]
    entry = audit.entry_fields(audit.Actor("ops", "api"), "enqueue", queue="orderExpiry", target="order-5-expiry")
    job = enqueue(eng, EnqueueRequest("orderExpiry", {"fn": "ok"}, job_id="order-5-expiry", audit=entry))
    wait_until(lambda: all(status(eng, j.id) == "finished" for j in [*many, job]), 15)
    totals = monitoring.get_all_metrics(engine=eng)["totals"]
    assert totals["completed"] == 4
    assert [e["target"] for e in audit.list_entries(engine=eng)] == ["order-5-expiry"]
    assert job_ops.get_job("orderExpiry", "order-5-expiry", engine=eng)["id"] == job.id
    assert [e["event"] for e in timeline.job_events("orderExpiry", "order-5-expiry", engine=eng)][0] == "enqueued"


def test_the_index_trim_walks_every_master_and_drops_only_vanished_jobs(cluster_engine):
    eng = cluster_engine
    kept = put(eng, "orderExpiry", "ok", {"order_id": "ord-5"})
    gone = [put(eng, q, "ok", {"order_id": "ord-5"}) for q in ("whatsapp", "vendorFallback")]
    for job in gone:
        eng.conn.delete(keys.job(job.id))  # the record expired, its index entry stayed
    removed = sum(search_index.trim(eng, scan_steps=50) for _ in range(3))
    assert removed == 2
    assert eng.conn.zrange(keys.index("order", "ord-5", "orderExpiry"), 0, -1) == [kept.id.encode()]
    assert all(eng.conn.zcard(keys.index("order", "ord-5", q)) == 0 for q in ("whatsapp", "vendorFallback"))
    assert len(eng.conn.hgetall(keys.INDEX_SCAN_CURSORS)) == 3  # one cursor per master


def test_refused_calls_are_audited_once_a_minute(cluster_engine):
    eng = cluster_engine
    actor = audit.Actor("viewer", "api")
    first = audit.record_refusal(actor, "pause", queue="whatsapp", outcome="forbidden", engine=eng)
    assert first is not None
    assert audit.record_refusal(actor, "pause", queue="whatsapp", outcome="forbidden", engine=eng) is None
    assert [e["outcome"] for e in audit.list_entries(engine=eng)] == ["forbidden"]


def test_slots_serving_two_queues_on_two_masters_share_their_round_trips_per_slot(cluster_engine):
    eng = cluster_engine
    assert master_of(eng, keys.waiting("whatsapp", "normal")) != master_of(eng, keys.waiting("dailyReports", "normal"))
    jobs = [put(eng, q, "ok") for _ in range(10) for q in ("whatsapp", "dailyReports")]
    pool = SlotPool(eng, [SlotSpec(("whatsapp", "dailyReports"), 4)])
    thread = threading.Thread(target=pool.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: all(status(eng, j.id) == "finished" for j in jobs), 20)
    finally:
        pool.stop()
        thread.join(timeout=15)
    assert all(eng.conn.zcard(keys.active(q)) == 0 for q in ("whatsapp", "dailyReports"))


def test_memory_reads_every_master_the_fullest_and_the_smallest_limit_count(cluster_engine, valkey_cluster):
    eng = cluster_engine
    limited = valkey_cluster.masters[1].client
    limited.config_set("maxmemory", 200 * 2**20)
    try:
        view = monitoring.memory(engine=eng)
        assert view["max_bytes"] == 200 * 2**20 and view["ratio"] > 0
        eng.high_water.forget()
        assert eng.high_water.mark_bytes() == int(200 * 2**20 * eng.settings.memory_high_water_ratio)
    finally:
        limited.config_set("maxmemory", 0)
        eng.high_water.forget()


def test_a_job_id_prefix_search_scans_every_master_and_pages_across_them(cluster_engine):
    eng = cluster_engine
    made = {put(eng, q, "ok", job_id=f"abcd-{q}").id for q in ("whatsapp", "orderExpiry", "dailyReports")}
    put(eng, "whatsapp", "ok", job_id="zzzz-1")
    found = search.search(search.SearchFilter(q="abcd"), engine=eng)
    assert {i["id"] for i in found["items"]} == made
    tagged = search.search(search.SearchFilter(q="{orderExpiry}abcd"), engine=eng)
    assert [i["id"] for i in tagged["items"]] == ["{orderExpiry}abcd-orderExpiry"]
    seen, cursor = [], None
    for _ in range(20):  # one item a page: the cursor carries the master and its SCAN cursor
        page = search.search(search.SearchFilter(q="abcd"), limit=1, cursor=cursor, engine=eng)
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made)


def test_the_password_comes_from_redis_password_and_a_wrong_one_is_a_credentials_error(tmp_path):
    from engine.errors import CredentialsError
    from bench.scenario.valkey_cluster import start_cluster

    secured = start_cluster(tmp_path, masters=3, password="cluster-secret-0123")
    try:
        conn = connect(Settings(redis_cluster_nodes=secured.nodes_setting, redis_password="cluster-secret-0123"))
        conn.set("{t}k", "v")
        assert conn.get("{t}k") == b"v"
        conn.close()
        with pytest.raises(CredentialsError):
            connect(Settings(redis_cluster_nodes=secured.nodes_setting, redis_password="wrong"))
    finally:
        keys.set_cluster(False)
        secured.stop()


def test_the_shipped_acl_user_runs_the_job_path_on_a_cluster_with_nothing_denied(tmp_path):
    """The cluster client also reads the slot map (CLUSTER SLOTS) and the command table (COMMAND)."""
    from tests.acl_server import PASSWORD, USER, engine_line
    from bench.scenario.valkey_cluster import start_cluster
    from tests.conftest import make_engine

    secured = start_cluster(tmp_path, masters=3, acl=[engine_line(PASSWORD)])
    try:
        eng = make_engine("redis://127.0.0.1:1", redis_cluster_nodes=secured.nodes_setting, redis_username=USER,
                          redis_password=PASSWORD)
        done = [put(eng, q, "ok", {"order_id": "o-acl"}) for q in eng.table.names]
        dead = put(eng, "whatsapp", "permanent")
        assert Worker(eng, eng.table.names, burst=True).run() == len(done) + 1
        assert all(status(eng, j.id) == "finished" for j in done) and status(eng, dead.id) == "failed"
        assert dead_letters.list_entries(engine=eng)[1] == 1 and dead_letters.retry(dead.id, engine=eng)
        indexed = [j.id for j in done if "order_id" in eng.table[j.origin].index_keys]  # 3 queues index orders
        assert sorted(i["id"] for i in search.search(search.SearchFilter(order_id="o-acl"), engine=eng)["items"]) \
            == sorted(indexed) and len(indexed) == 3
        search.search(search.SearchFilter(q="abcd"), engine=eng)
        monitoring.get_all_metrics(engine=eng)
        monitoring.memory(engine=eng)
        maintenance.maintain(eng, eng.hooks, "acl-test")
        eng.conn.close()
        assert [d for n in secured.masters for d in n.client.acl_log()] == []
    finally:
        keys.set_cluster(False)
        secured.stop()


@pytest.mark.parametrize("processes", ["1", "2"])
def test_the_workers_command_drains_a_cluster_in_forked_processes(cluster_engine, processes):
    eng = cluster_engine
    jobs = [put(eng, q, "ok") for q in eng.table.names for _ in range(3)]
    out = subprocess.run([sys.executable, "-m", "engine", "workers", "--burst", "--processes", processes], cwd=ROOT,
                         env=worker_env(eng), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert all(status(eng, j.id) == "finished" for j in jobs)


@pytest.fixture(scope="module")
def six(tmp_path_factory):
    """3 masters + 3 replicas, started once for the replica and failover tests (starting one takes seconds)."""
    from bench.scenario.valkey_cluster import start_cluster

    cluster = start_cluster(tmp_path_factory.mktemp("six"), masters=3, replicas=1)
    yield cluster
    keys.set_cluster(False)
    cluster.stop()


def test_the_cluster_starter_gives_each_master_a_synced_replica(six):
    """The building block of the failover scenarios: 3 masters + 3 replicas, replicas in sync."""
    from tests.conftest import make_engine

    try:
        eng = make_engine("redis://127.0.0.1:1", redis_cluster_nodes=six.nodes_setting)
        assert len(eng.conn.get_primaries()) == 3
        nodes = six.masters[0].client.execute_command("CLUSTER", "NODES").decode().splitlines()
        followed = sorted(line.split()[3] for line in nodes if " slave " in line)
        assert followed == sorted(m.node_id for m in six.masters)  # one replica per master
        job = put(eng, "whatsapp", "ok")
        master = eng.conn.get_node_from_key(keys.job(job.id))
        assert master.redis_connection.execute_command("WAIT", 1, 2000) == 1
        replica = next(r for r in six.replicas if r.client.info("replication")["master_port"] == master.port)
        assert replica.client.execute_command("READONLY") and replica.client.exists(keys.job(job.id))
        eng.conn.close()
    finally:
        keys.set_cluster(False)


def test_a_manual_failover_of_a_queue_s_master_loses_nothing_and_work_goes_on(six):
    """A graceful CLUSTER FAILOVER (not a crash): the clients follow MOVED to the promoted replica.
    Runs after the starter's test on the same cluster (it changes which node is master)."""
    from tests.conftest import make_engine

    try:
        eng = make_engine("redis://127.0.0.1:1", redis_cluster_nodes=six.nodes_setting)
        running = Pool(eng)
        try:
            before = [put(eng, "whatsapp", "ok") for _ in range(5)]
            wait_until(lambda: all(status(eng, j.id) == "finished" for j in before), 15)
            master = eng.conn.get_node_from_key(keys.waiting("whatsapp", "normal"))
            replica = next(r for r in six.replicas if r.client.info("replication")["master_port"] == master.port)
            replica.client.execute_command("CLUSTER", "FAILOVER")
            after, deadline = [], time.monotonic() + 4
            while time.monotonic() < deadline:
                after.append(put(eng, "whatsapp", "ok"))
                time.sleep(0.05)
            wait_until(lambda: replica.client.info("replication")["role"] == "master", 10)
            wait_until(lambda: all(status(eng, j.id) == "finished" for j in after), 30)
            assert eng.conn.get_node_from_key(keys.waiting("whatsapp", "normal")).port == replica.port
        finally:
            running.stop()
        eng.conn.close()
    finally:
        keys.set_cluster(False)
