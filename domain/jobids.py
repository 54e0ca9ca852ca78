"""Deterministic job ids for the jobs the domain schedules, so scheduling the same thing twice is a no-op."""
from __future__ import annotations

from datetime import date, datetime


def expiry_job_id(order_id: int, expires_at: datetime) -> str:
    """The expiry check for one order at one expiry time."""
    return f"expiry-{order_id}-{int(expires_at.timestamp())}"


def fallback_job_id(order_id: int, wholesaler_id: int) -> str:
    """The confirmation-timeout check for one order offered to one wholesaler."""
    return f"fallback-{order_id}-{wholesaler_id}"


def daily_report_job_id(day: date) -> str:
    """The report job for one day."""
    return f"daily-report-{day.isoformat()}"
