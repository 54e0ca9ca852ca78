"""The generic helper: validate a job's data against its queue's schema, then enqueue it.

The platform's per-queue helpers (add_whatsapp_message, ...) live in processors/helpers.py."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rq.job import Job

from .app import Engine, resolve
from .enqueue import EnqueueRequest, check_horizon, enqueue, enqueue_many
from .schemas import validate_data


def add_job(
    queue_name: str,
    data: dict[str, Any],
    *,
    priority: str = "normal",
    delay: timedelta | float | None = None,
    run_at: datetime | None = None,
    job_id: str | None = None,
    engine: Engine | None = None,
    audit: dict[str, str] | None = None,
) -> Job:
    """One job on any queue of the engine's table (the API, dashboard and CLI use it). `delay` is a timedelta or
    seconds; `audit`, an audit entry's fields, is written in the enqueue's own atomic step (engine/operator.py)."""
    eng = resolve(engine)
    clean = validate_data(eng, queue_name, data)
    check_horizon(run_at)
    return enqueue(eng, EnqueueRequest(queue_name, clean, priority=priority, delay=delay, run_at=run_at, job_id=job_id,
                                       audit=audit))


def add_jobs(queue_name: str, items: list[dict[str, Any]], *, priority: str = "normal",
             engine: Engine | None = None) -> list[Job]:
    """Many jobs on one queue: all validated first, then enqueued in one pipelined round trip."""
    eng = resolve(engine)
    requests = [EnqueueRequest(queue_name, validate_data(eng, queue_name, data), priority=priority) for data in items]
    return enqueue_many(eng, requests)
