"""The design document's queue helpers: validate, then enqueue one job on the right queue of the platform."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rq.job import Job

from engine.app import Engine, resolve
from engine.errors import ValidationError
from engine.helpers import add_job, add_jobs

__all__ = ["add_job", "add_whatsapp_message", "broadcast_whatsapp", "add_order_expiry_job", "add_vendor_fallback_job",
           "add_daily_report_job", "add_credit_reconciliation_job"]


def add_whatsapp_message(phone: str, message: str | None = None, *, template: dict | None = None,
                         priority: str = "normal", reference: str | None = None,
                         order_id: str | None = None, retailer_id: str | None = None,
                         wholesaler_id: str | None = None, account_id: str | None = None,
                         delay: timedelta | float | None = None, run_at: datetime | None = None,
                         job_id: str | None = None, engine: Engine | None = None) -> Job:
    """Free text (`message`) or a registry template {"name", "language", "params"}: exactly one. The
    optional ids are the business keys the support desk finds it by."""
    data: dict[str, Any] = {"phone": phone}
    if message is not None:
        data["message"] = message
    if template is not None:
        data["template"] = template
    for name, value in (("reference", reference), ("order_id", order_id), ("retailer_id", retailer_id),
                        ("wholesaler_id", wholesaler_id), ("account_id", account_id)):
        if value is not None:
            data[name] = str(value)
    return add_job("whatsapp", data, priority=priority, delay=delay, run_at=run_at, job_id=job_id, engine=engine)


def broadcast_whatsapp(recipients: list[str], message: str, *, priority: str = "normal",
                       engine: Engine | None = None) -> list[Job]:
    """One message to many recipients, validated first, then enqueued in one pipelined round trip."""
    return add_jobs("whatsapp", [{"phone": p, "message": message} for p in recipients], priority=priority,
                    engine=engine)


def add_order_expiry_job(order_id: str, expires_at: datetime, *, priority: str = "normal",
                         job_id: str | None = None, engine: Engine | None = None) -> Job:
    """Runs at `expires_at`, which must be timezone-aware."""
    if not isinstance(expires_at, datetime) or expires_at.tzinfo is None:
        raise ValidationError("expires_at", "must be a timezone-aware datetime")
    data = {"order_id": str(order_id), "expires_at": expires_at.isoformat()}
    return add_job("orderExpiry", data, priority=priority, run_at=expires_at, job_id=job_id, engine=engine)


def add_vendor_fallback_job(order_id: str, failed_wholesaler_id: str, *, priority: str = "normal",
                            delay: timedelta | float | None = None, run_at: datetime | None = None,
                            job_id: str | None = None, engine: Engine | None = None) -> Job:
    data = {"order_id": str(order_id), "failed_wholesaler_id": str(failed_wholesaler_id)}
    return add_job("vendorFallback", data, priority=priority, delay=delay, run_at=run_at, job_id=job_id,
                   engine=engine)


def add_daily_report_job(report_date: date | None = None, *, priority: str = "normal",
                         delay: timedelta | float | None = None, run_at: datetime | None = None,
                         job_id: str | None = None, engine: Engine | None = None) -> Job:
    """`report_date` defaults to yesterday in SCHEDULER_TZ."""
    eng = resolve(engine)
    if report_date is None:
        report_date = datetime.now(ZoneInfo(eng.settings.scheduler_tz)).date() - timedelta(days=1)
    return add_job("dailyReports", {"report_date": report_date.isoformat()}, priority=priority, delay=delay,
                   run_at=run_at, job_id=job_id, engine=eng)


def add_credit_reconciliation_job(account_id: str | None = None, *, priority: str = "normal",
                                  delay: timedelta | float | None = None, run_at: datetime | None = None,
                                  job_id: str | None = None, engine: Engine | None = None) -> Job:
    data = {} if account_id is None else {"account_id": str(account_id)}
    return add_job("creditReconciliation", data, priority=priority, delay=delay, run_at=run_at, job_id=job_id,
                   engine=engine)
