"""`python -m bench search`: the support desk's key search with 1,000,000 kept jobs and 100,000 dead letters.

Jobs are written through the engine's own enqueue step (pipelined), so the index is exactly what production
writes; dead letters go through the failure ladder's fail step (fail_step + fail.lua), pipelined. Then random
key searches (order, phone, retailer, wholesaler, account) give the latency percentiles, and the index's memory
is measured twice: MEMORY USAGE summed over every index key, and used_memory before/after deleting the index.
"""
from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from engine import keys, search_index
from engine.enqueue import EnqueueRequest, enqueue_many
from engine.errors import PermanentError
from engine.failures import fail_step
from engine.jobs import RunningJob
from engine.search import SearchFilter, search

from .harness import Bench, pct

BATCH = 2_000
SHARES = {"order": 0.6, "phone": 0.2, "retailer": 0.1, "wholesaler": 0.05, "account": 0.05}


class World:
    """Key spaces sized like a large deployment: ~4 jobs per order, ~35 per phone, ~70 per retailer."""

    def __init__(self, jobs: int, rng: random.Random):
        self.rng = rng
        self.orders = max(10, jobs // 4)
        self.retailers = max(5, jobs // 100)
        self.wholesalers = max(3, jobs // 1000)
        self.accounts = self.retailers
        self.phones = [f"+97798{n:08d}" for n in rng.sample(range(10 ** 8), max(5, jobs // 30))]

    def data(self, queue: str) -> dict:
        r = self.rng
        order = str(r.randrange(self.orders))
        if queue == "whatsapp":
            return {"phone": r.choice(self.phones), "message": f"Order #{order} is confirmed. Thank you!",
                    "order_id": order, "retailer_id": str(r.randrange(self.retailers))}
        if queue == "orderExpiry":
            return {"order_id": order, "expires_at": "2099-01-01T00:00:00+00:00"}
        if queue == "vendorFallback":
            return {"order_id": order, "failed_wholesaler_id": str(r.randrange(self.wholesalers))}
        return {"account_id": str(r.randrange(self.accounts))}

    def term(self) -> dict:
        kind = self.rng.choices(list(SHARES), weights=list(SHARES.values()))[0]
        value = {"order": lambda: str(self.rng.randrange(self.orders)), "phone": lambda: self.rng.choice(self.phones),
                 "retailer": lambda: str(self.rng.randrange(self.retailers)),
                 "wholesaler": lambda: str(self.rng.randrange(self.wholesalers)),
                 "account": lambda: str(self.rng.randrange(self.accounts))}[kind]()
        param = {"order": "order_id", "phone": "phone", "retailer": "retailer_id", "wholesaler": "wholesaler_id",
                 "account": "account_id"}[kind]
        return {param: value}


def _requests(world: World, n: int) -> list[EnqueueRequest]:
    out = []
    due = datetime(2099, 1, 1, tzinfo=timezone.utc)
    for _ in range(n):
        queue = world.rng.choices(["whatsapp", "orderExpiry", "vendorFallback", "creditReconciliation"],
                                  weights=[6, 2, 1, 1])[0]
        out.append(EnqueueRequest(queue, world.data(queue), run_at=due if queue == "orderExpiry" else None))
    return out


def write_jobs(eng, world: World, n: int) -> None:
    for start in range(0, n, BATCH):
        enqueue_many(eng, _requests(world, min(BATCH, n - start)))


def write_dead_letters(eng, world: World, n: int) -> None:
    """Enqueue on whatsapp, take each out of line into the active set, and fail it permanently."""
    waiting = keys.waiting("whatsapp", "normal")
    for start in range(0, n, BATCH):
        count = min(BATCH, n - start)
        jobs = enqueue_many(eng, [EnqueueRequest("whatsapp", world.data("whatsapp")) for _ in range(count)])
        eng.conn.ltrim(waiting, 0, -count - 1)  # they were pushed last: out of line, as a dequeue would
        pipe = eng.conn.pipeline(transaction=False)
        for job in jobs:
            member = f"{job.id}|bench"
            pipe.zadd(keys.active("whatsapp"), {member: time.time() * 1000 + 60_000})
            pipe.hset(keys.job(job.id), mapping={"status": "started", "jq_runs": 1})
            exc = PermanentError(f"WhatsApp refused the message (code 131026): {job.kwargs['phone']} is not a "
                                 "WhatsApp user")
            running = RunningJob(job.id, "whatsapp", job.func_name, [], job.kwargs,
                                 {"jq_runs": "1", "jq_priority": "normal", "enqueued_at": ""}, eng.conn)
            _action, _err, script_keys, args = fail_step(eng, "whatsapp", running, member, exc, running.fields, "bench")
            eng.scripts.fail(keys=script_keys, args=args, client=pipe)
        pipe.execute()


def index_memory_sampled(eng) -> tuple[int, int, int]:
    """(index keys, entries, bytes by MEMORY USAGE summed over every index key)."""
    n_keys = entries = used = 0
    cursor = 0
    while True:
        cursor, found = eng.conn.scan(cursor, match=f"{keys.INDEX_PREFIX}*", count=5000)
        pipe = eng.conn.pipeline(transaction=False)
        for k in found:
            pipe.memory_usage(k, samples=0)
            pipe.zcard(k)
        out = pipe.execute()
        n_keys += len(found)
        used += sum(out[0::2])
        entries += sum(out[1::2])
        if cursor == 0:
            return n_keys, entries, used


def delete_index(eng) -> None:
    cursor = 0
    while True:
        cursor, found = eng.conn.scan(cursor, match=f"{keys.INDEX_PREFIX}*", count=5000)
        if found:
            eng.conn.delete(*found)
        if cursor == 0:
            return


def run(jobs: int, dead: int, searches: int, seed: int = 7) -> dict:
    bench = Bench()
    try:
        eng = bench.engine()
        world = World(jobs + dead, random.Random(seed))
        base = bench.used_memory()
        t0 = time.perf_counter()
        write_dead_letters(eng, world, dead)
        write_jobs(eng, world, jobs)
        load_s = time.perf_counter() - t0
        loaded = bench.used_memory()
        latencies, found = [], []
        for _ in range(searches):
            flt = SearchFilter(**world.term())
            started = time.perf_counter()
            page = search(flt, limit=50, engine=eng)
            latencies.append((time.perf_counter() - started) * 1000)
            found.append(len(page["items"]))
        started = time.perf_counter()
        words = search(SearchFilter(q="not a WhatsApp user"), limit=50, engine=eng)
        words_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        search_index.trim(eng)
        trim_ms = (time.perf_counter() - started) * 1000
        n_keys, entries, sampled = index_memory_sampled(eng)
        delete_index(eng)
        time.sleep(1.0)
        without = bench.used_memory()
        index_bytes, jobs_bytes = loaded - without, without - base
        return {
            "date": datetime.now(timezone.utc).isoformat(timespec="minutes"),
            "machine": f"{platform.node()}, {platform.machine()}, Python {platform.python_version()}",
            "jobs": jobs, "dead_letters": dead, "load_s": round(load_s, 1), "searches": searches,
            "search_ms": {"p50": round(pct(latencies, 50), 2), "p95": round(pct(latencies, 95), 2),
                          "p99": round(pct(latencies, 99), 2), "max": round(max(latencies), 2)},
            "items_per_search_avg": round(sum(found) / len(found), 1),
            "error_words_first_page_ms": round(words_ms, 1), "error_words_hits": len(words["items"]),
            "trim_pass_ms": round(trim_ms, 1),
            "index": {"keys": n_keys, "entries": entries, "bytes_memory_usage": sampled,
                      "bytes_used_memory_delta": index_bytes},
            "jobs_bytes": jobs_bytes,
            "index_share_of_jobs": round(index_bytes / jobs_bytes, 4) if jobs_bytes else None,
            "index_share_sampled": round(sampled / jobs_bytes, 4) if jobs_bytes else None,
            "targets": {"p95_ms": 50, "share": 0.15},
        }
    finally:
        bench.stop()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench search", description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=1_000_000)
    p.add_argument("--dead-letters", type=int, default=100_000)
    p.add_argument("--searches", type=int, default=2_000)
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "search.json")
    a = p.parse_args(argv)
    if a.jobs < 1 or a.dead_letters < 1 or a.searches < 1:
        print("error: --jobs, --dead-letters and --searches must be >= 1", file=sys.stderr)
        return 2
    result = run(a.jobs, a.dead_letters, a.searches)
    a.out.parent.mkdir(exist_ok=True)
    a.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    met = result["search_ms"]["p95"] <= 50 and (result["index_share_of_jobs"] or 0) <= 0.15
    return 0 if met else 1
