"""Memory of our processes as the kernel shares it out (PSS, /proc/<pid>/smaps_rollup): `python -m engine
workers` idle with all five queues' slots, and the whole `python -m engine run` (what `make run` starts)."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engine import monitoring

from .harness import ROOT, Bench
from .measures import row


def pss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def tree(root: int) -> list[int]:
    """`root` and every descendant (by /proc/<pid>/stat's parent field)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += parents.get(pid, [])
    return out


def tree_pss_mb(root: int) -> tuple[float, int]:
    pids = tree(root)
    total = 0
    for pid in pids:
        try:
            total += pss_kb(pid)
        except OSError:
            pass
    return total / 1024, len(pids)


def _env(b: Bench, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "ENGINE_", "QUEUE_"))}
    return {**env, "REDIS_URL": b.url, "PYTHONPATH": str(ROOT), **extra}


def workers_idle(b: Bench, settle_s: float = 3.0) -> list[dict]:
    b.flush()
    eng = b.engine()
    expected = sum(eng.table[q].concurrency for q in eng.table.names)
    proc = subprocess.Popen([sys.executable, "-m", "engine", "workers"], cwd=ROOT, env=_env(b),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(monitoring.workers(engine=eng)) < expected and time.monotonic() < deadline:
            time.sleep(0.2)
        slots = len(monitoring.workers(engine=eng))
        time.sleep(settle_s)
        mb, n = tree_pss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return [row("`python -m engine workers`, all five queues idle: PSS (MB)", round(mb, 1), None, "MB", "<= 120",
                mb <= 120, note=f"{slots} slots in {n} process(es)")]


def run_whole(b: Bench, settle_s: float = 20.0) -> list[dict]:
    """`python -m engine run` on the bench server (no embedded one), the platform's System: API, dashboard,
    fake Cloud API, outbox relay, scheduler, workers. Uses the fixed ports 8000, 8501 and 8010."""
    b.flush()
    folder = Path(tempfile.mkdtemp(prefix="bench-run-"))
    env = _env(b, DATA_DIR=str(folder), DATABASE_URL=f"sqlite:///{folder / 'domain.sqlite3'}")
    proc = subprocess.Popen([sys.executable, "-m", "engine", "run"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        time.sleep(settle_s)  # seeding, the API and the dashboard up; then idle
        mb, n = tree_pss_mb(proc.pid)
        alive = proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return [row("whole `python -m engine run` (`make run` without the embedded server): PSS (MB)", round(mb, 1), None,
                "MB", "<= 300", alive and mb <= 300, note=f"{n} processes after {settle_s:g} s")]


ALL = [workers_idle, run_whole]
