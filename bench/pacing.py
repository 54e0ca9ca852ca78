"""`python -m bench pacing`: per-recipient pacing under a burst. 50 messages to one retailer, then one to each of
50 others, behind the burst in line; 2 worker processes; the pace slot scaled from 6 s to 0.2 s.

Figures: the worst wait of anyone else's message, in slots (target <= 1); the burst's closest two starts, in
slots (target >= 1: never faster than the pair rate limit); the burst in order with one run each."""
from __future__ import annotations

import time

from engine import keys
from engine.enqueue import EnqueueRequest, enqueue

from .harness import Bench

SLOT_S = 0.2  # 6 s scaled down 30 times
BURST_PHONE = "+9779811111111"


def row(figure, ours, unit="", target="", ok=None, note=""):
    return {"figure": figure, "ours": ours, "rq": None, "unit": unit, "ratio": None, "target": target, "ok": ok,
            "note": note}


def _field(eng, job_id: str, name: str) -> int | None:
    value = eng.conn.hget(keys.job(job_id), name)
    return int(value) if value is not None else None


def pacing(b: Bench, burst: int = 50, others: int = 50) -> list[dict]:
    b.flush()
    eng = b.engine(queue_overrides={"whatsapp": {"key_limit": ["phone", SLOT_S]}})
    procs = [b.our_worker(eng, "whatsapp") for _ in range(2)]
    time.sleep(1.0)  # workers up before the burst arrives
    burst_ids = [enqueue(eng, EnqueueRequest("whatsapp", {"phone": BURST_PHONE, "i": i})).id for i in range(burst)]
    other_ids = [enqueue(eng, EnqueueRequest("whatsapp", {"phone": f"+97798222{i:05d}"})).id for i in range(others)]
    deadline = time.monotonic() + burst * SLOT_S * 3 + 30
    ids = burst_ids + other_ids
    while time.monotonic() < deadline:
        if all(eng.conn.hget(keys.job(i), keys.JobField.STATUS) == b"finished" for i in ids):
            break
        time.sleep(0.1)
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(10)
    waits = []
    for i in other_ids:
        started, ready = _field(eng, i, keys.JobField.STARTED_MS), _field(eng, i, keys.JobField.READY_MS)
        if started is not None and ready is not None:
            waits.append(started - ready)
    starts = [_field(eng, i, keys.JobField.STARTED_MS) for i in burst_ids]
    runs = [_field(eng, i, keys.JobField.RUNS) for i in burst_ids]
    done = None not in starts and len(waits) == others
    worst_other = max(waits) / (SLOT_S * 1000) if waits else None
    gaps = [b_ - a for a, b_ in zip(starts, starts[1:])] if done else []
    closest = min(gaps) / (SLOT_S * 1000) if gaps else None
    in_order = done and starts == sorted(starts) and set(runs) == {1}
    span_s = (starts[-1] - starts[0]) / 1000 if done else None
    return [
        row("pacing: worst wait of another recipient's message", worst_other, "slots", "<= 1 slot",
            worst_other is not None and worst_other <= 1,
            note=f"{others} messages to {others} recipients queued behind a burst of {burst} to one; "
                 f"slot {SLOT_S:g} s (6 s scaled 1/30), 2 worker processes"),
        row("pacing: closest two starts to the burst's recipient", closest, "slots", ">= 1 slot",
            closest is not None and closest >= 0.99,
            note=f"burst spread over {span_s} s, in order with one run each: {in_order}"),
    ]


ALL = [pacing]
