"""The batched hot path (engine/batching.py, step_many.lua) against a real server: one call completes
several slots' runs and takes a job for each free slot, with per-job priorities, rate limits and leases."""
import threading
import time

from engine import keys
from engine.batching import Combiner
from engine.enqueue import EnqueueRequest, enqueue
from engine.slots import SlotSpec
from engine.worker import Worker
from tests.engine.support import burst_pool, put


def slots(eng, n, queue):
    return [Worker(eng, [queue], name=f"slot-{i}", maintenance=False, watched=True) for i in range(n)]


def entry(slot, taken, take=True):
    queue, job_id = taken[0].decode(), taken[1].decode()
    k, a = slot.completion(queue, job_id, keys.member(job_id, slot.name), {"ok": True}, 1.0)
    return (slot, k, a, take, threading.Event())


def test_one_call_completes_every_run_and_takes_the_next_jobs_in_priority_order(engine):
    ids = {name: put(engine, "orderExpiry", "ok", priority=p).id
           for name, p in (("n1", "normal"), ("h1", "high"), ("n2", "normal"), ("l1", "low"), ("n3", "normal"))}
    a, b, c = slots(engine, 3, "orderExpiry")
    first = [s._dequeue() for s in (a, b, c)]
    assert [t[1].decode() for t in first] == [ids["h1"], ids["n1"], ids["n2"]]
    engine.conn.zrem(keys.active("orderExpiry"), keys.member(ids["n1"], b.name))  # b's lease was taken over
    replies = Combiner()._step_many(a, [entry(a, first[0]), entry(b, first[1]), entry(c, first[2], take=False)])
    assert [done for done, _ in replies] == [1, 0, 1]
    assert [taken[1].decode() if taken[0] else None for _, taken in replies] == [ids["n3"], ids["l1"], None]
    status = {n: engine.conn.hget(keys.job(i), "status") for n, i in ids.items()}
    assert status == {"h1": b"finished", "n1": b"started", "n2": b"finished", "n3": b"started", "l1": b"started"}
    active = {m.decode() for m in engine.conn.zrange(keys.active("orderExpiry"), 0, -1)}
    assert active == {keys.member(ids["n3"], a.name), keys.member(ids["l1"], b.name)}  # each under its slot's lease
    assert engine.conn.hget(keys.job(ids["l1"]), "worker_name") == b.name.encode()
    assert minute_totals(engine, "orderExpiry", "completed", "started") == [2, 5]  # per job, summed once a call


def minute_totals(eng, queue, *fields):
    prefix = keys.metrics_prefix("m", queue)
    buckets = [eng.conn.hgetall(k) for k in eng.conn.scan_iter(match=f"{prefix}*")]
    return [sum(int(b.get(f.encode(), 0)) for b in buckets) for f in fields]


def test_the_rate_limit_is_counted_per_job_inside_one_call(engine_factory):
    eng = engine_factory(queue_overrides={"orderExpiry": {"rate_limit_per_min": 5}}, rate_window_ms=60_000)
    eng.conn.flushdb()
    for _ in range(10):
        put(eng, "orderExpiry", "ok")
    trio = slots(eng, 3, "orderExpiry")
    first = [s._dequeue() for s in trio]
    replies = Combiner()._step_many(trio[0], [entry(s, t) for s, t in zip(trio, first)])
    taken = [t for _, t in replies]
    assert sum(1 for t in taken if t[0]) == 2 and taken[2][0] == b"" and int(taken[2][2]) == 1  # held by the limit
    assert eng.conn.zcard(keys.rate_log("orderExpiry")) == 5


def test_busy_slots_share_round_trips_and_every_job_completes_once(engine_factory):
    eng = engine_factory(queue_overrides={"orderExpiry": {"rate_limit_per_min": 1_000_000}})
    eng.conn.flushdb()
    ids = [enqueue(eng, EnqueueRequest("orderExpiry", {"fn": "mark"})).id for _ in range(300)]
    pool = burst_pool(eng, [SlotSpec(("orderExpiry",), 8)])
    assert all(eng.conn.hget(keys.job(i), "status") == b"finished" for i in ids)
    assert all(eng.conn.hget("test:runs", i) == b"1" for i in ids)
    [combiner] = pool._combiners.values()
    assert combiner.completed == 300 and combiner.calls < combiner.completed  # several jobs per call


class _HeldCombiner(Combiner):
    """Its calls block until released and answer each slot with its own name: the lanes without a server."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.release = threading.Event()
        self.batches: list[list[str]] = []
        self.in_flight_seen = 0
        self._now = 0
        self._count = threading.Lock()

    def _step_many(self, caller, batch):
        with self._count:
            self.batches.append([slot for slot, *_ in batch])
            self._now += 1
            self.in_flight_seen = max(self.in_flight_seen, self._now)
        self.release.wait(10)
        with self._count:
            self._now -= 1
        return [(1, [slot]) for slot, *_ in batch]


def test_a_second_call_opens_only_once_enough_completions_queue_behind_the_first_and_no_third():
    combiner = _HeldCombiner(lanes=2, second_lane_min=3)
    answers: dict[str, tuple] = {}

    def finish(name):
        answers[name] = combiner.submit(name, [], [], take=True)

    def start(name, batches):
        threading.Thread(target=finish, args=(name,), daemon=True).start()
        for _ in range(1000):  # until the submit is queued or has made its call (bounded: 10 s)
            if len(combiner.batches) >= batches or any(e[0] == name for e in combiner._pending):
                return
            time.sleep(0.01)

    start("s0", 1)  # no call in flight: s0 calls at once, alone
    start("s1", 9)
    start("s2", 9)  # two queued behind the first call: not yet worth a second
    assert combiner.batches == [["s0"]]
    start("s3", 2)  # the third queued opens the second lane, taking all three
    start("s4", 9)  # both lanes busy: s4 waits for the next call
    assert combiner.batches == [["s0"], ["s1", "s2", "s3"]]
    combiner.release.set()
    for _ in range(1000):
        if len(answers) == 5:
            break
        time.sleep(0.01)
    assert answers == {name: (1, [name]) for name in ("s0", "s1", "s2", "s3", "s4")}  # each its own reply
    assert combiner.batches[2] == ["s4"] and combiner.in_flight_seen == 2
