"""Job log lines are batched across slots (engine/joblog.py): every line stored, in order, before the run's
outcome; a slot logging never waits for a write; a server error drops lines only."""
from __future__ import annotations

import json
import threading

from engine import keys
from engine.errors import ServerUnavailableError
from engine.joblog import LOG_LINGER_S, LogWriter
from engine.worker import Worker
from tests.engine.support import put, wait_until


class HeldPipelines:
    """The real connection, whose first pipeline waits for `release` before it executes; counts executions."""

    def __init__(self, conn, *, fail: bool = False):
        self.conn, self.fail = conn, fail
        self.in_flight, self.release = threading.Event(), threading.Event()
        self.executed = 0

    def pipeline(self, **kw):
        pipe, outer = self.conn.pipeline(**kw), self
        real_execute = pipe.execute

        def execute():
            outer.executed += 1
            if outer.executed == 1:
                outer.in_flight.set()
                assert outer.release.wait(5)
            if outer.fail:
                raise ServerUnavailableError("connection reset")
            return real_execute()
        pipe.execute = execute
        return pipe


def stored(conn, job_id: str) -> list[str]:
    return [line.decode() for line in conn.lrange(keys.job_log(job_id), 0, -1)]


def test_slots_logging_during_a_write_in_flight_return_at_once_and_share_the_next_write(engine):
    held = HeldPipelines(engine.conn)
    writer = LogWriter(held)
    first = threading.Thread(target=writer.append, args=("job-0", ["a0"]))
    first.start()
    assert held.in_flight.wait(5)
    for i in range(1, 30):  # each returns while job-0's write is held: none waits for a round trip
        writer.append(f"job-{i}", [f"a{i}", f"b{i}"])
        writer.append(f"job-{i}", [f"c{i}"])
    assert held.executed == 1
    held.release.set()
    first.join(5)
    for i in range(30):
        writer.settle(f"job-{i}")
    assert held.executed == 2  # the 58 batches queued meanwhile went in one pipeline
    assert stored(engine.conn, "job-0") == ["a0"]
    assert all(stored(engine.conn, f"job-{i}") == [f"a{i}", f"b{i}", f"c{i}"] for i in range(1, 30))


def test_a_running_job_s_lines_reach_the_server_within_the_linger_without_a_settle(engine):
    writer = LogWriter(engine.conn)
    writer.append("job-live", ["sending"])
    assert stored(engine.conn, "job-live") == []  # queued: the slot did not wait for a round trip
    wait_until(lambda: stored(engine.conn, "job-live") == ["sending"], timeout_s=LOG_LINGER_S * 20)


def test_settle_waits_for_lines_in_flight_in_another_slots_write(engine):
    held = HeldPipelines(engine.conn)
    writer = LogWriter(held)
    threading.Thread(target=writer.append, args=("job-x", ["line"]), daemon=True).start()
    assert held.in_flight.wait(5)
    settled = threading.Event()
    threading.Thread(target=lambda: (writer.settle("job-x"), settled.set()), daemon=True).start()
    assert not settled.wait(0.2)
    held.release.set()
    assert settled.wait(5) and stored(engine.conn, "job-x") == ["line"]


def test_a_server_error_drops_the_lines_without_failing_or_blocking_the_slots(engine):
    held = HeldPipelines(engine.conn, fail=True)
    held.release.set()
    writer = LogWriter(held)
    writer.append("job-e", ["lost"])  # no exception
    writer.settle("job-e")
    assert stored(engine.conn, "job-e") == []
    held.fail = False
    writer.append("job-e", ["kept"])
    writer.settle("job-e")
    assert stored(engine.conn, "job-e") == ["kept"]


def test_a_finished_runs_log_is_stored_before_its_outcome_and_kept_with_the_job(engine):
    job = put(engine, "whatsapp", "progress")
    Worker(engine, ["whatsapp"], burst=True).run()
    lines = [json.loads(line)["msg"] for line in stored(engine.conn, job.id)]
    assert lines == ["half way"]
    keep_s = engine.table["whatsapp"].keep_completed_s
    assert 0 < engine.conn.ttl(keys.job_log(job.id)) <= keep_s  # complete.lua's TTL, set after the lines


def _lists_ttl(conn, job_id: str) -> tuple[int, int]:
    return conn.ttl(keys.attempts(job_id)), conn.ttl(keys.job_log(job_id))


def test_a_completed_job_s_attempts_and_log_get_its_retention_and_a_plain_job_leaves_no_lists(engine, tmp_path):
    """complete.lua expires the attempts and log lists only when they may exist (two calls fewer a plain job);
    wherever they exist they must still get the job's retention TTL, not live forever."""
    from engine import dead_letters

    plain, logged, retried = (put(engine, "whatsapp", fn) for fn in ("ok", "progress", "fail_first_run"))
    runs = tmp_path / "runs"
    dead = put(engine, "whatsapp", "fail_then_ok", {"path": str(runs), "fail_times": 100})
    drain = lambda: Worker(engine, ["whatsapp"], burst=True).run() >= 0 and \
        engine.conn.hget(keys.job(retried.id), "status") == b"finished" and \
        engine.conn.hget(keys.job(dead.id), "status") == b"failed"  # retries wait out their (scaled) delays
    wait_until(drain, 10)
    assert not engine.conn.exists(keys.attempts(plain.id), keys.job_log(plain.id))
    assert engine.conn.ttl(keys.job(plain.id)) > 0
    assert _lists_ttl(engine.conn, logged.id)[1] > 0  # logged in its first (and only) run
    assert _lists_ttl(engine.conn, retried.id)[0] > 0  # its failed first run left an attempt
    # a dead letter retried by an operator starts again at run 1; its attempts list is still given the TTL
    assert engine.conn.ttl(keys.attempts(dead.id)) == -1
    runs.write_text("x\n" * 100)  # the next run succeeds
    assert dead_letters.retry(dead.id, engine=engine)
    Worker(engine, ["whatsapp"], burst=True).run()
    assert engine.conn.hget(keys.job(dead.id), "status") == b"finished"
    assert _lists_ttl(engine.conn, dead.id)[0] > 0

