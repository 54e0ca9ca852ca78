"""Queue `dailyReports`: one day's business and queue figures, stored in the database and as CSV."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine import jobctx
from engine.app import resolve
from engine.errors import PermanentError
from engine.export import write_rows
from engine.metrics import day_totals

from domain.clock import utcnow
from domain.db import session_scope
from domain.reporting import QueueFigures, build_figures, save_report, write_csv
from domain.settings import DomainSettings, resolve_settings

from ._support import job_engine


def queue_figures(day: date, tz_name: str) -> QueueFigures:
    """The engine's per-queue totals (completed, failed, dead-lettered) for the local day."""
    return day_totals(resolve(job_engine()), day, tz=tz_name)


def report_day(report_date: str | date | None, tz_name: str, now: datetime) -> date:
    """The requested date, or yesterday in the configured time zone."""
    if report_date is None:
        return now.astimezone(ZoneInfo(tz_name)).date() - timedelta(days=1)
    if isinstance(report_date, date):
        return report_date
    try:
        return date.fromisoformat(str(report_date))
    except ValueError:
        raise PermanentError(f"report_date: not an ISO date: {report_date!r}") from None


def run(report_date: str | None = None, *, settings: DomainSettings | None = None,
        now: datetime | None = None) -> dict[str, Any]:
    """Build the day's report, replacing any earlier report for the same date."""
    settings = resolve_settings(settings)
    now = now or utcnow()
    tz_name = settings.scheduler_tz
    day = report_day(report_date, tz_name, now)
    jobctx.set_progress(5)
    queues = queue_figures(day, tz_name)
    jobctx.check_cancelled()  # between steps: an operator may cancel a long report
    jobctx.set_progress(15)
    # Read in a read-only session (no SQLite write lock while the figures are computed), then save.
    with session_scope(settings.database_url, readonly=True) as session:
        figures = build_figures(session, day, tz_name, queues, progress=lambda pct: jobctx.set_progress(15 + pct * 0.7))
    jobctx.check_cancelled()
    path = write_csv(figures, settings.reports_dir, write_rows)
    jobctx.set_progress(90)
    jobctx.check_cancelled()
    with session_scope(settings.database_url) as session:
        report = save_report(session, day, tz_name, figures, path, now)
    jobctx.set_progress(100)
    orders = figures["orders"]
    jobctx.log(f"daily report {day.isoformat()} ({tz_name}): {orders['placed']} orders, gross {orders['gross_value']}")
    return {"report_id": report.id, "report_date": day.isoformat(), "csv_path": str(path),
            "orders": orders["placed"], "gross_value": orders["gross_value"],
            "messages_sent": figures["messages"]["sent"],
            "jobs_dead_lettered": figures["queues"]["totals"]["dead_lettered"]}
