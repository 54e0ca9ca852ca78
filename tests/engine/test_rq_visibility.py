"""RQ's own tools see our jobs and workers: started_at / ended_at / description on the job hash (read
back by rq.job.Job), and our workers in RQ's worker registry, listed by `rq info`."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.utils import utcformat
from rq.worker import Worker as RQWorker

from engine import control, dead_letters, keys
from engine.clock import ms_to_rq, server_ms
from engine.worker import Worker
from tests.engine.support import put, spawn_worker, thread_workers, wait_until

RQ_CLI = Path(sys.executable).with_name("rq")


def rq_info(redis_url: str) -> str:
    done = subprocess.run([str(RQ_CLI), "info", "--url", redis_url], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def fetch(engine, job_id: str) -> Job:
    return Job.fetch(job_id, connection=engine.conn, serializer=JSONSerializer)


def test_lua_rq_time_matches_rq_utcformat(engine):
    script = engine.conn.register_script(
        (Path(keys.__file__).parent / "lua" / "prelude.lua").read_text().replace("__HIST_BASE__", "2")
        .replace("__KEEP_MINUTES_S__", "60") + "\nlocal out = {}\nfor _, ms in ipairs(ARGV) do "
        "out[#out + 1] = rq_utc(tonumber(ms)) end\nreturn out")
    start = datetime(1999, 12, 31, 23, 59, 59, 999000, tzinfo=timezone.utc)
    moments = [start + timedelta(days=d * 37, milliseconds=d * 7919) for d in range(400)]  # 1999-2040, leap days
    moments += [datetime(2024, 2, 29, 12, tzinfo=timezone.utc), datetime(2100, 3, 1, tzinfo=timezone.utc),
                datetime(1970, 1, 1, tzinfo=timezone.utc)]
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    ms = [(m - epoch) // timedelta(milliseconds=1) for m in moments]
    assert [t.decode() for t in script(args=ms)] == [utcformat(m) for m in moments]
    assert [ms_to_rq(v) for v in ms] == [utcformat(m) for m in moments]


def test_finished_job_has_rq_started_at_ended_at_and_call_string(engine):
    before = server_ms(engine.conn)
    job = put(engine, "whatsapp", "ok", {"phone": "+9779800000000", "message": "hi"})
    Worker(engine, ["whatsapp"], burst=True).run()
    rq_job = fetch(engine, job.id)
    assert rq_job.description == "tests.engine.jobfuncs.dispatch(fn='ok', message='hi', phone='+9779800000000')"
    assert rq_job.description == rq_job.get_call_string()
    assert rq_job.started_at is not None and rq_job.ended_at is not None
    start_ms = int(rq_job.started_at.timestamp() * 1000)
    assert before - 1000 <= start_ms <= int(rq_job.ended_at.timestamp() * 1000) <= server_ms(engine.conn)
    assert start_ms == int(engine.conn.hget(keys.job(job.id), keys.JobField.STARTED_MS))


def test_small_payloads_are_stored_plain_large_ones_compressed_and_rq_reads_both(engine):
    from engine.enqueue import PLAIN_PAYLOAD_MAX_BYTES
    small = put(engine, "whatsapp", "ok", {"phone": "+9779800000000", "message": "hi"})
    large = put(engine, "whatsapp", "ok", {"phone": "+9779800000001", "message": "x" * PLAIN_PAYLOAD_MAX_BYTES})
    stored = [engine.conn.hget(keys.job(j.id), keys.JobField.DATA) for j in (small, large)]
    assert stored[0].startswith(b"[") and not stored[1].startswith(b"[")  # zlib's header is 0x78
    assert len(stored[1]) < PLAIN_PAYLOAD_MAX_BYTES
    assert fetch(engine, small.id).kwargs["message"] == "hi"
    assert fetch(engine, large.id).kwargs["message"] == "x" * PLAIN_PAYLOAD_MAX_BYTES
    Worker(engine, ["whatsapp"], burst=True).run()  # the worker decodes both
    assert {fetch(engine, j.id).get_status() for j in (small, large)} == {"finished"}


def test_dead_lettered_job_has_rq_ended_at(engine):
    job = put(engine, "whatsapp", "permanent", {"x": 1})
    Worker(engine, ["whatsapp"], burst=True).run()
    assert dead_letters.exists(job.id, engine=engine)
    rq_job = fetch(engine, job.id)
    assert rq_job.started_at is not None and rq_job.ended_at >= rq_job.started_at


def test_workers_are_in_rqs_registry_with_their_queues_and_leave_it_on_stop(engine, redis_url):
    with thread_workers(engine, ["whatsapp", "orderExpiry"]) as (w,):
        wait_until(lambda: engine.conn.exists(keys.worker(w.name)))
        (found,) = RQWorker.all(connection=engine.conn)
        assert found.name == w.name and found.queue_names() == ["whatsapp", "orderExpiry"]
        assert found.get_state() == "idle" and found.pid and found.birth_date and found.last_heartbeat
        for rq_queue in ("whatsapp", "whatsapp:high", "orderExpiry:low"):
            assert [x.name for x in RQWorker.all(queue=Queue(rq_queue, connection=engine.conn))] == [w.name]
        assert RQWorker.all(queue=Queue("vendorFallback", connection=engine.conn)) == []
        out = rq_info(redis_url)
        assert f"{w.name} (" in out and "whatsapp, orderExpiry" in out and "1 workers" in out
    assert RQWorker.all(connection=engine.conn) == []
    assert "0 workers" in rq_info(redis_url)
    assert not any(engine.conn.scard(k) for k in [keys.RQ_WORKERS, keys.rq_workers("whatsapp")])


def test_busy_worker_shows_busy_in_rq_and_a_killed_one_expires(engine, redis_url):
    job = put(engine, "whatsapp", "sleep", {"seconds": 30})
    proc = spawn_worker(engine, ["whatsapp"])
    try:
        wait_until(lambda: engine.conn.hget(keys.job(job.id), keys.JobField.STATUS) == b"started", timeout_s=20)
        busy = wait_until(lambda: [x for x in RQWorker.all(connection=engine.conn) if x.get_state() == "busy"])
        assert "busy" in rq_info(redis_url)
        proc.kill()
        proc.wait(timeout=10)
        # lease_ms is 1 s in tests: the hash outlives the last heartbeat by three leases at most (TTL >= 2 s)
        wait_until(lambda: RQWorker.all(connection=engine.conn) == [], timeout_s=10, interval_s=0.2)
        assert busy[0].name not in rq_info(redis_url)
        # the next worker on the queue drops the dead one's key from RQ's per-queue sets
        control.pause("whatsapp", engine=engine)  # (and leaves the 30 s job alone)
        with thread_workers(engine, ["whatsapp"]) as (w,):
            wait_until(lambda: engine.conn.exists(keys.worker(w.name)))
            for rq_queue in keys.rq_queue_names("whatsapp"):
                assert engine.conn.smembers(keys.rq_workers(rq_queue)) == {keys.worker(w.name).encode()}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
