"""Queue `orderExpiry`: expire a still-pending order at its expires_at, release credit, tell the retailer."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from engine import jobctx

from domain.clock import utcnow
from domain.db import session_scope
from domain.errors import parse_id
from domain.expiry import ExpiryAction, expire_if_due, overdue_pending
from domain.jobids import expiry_job_id
from domain.settings import DomainSettings, resolve_settings

from . import helpers
from ._support import job_engine, parse_aware, permanent_domain_errors
from .outbox_relay import send_now

# The job is due by the queue server's clock; this host's clock may be a little behind.
CLOCK_SKEW_GRACE = timedelta(seconds=2)


def run(order_id: str, expires_at: str, *, settings: DomainSettings | None = None,
        now: datetime | None = None) -> dict[str, Any]:
    """Expire the order if due; reschedule when its expiry moved later; otherwise do nothing."""
    settings = resolve_settings(settings)
    now = now or utcnow()
    scheduled_for = parse_aware("expires_at", expires_at)
    with permanent_domain_errors():
        oid = parse_id("order", order_id)
        with session_scope(settings.database_url) as session:
            outcome = expire_if_due(session, oid, now, grace=CLOCK_SKEW_GRACE)
    result: dict[str, Any] = {"order_id": oid, "action": outcome.action.value, "status": outcome.status,
                              "expires_at": outcome.expires_at.isoformat()}
    if outcome.notice is not None:  # its outbox row was committed with the expiry
        send_now([outcome.notice.job_id], settings, engine=job_engine())
        result["notice_job_id"] = outcome.notice.job_id
    if outcome.action == ExpiryAction.NOT_DUE:
        job_id = expiry_job_id(oid, outcome.expires_at)
        if job_id == jobctx.current_job_id():  # run early by hand: a new id, or the queue would return this job
            job_id = f"{job_id}-{uuid.uuid4().hex[:8]}"
        helpers.add_order_expiry_job(str(oid), outcome.expires_at, job_id=job_id, engine=job_engine())
        result["rescheduled_job_id"] = job_id
    jobctx.log(f"order {oid} (scheduled for {scheduled_for.isoformat()}): {outcome.action.value}")
    return result


def sweep(now: datetime | None = None, *, settings: DomainSettings | None = None, limit: int = 1000) -> int:
    """The every-minute safety net: enqueue expiry for pending orders past their expiry whose job was
    lost or never enqueued. Job ids are deterministic, so an order whose job still waits (or sits in
    the dead-letter queue) gets no second job. Returns how many orders it asked for."""
    settings = resolve_settings(settings)
    now = now or utcnow()
    with session_scope(settings.database_url, readonly=True) as session:
        overdue = overdue_pending(session, now, limit=limit)
    for order_id, expires_at in overdue:
        helpers.add_order_expiry_job(str(order_id), expires_at, job_id=expiry_job_id(order_id, expires_at),
                                     engine=job_engine())
    return len(overdue)
