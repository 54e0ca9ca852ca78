"""The worker-hosts scenario's processor: an idempotent domain side effect in a shared SQLite store.

The store stands for the business database every host reaches (here a file all namespaces share;
only the queue server's links are cut). Every invocation appends a row to `runs` (job, run number,
host, time); the side effect itself is `INSERT OR IGNORE INTO effects`, keyed by job id, so however
often a job is delivered (at least once), its effect exists once.
"""
from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from engine import jobctx

ENV_DB = "HOSTS_EFFECTS_DB"
ENV_HOST = "HOSTS_HOST"

SCHEMA = """
CREATE TABLE IF NOT EXISTS effects (job_id TEXT PRIMARY KEY, host TEXT NOT NULL, run INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (job_id TEXT NOT NULL, run INTEGER NOT NULL, host TEXT NOT NULL,
                                 at_ms INTEGER NOT NULL);
"""


def connect(path: Path | str) -> sqlite3.Connection:
    """The store, in WAL mode, waiting up to 10 s for another host's write."""
    conn = sqlite3.connect(str(path), timeout=10, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(SCHEMA)
    return conn


_conn: sqlite3.Connection | None = None


def effect(pause_ms: int = 0, slow_on: str | None = None, slow_ms: int = 0, **_data: Any) -> dict[str, Any]:
    """Work for `pause_ms` (`slow_ms` on host `slow_on`: the scenario's way to land a cut mid-job), then
    record the run and the job's side effect (once per job id)."""
    global _conn
    ctx = jobctx.current()
    if ctx is None:
        raise RuntimeError("bench.hosts_jobs.effect runs only inside a worker")
    host = os.environ.get(ENV_HOST, "?")
    pause_ms = slow_ms if slow_on == host else pause_ms
    if pause_ms:
        time.sleep(pause_ms / 1000)
    if _conn is None:
        _conn = connect(os.environ[ENV_DB])
    with _conn:
        _conn.execute("BEGIN IMMEDIATE")
        _conn.execute("INSERT INTO runs VALUES (?, ?, ?, ?)", (ctx.job_id, ctx.run, host, int(time.time() * 1000)))
        _conn.execute("INSERT OR IGNORE INTO effects VALUES (?, ?, ?)", (ctx.job_id, host, ctx.run))
    return {"job": ctx.job_id, "host": host, "run": ctx.run}
