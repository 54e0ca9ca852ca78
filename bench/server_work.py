"""`python -m bench server_work`: what one drained no-op job costs the server, ours against BullMQ on the same
server in the same run: commands per job (every call, those inside Lua scripts too, from INFO commandstats)
and the server's CPU per job (INFO cpu), around the drain only (the enqueue is left out), and the worker process's
own CPU per job (ours: its whole life less an empty burst's, i.e. without start-up and exit; BullMQ's: from its
pause to its result). Lower is better. These
move far less with this shared VM's speed than the drain rates do, so they tell whether a change to the Lua
steps helped."""
from __future__ import annotations

import json
import subprocess

import redis

from . import bullmq
from .harness import Bench, children_cpu_s, cpu_s, wait_procs
from .measures import fill_ours, row


def counters(conn: redis.Redis) -> tuple[int, float]:
    """(calls of every command so far, the server's CPU seconds so far: user + system, all its threads)."""
    calls = sum(int(stat["calls"]) for stat in conn.info("commandstats").values())
    cpu = conn.info("cpu")
    return calls, float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def per_job(before: tuple[int, float], after: tuple[int, float], n: int, client_cpu_s: float) -> tuple[float, ...]:
    """(commands, server CPU us, client CPU us) per job, between two counter readings."""
    return (after[0] - before[0]) / n, (after[1] - before[1]) * 1e6 / n, client_cpu_s * 1e6 / n


def ours(b: Bench, n: int, concurrency: int) -> tuple[float, ...]:
    b.flush()
    eng = b.engine()
    worker = ("whatsapp", "--concurrency", str(concurrency), "--burst")
    cpu0 = children_cpu_s()
    wait_procs([b.our_worker(eng, *worker)])  # an empty burst: the start-up and exit, taken off below
    start_up_s = children_cpu_s() - cpu0
    fill_ours(eng, n)
    conn = redis.Redis.from_url(b.url)
    before, cpu0 = counters(conn), children_cpu_s()
    wait_procs([b.our_worker(eng, *worker)])
    return per_job(before, counters(conn), n, max(0.0, children_cpu_s() - cpu0 - start_up_s))


def theirs(b: Bench, n: int, concurrency: int) -> tuple[float, ...]:
    """BullMQ's drain.mjs paused between its enqueue and its Worker; bullmq.Skipped without node."""
    bullmq.ensure_installed()
    b.flush()
    conn = redis.Redis.from_url(b.url)
    node = subprocess.Popen(["node", "drain.mjs", b.url, "bullbench", str(n), str(concurrency), "0", "pause"],
                            cwd=bullmq.HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        filled = node.stdout.readline()
        if not filled.strip() or json.loads(filled).get("filled") != n:
            raise RuntimeError(f"bullmq drain did not fill its {n} jobs: {filled!r}")
        before, cpu0 = counters(conn), cpu_s(node.pid)
        node.stdin.write("go\n")
        node.stdin.flush()
        node.stdout.readline()  # its result line: the drain is over
        after, cpu = counters(conn), cpu_s(node.pid) - cpu0
        if node.wait(timeout=60) != 0:
            raise RuntimeError(f"bullmq drain exited {node.returncode}")
    finally:
        if node.poll() is None:
            node.kill()
    return per_job(before, after, n, cpu)


def server_work(b: Bench, sizes: tuple[tuple[int, int], ...] = ((1, 5000), (50, 20000)),
                with_bullmq: bool = True) -> list[dict]:
    rows = []
    for concurrency, n in sizes:
        calls, cpu_us, client_us = ours(b, n, concurrency)
        peer, skipped = None, ""
        if with_bullmq:
            try:
                peer = theirs(b, n, concurrency)
            except bullmq.Skipped as exc:
                skipped = str(exc)
        what = f"drain {n:,} no-op jobs, one process, concurrency {concurrency}"
        rows.append(row(f"server commands per job, {what} vs BullMQ (lower is better)", calls,
                        peer and peer[0], "commands", note=skipped))
        rows.append(row(f"server CPU per job, {what} vs BullMQ (lower is better)", cpu_us,
                        peer and peer[1], "us", note=skipped))
        rows.append(row(f"worker process CPU per job, {what} vs BullMQ (lower is better)", client_us,
                        peer and peer[2], "us", note=skipped))
    return rows


ALL = [server_work]
