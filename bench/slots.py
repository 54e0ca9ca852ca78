"""`python -m bench drain_vs_bullmq`: slots in one process against BullMQ (bench/bullmq.py), same server,
same run: steady-state drain rates (bench/rates.py) at concurrency 1 and 50."""
from __future__ import annotations

from . import bullmq
from .harness import Bench, wait_procs
from .measures import fill_ours, row
from .rates import steady_rate


ASYNC = {"whatsapp": {"func": "bench.jobs.arun"}}  # an `async def` processor: its slots are tasks of one loop


def _ours(b: Bench, n: int, concurrency: int, tasks: bool = False) -> float:
    b.flush()
    eng = b.engine(queue_overrides=ASYNC if tasks else {})
    fill_ours(eng, n)
    wait_procs([b.our_worker(eng, "whatsapp", "--concurrency", str(concurrency), "--burst")])
    return steady_rate(b.url, n)


def _theirs(b: Bench, n: int, concurrency: int) -> float | str:
    b.flush()
    try:
        return bullmq.drain(b.url, n, concurrency)
    except bullmq.Skipped as exc:
        return str(exc)


def drain_vs_bullmq(b: Bench, n: int = 20_000, rounds: int = 3) -> list[dict]:
    """Alternating rounds (the machine is shared), best of each: conc 1 and conc 50, one process each; our
    slots as threads (a sync processor) and as tasks (an async one, as BullMQ's is)."""
    rows = []
    for concurrency, factor in ((1, 1.2), (50, 1.0)):
        threads, tasks, theirs, skipped = [], [], [], ""
        for _ in range(rounds):
            threads.append(_ours(b, n, concurrency))
            tasks.append(_ours(b, n, concurrency, tasks=True))
            got = _theirs(b, n, concurrency)
            if isinstance(got, str):
                skipped = got
            else:
                theirs.append(got)
        rival = max(theirs) if theirs else None
        for kind, ours in (("thread slots, sync processor", threads), ("async slots, async processor", tasks)):
            best = max(ours)
            figure = f"drain {n:,} no-op jobs, one process, concurrency {concurrency}, {kind} (steady jobs/s) vs BullMQ"
            rows.append(row(figure, best, rival, "jobs/s", f">= {factor:g}x BullMQ conc {concurrency}",
                            None if rival is None else best >= factor * rival, note=skipped or
                            f"ours {', '.join(f'{r:,.0f}' for r in ours)}; "
                            f"BullMQ {', '.join(f'{r:,.0f}' for r in theirs)}"))
    return rows


ALL = [drain_vs_bullmq]
