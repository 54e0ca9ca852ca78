"""The transactional outbox: a domain change that must produce a job writes its row in the same
transaction, so the job is asked for exactly when the change commits.

A relay (processors/outbox_relay.py) enqueues each unsent row with job_id = the row's job_id and
then marks it sent. A crash between commit and enqueue leaves the row unsent (relayed later); a
crash between enqueue and mark-sent makes the relay enqueue it again, which the queue's job-id
dedupe turns into a no-op. Pure SQLAlchemy: domain/ knows nothing of the queue engine.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .clock import as_utc
from .models import OutboxJob
from .notices import Notice

WHATSAPP_QUEUE = "whatsapp"


@dataclass(frozen=True)
class Row:
    """A snapshot of one unsent row, usable after its session closed."""

    job_id: str
    queue: str
    data: dict[str, Any]
    run_at: datetime | None
    delay_s: float | None


@dataclass(frozen=True)
class Lag:
    """How far the relay is behind: unsent rows, the oldest one's age, rows refused for good."""

    unsent: int
    oldest_age_s: float | None
    refused: int


def add(session: Session, queue: str, data: dict[str, Any], job_id: str, now: datetime, *,
        run_at: datetime | None = None, delay_s: float | None = None) -> OutboxJob:
    """Ask for a job in the caller's transaction; asking again for the same job_id changes nothing."""
    row = session.get(OutboxJob, job_id)
    if row is None:
        row = OutboxJob(job_id=job_id, queue=queue, data=data, run_at=as_utc(run_at) if run_at else None,
                        delay_s=delay_s, created_at=as_utc(now))
        session.add(row)
        session.flush()
    return row


def add_notice(session: Session, notice: Notice, now: datetime) -> OutboxJob:
    """Ask for a WhatsApp notice (a template message) under its deterministic job id, with the business
    keys it is about (the support desk finds the message by them)."""
    return add(session, WHATSAPP_QUEUE, notice.data(), notice.job_id, now)


def add_after(session: Session, queue: str, data: dict[str, Any], job_id: str, now: datetime,
              delay_s: float) -> OutboxJob:
    """Ask for a job due `delay_s` after it is enqueued: a confirmation deadline counts from when the
    notice asked for in the same transaction goes out, which is the same relay pass."""
    return add(session, queue, data, job_id, now, delay_s=delay_s)


def unsent(session: Session, *, limit: int = 500, job_ids: list[str] | None = None) -> list[Row]:
    """Rows not yet sent nor refused, oldest first (only `job_ids` when given)."""
    stmt = select(OutboxJob).where(OutboxJob.sent_at.is_(None), OutboxJob.error.is_(None))
    if job_ids is not None:
        stmt = stmt.where(OutboxJob.job_id.in_(job_ids))
    rows = session.scalars(stmt.order_by(OutboxJob.created_at, OutboxJob.job_id).limit(limit)).all()
    return [Row(r.job_id, r.queue, dict(r.data), r.run_at, r.delay_s) for r in rows]


def mark_sent(session: Session, job_ids: list[str], now: datetime) -> int:
    """The relay enqueued these rows (or found their jobs already there)."""
    if not job_ids:
        return 0
    result = session.execute(update(OutboxJob).where(OutboxJob.job_id.in_(job_ids), OutboxJob.sent_at.is_(None))
                             .values(sent_at=as_utc(now)))
    return result.rowcount


def mark_refused(session: Session, job_id: str, error: str) -> None:
    """The queue refuses this row for good (invalid data): keep it, unsent, with the reason."""
    session.execute(update(OutboxJob).where(OutboxJob.job_id == job_id).values(error=error[:4000]))


def lag(session: Session, now: datetime) -> Lag:
    """The outbox lag for the dashboard: unsent rows, the oldest one's age in seconds, refused rows."""
    pending = OutboxJob.sent_at.is_(None) & OutboxJob.error.is_(None)
    count, oldest = session.execute(select(func.count(), func.min(OutboxJob.created_at)).where(pending)).one()
    refused = session.scalar(select(func.count()).where(OutboxJob.sent_at.is_(None), OutboxJob.error.is_not(None)))
    age = None
    if oldest is not None:
        age = max(0.0, (as_utc(now) - as_utc(oldest)).total_seconds())
    return Lag(int(count), age, int(refused or 0))
