"""SIGKILL real worker processes at every point of a job's life: no job is ever lost."""
import json
import random
import time

import pytest

from engine import dead_letters, keys
from engine.embedded import start_embedded
from tests.conftest import make_engine
from tests.engine.support import put, spawn_worker, thread_workers, wait_until

FAST_QUEUE = {"whatsapp": {"rate_limit_per_min": 100_000}}


def errors_of(engine, job_id):
    return [json.loads(e)["type"] for e in engine.conn.lrange(keys.attempts(job_id), 0, -1)]


@pytest.mark.parametrize("how", ["before_start", "while_running", "while_completing"])
def test_sigkill_at_each_point_of_a_run_recovers_the_job(engine, how):
    func, hooks = {"before_start": ("mark", "tests.engine.crash_hooks:CrashBeforeStart"),
                   "while_running": ("die_first_run", None),
                   "while_completing": ("mark", "tests.engine.crash_hooks:CrashWhileCompleting")}[how]
    job = put(engine, "whatsapp", func)
    first = spawn_worker(engine, ["whatsapp"], *(["--hooks", hooks] if hooks else []))
    assert first.wait(timeout=20) == -9  # it killed itself at the chosen point
    assert engine.conn.hget(keys.job(job.id), "status") == b"started"
    died_at = time.monotonic()
    second = spawn_worker(engine, ["whatsapp"])
    try:
        wait_until(lambda: engine.conn.hget(keys.job(job.id), "status") == b"finished", timeout_s=20)
    finally:
        second.terminate()
        second.wait(timeout=10)
    assert time.monotonic() - died_at < 30
    assert errors_of(engine, job.id) == ["WorkerDiedError"]
    assert engine.conn.sismember("test:done", job.id)
    # at-least-once: only a kill after the side effect repeats it
    runs = int(engine.conn.hget("test:runs", job.id))
    assert runs == (2 if how == "while_completing" else 1)


def test_sigkill_while_waiting_for_a_retry_loses_nothing(engine_factory, engine, tmp_path):
    eng = engine_factory(delay_scale=0.25)  # first whatsapp retry waits 0.5 s
    job = put(eng, "whatsapp", "fail_then_ok", {"path": str(tmp_path / "c"), "fail_times": 1})
    proc = spawn_worker(eng, ["whatsapp"])
    wait_until(lambda: eng.conn.hget(keys.job(job.id), "status") == b"scheduled", timeout_s=20)
    proc.kill()
    proc.wait()
    with thread_workers(eng, ["whatsapp"]):
        wait_until(lambda: eng.conn.hget(keys.job(job.id), "status") == b"finished", timeout_s=10)
    assert errors_of(eng, job.id) == ["RuntimeError"]


def test_twenty_four_random_sigkills_lose_no_job(engine_factory, engine):
    eng = engine_factory(queue_overrides=FAST_QUEUE)
    ids = [put(eng, "whatsapp", "mark", {"pause_s": random.uniform(0.0, 0.03)}).id for _ in range(300)]
    procs = [spawn_worker(eng, ["whatsapp"]) for _ in range(3)]
    rng = random.Random(7)
    kills = 0
    try:
        while kills < 24:
            time.sleep(rng.uniform(0.05, 0.25))
            victim = rng.randrange(len(procs))
            procs[victim].kill()
            procs[victim].wait()
            kills += 1
            procs[victim] = spawn_worker(eng, ["whatsapp"])

        def settled():
            done = eng.conn.smembers("test:done")
            return all(i.encode() in done or dead_letters.exists(i, engine=eng) for i in ids)

        wait_until(settled, timeout_s=120, interval_s=0.2)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=15)
    done = {d.decode() for d in eng.conn.smembers("test:done")}
    in_dlq = {i for i in ids if dead_letters.exists(i, engine=eng)}
    lost = set(ids) - done - in_dlq
    assert kills >= 20 and lost == set()
    assert eng.conn.zcard(keys.active("whatsapp")) == 0, eng.conn.zrange(keys.active("whatsapp"), 0, -1)
    # every job ended in exactly one place: finished, or dead-lettered (killed on every one of its runs)
    statuses = {i: eng.conn.hget(keys.job(i), "status") for i in ids}
    unexpected = {i: st for i, st in statuses.items() if st != (b"failed" if i in in_dlq else b"finished")}
    assert unexpected == {}


def test_server_restart_with_aof_keeps_every_job_and_workers_reconnect(tmp_path):
    server = start_embedded(tmp_path / "valkey")
    port = server.port
    eng = make_engine(server.connection_url, queue_overrides=FAST_QUEUE)
    ids = [put(eng, "whatsapp", "mark", {"pause_s": 0.01}).id for _ in range(200)]
    proc = spawn_worker(eng, ["whatsapp"])
    try:
        wait_until(lambda: eng.conn.scard("test:done") >= 20, timeout_s=20)
        server.stop()  # graceful: the AOF is flushed
        time.sleep(0.5)
        server = start_embedded(tmp_path / "valkey", port=port)
        assert all(eng.conn.exists(keys.job(i)) for i in ids)  # persisted across the restart
        wait_until(lambda: eng.conn.scard("test:done") == 200, timeout_s=60)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        server.stop()
