"""A dequeue the server ran but whose reply was lost (a network cut, a dropped connection): the worker
runs the job it was leased as soon as it can reach the server again, instead of leaving it to wait out
the lease and lose an attempt to the reaper. A completion whose reply was lost stays the reaper's."""
from __future__ import annotations

import redis

from engine import job_ops, keys
from engine.worker import Worker
from tests.engine.support import put

LEASE_MS = 5_000  # longer than the worker's 1 s pause after a failed call (the tests' usual lease is 1 s)


class LoseReplies:
    """Wraps the worker's DirectCaller: the chosen calls reach the server and run, then 'lose' their reply."""

    def __init__(self, direct, lose: set[int]):
        self.direct, self.lose, self.calls = direct, lose, 0

    def __call__(self, script, keys_, args):
        self.calls += 1
        out = self.direct(script, keys_, args)
        if self.calls in self.lose:
            raise redis.ConnectionError("reply lost (test)")
        return out

    def __getattr__(self, name):
        return getattr(self.direct, name)


def test_a_job_leased_by_a_lost_dequeue_reply_is_run_at_once_by_its_worker(engine, engine_factory):
    eng = engine_factory(lease_ms=LEASE_MS)
    job = put(eng, "whatsapp", "ok", {"x": 1})
    w = Worker(eng, ["whatsapp"], burst=True, name="lost-reply-w")
    w._direct = LoseReplies(w._direct, lose={1})
    w.run()  # the first dequeue leases the job and raises; the worker sleeps 1 s, then takes it up

    info = job_ops.get_job("whatsapp", job.id)
    assert info["state"] == "finished" and info["runs"] == 1 and info["errors"] == []
    assert engine.conn.zcard(keys.active("whatsapp")) == 0
    assert w.processed == 1


def test_a_lost_completion_reply_is_left_to_the_reaper_and_the_next_job_is_taken_up(engine, engine_factory):
    eng = engine_factory(lease_ms=LEASE_MS)
    first = put(eng, "whatsapp", "ok", {"n": 1})
    second = put(eng, "whatsapp", "ok", {"n": 2})
    w = Worker(eng, ["whatsapp"], burst=True, name="lost-step-w")
    # call 1 dequeues `first`; call 2 completes it and takes `second` in one step, whose reply is lost
    w._direct = LoseReplies(w._direct, lose={2})
    w.run()

    assert job_ops.get_job("whatsapp", first.id)["state"] == "finished"  # the step did complete it
    info = job_ops.get_job("whatsapp", second.id)
    assert info["state"] == "finished" and info["runs"] == 1 and info["errors"] == []


def test_an_unfinished_run_whose_completion_never_arrived_is_not_run_again_by_its_worker(engine, engine_factory):
    eng = engine_factory(lease_ms=LEASE_MS)
    job = put(eng, "whatsapp", "ok", {"n": 3})
    w = Worker(eng, ["whatsapp"], burst=True, name="lost-complete-w")

    class DropCompletion(LoseReplies):
        def __call__(self, script, keys_, args):
            self.calls += 1
            if self.calls == 2:  # the completion never reaches the server
                raise redis.ConnectionError("connection lost before sending (test)")
            return self.direct(script, keys_, args)

    w._direct = DropCompletion(w._direct, lose=set())
    w.run()

    # its lease is still held: the reaper (after the lease) decides, the worker does not run it twice
    assert engine.conn.zscore(keys.active("whatsapp"), keys.member(job.id, "lost-complete-w")) is not None
    assert job_ops.get_job("whatsapp", job.id)["runs"] == 1
    assert w.processed == 1

