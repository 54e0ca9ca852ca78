"""The soak's business side: rows committed to a SQLite job outbox while the relay is SIGKILLed.

A thread commits `rows` outbox rows (one transaction each) over the producing phase; the relay
process (processors/outbox_relay.py) hands them to the queue. The tally checks that every
committed row reached the queue exactly once and was marked sent.
"""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import redis
from sqlalchemy import func, select

from domain import job_outbox
from domain.clock import utcnow
from domain.db import session_scope
from domain.models import OutboxJob
from engine import keys

OUTBOX_QUEUE = "creditReconciliation"  # no soak worker takes it: the relayed jobs stay there to be counted
PREFIX = "soak-outbox-"


def database_url(work_dir: Path) -> str:
    return f"sqlite:///{work_dir / 'domain.sqlite3'}"


def relay_argv() -> list[str]:
    return [sys.executable, "-m", "processors.outbox_relay"]


class OutboxProducer(threading.Thread):
    """Commits the rows at an even pace; each commit is the business change and its job request at once."""

    def __init__(self, url: str, rows: int, spread_s: float):
        super().__init__(daemon=True, name="soak-outbox")
        self.url, self.rows, self.spread_s = url, rows, spread_s
        self.committed = 0
        self.error: str | None = None

    def run(self) -> None:
        start = time.monotonic()
        try:
            for i in range(self.rows):
                due = start + self.spread_s * i / max(1, self.rows)
                while time.monotonic() < due:
                    time.sleep(min(0.05, due - time.monotonic()))
                with session_scope(self.url) as session:
                    job_outbox.add(session, OUTBOX_QUEUE, {"account_id": str(i + 1)}, f"{PREFIX}{i:05d}", utcnow())
                self.committed += 1
        except Exception as exc:  # noqa: BLE001 - reported, never silently dropped
            self.error = f"{type(exc).__name__}: {exc}"


def unsent(url: str) -> int:
    with session_scope(url, readonly=True) as session:
        return int(session.scalar(select(func.count()).where(OutboxJob.sent_at.is_(None))))


def tally(conn: redis.Redis, url: str) -> dict[str, int]:
    """Committed rows, rows whose job never reached the queue (lost), jobs enqueued twice, rows left unsent."""
    with session_scope(url, readonly=True) as session:
        ids = list(session.scalars(select(OutboxJob.job_id).where(OutboxJob.job_id.like(f"{PREFIX}%"))))
        left = int(session.scalar(select(func.count()).where(OutboxJob.sent_at.is_(None))))
    queued = [m.decode() for p in keys.PRIORITIES for m in conn.lrange(keys.waiting(OUTBOX_QUEUE, p), 0, -1)]
    present = set(queued)
    return {"outbox_rows_committed": len(ids), "outbox_rows_lost": sum(1 for i in ids if i not in present),
            "outbox_jobs_enqueued_twice": len(queued) - len(present), "outbox_rows_unsent": left}
