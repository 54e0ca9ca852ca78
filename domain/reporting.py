"""The daily business report: figures for one local calendar day, stored in the database and as CSV."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from .models import DailyReport, MessageStatus, Order, OrderAttempt, OrderStatus, OutboundMessage, Wholesaler, to_money

QueueFigures = Mapping[str, Mapping[str, int]]
ZERO = Decimal("0.00")


def day_window(day: date, tz_name: str) -> tuple[datetime, datetime]:
    """[start, end) of the local calendar day in UTC (a DST day may be 23 or 25 hours long)."""
    tz = ZoneInfo(tz_name)
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def _order_figures(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    placed = (Order.created_at >= start) & (Order.created_at < end)
    rows = session.execute(select(Order.status, func.count(), func.coalesce(func.sum(Order.items_total), ZERO))
                           .where(placed).group_by(Order.status)).all()
    by_status = {s.value: 0 for s in OrderStatus}
    value_by_status = {s.value: ZERO for s in OrderStatus}
    for status, count, value in rows:
        by_status[status] = count
        value_by_status[status] = to_money(value)
    closed = (Order.closed_at >= start) & (Order.closed_at < end)
    expiries = session.scalar(select(func.count()).where(closed, Order.status == OrderStatus.EXPIRED))
    failures = session.scalar(select(func.count()).where(closed, Order.status == OrderStatus.FAILED))
    fallbacks = session.scalar(select(func.count()).select_from(OrderAttempt)
                               .where(OrderAttempt.failed_at >= start, OrderAttempt.failed_at < end))
    return {
        "placed": sum(by_status.values()),
        "by_status": by_status,
        "gross_value": str(sum(value_by_status.values(), ZERO)),
        "confirmed_value": str(value_by_status[OrderStatus.CONFIRMED]),
        "expiries": expiries,
        "failures": failures,
        "fallbacks": fallbacks,
    }


def _wholesaler_table(session: Session, start: datetime, end: datetime) -> list[dict[str, Any]]:
    placed = (Order.created_at >= start) & (Order.created_at < end)
    confirmed = func.sum(case((Order.status == OrderStatus.CONFIRMED, 1), else_=0))
    rows = session.execute(
        select(Order.wholesaler_id, func.count(), confirmed, func.coalesce(func.sum(Order.items_total), ZERO))
        .where(placed, Order.wholesaler_id.is_not(None)).group_by(Order.wholesaler_id)).all()
    table: dict[int, dict[str, Any]] = {}
    for wid, count, n_confirmed, value in rows:
        table[wid] = {"orders": count, "confirmed": int(n_confirmed or 0), "gross_value": to_money(value),
                      "fallbacks_away": 0}
    missed = session.execute(select(OrderAttempt.wholesaler_id, func.count())
                             .where(OrderAttempt.failed_at >= start, OrderAttempt.failed_at < end)
                             .group_by(OrderAttempt.wholesaler_id)).all()
    for wid, count in missed:
        table.setdefault(wid, {"orders": 0, "confirmed": 0, "gross_value": ZERO, "fallbacks_away": 0})
        table[wid]["fallbacks_away"] = count
    names = dict(session.execute(select(Wholesaler.id, Wholesaler.name).where(Wholesaler.id.in_(list(table)))).all())
    out = [{"wholesaler_id": wid, "name": names.get(wid, "?"), **row, "gross_value": str(row["gross_value"])}
           for wid, row in table.items()]
    return sorted(out, key=lambda r: (-r["orders"], -r["fallbacks_away"], r["wholesaler_id"]))


def _message_figures(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    rows = session.execute(select(OutboundMessage.status, func.count())
                           .where(OutboundMessage.created_at >= start, OutboundMessage.created_at < end)
                           .group_by(OutboundMessage.status)).all()
    by_status = {s.value: 0 for s in MessageStatus}
    by_status.update({status: count for status, count in rows})
    sent = by_status[MessageStatus.SENT] + by_status[MessageStatus.DELIVERED]
    failed = by_status[MessageStatus.FAILED] + by_status[MessageStatus.UNKNOWN]
    return {"sent": sent, "failed": failed, "by_status": by_status}


def _queue_section(queues: QueueFigures) -> dict[str, Any]:
    per_queue = {name: {k: int(v.get(k, 0)) for k in ("completed", "failed", "dead_lettered")}
                 for name, v in sorted(queues.items())}
    totals = {k: sum(q[k] for q in per_queue.values()) for k in ("completed", "failed", "dead_lettered")}
    return {"per_queue": per_queue, "totals": totals}


def build_figures(session: Session, day: date, tz_name: str, queues: QueueFigures,
                  progress: Callable[[float], None] = lambda pct: None) -> dict[str, Any]:
    """Every figure of the report as JSON-ready values (money as strings)."""
    start, end = day_window(day, tz_name)
    figures: dict[str, Any] = {"date": day.isoformat(), "timezone": tz_name,
                               "window_utc": [start.isoformat(), end.isoformat()]}
    figures["orders"] = _order_figures(session, start, end)
    progress(30)
    figures["wholesalers"] = _wholesaler_table(session, start, end)
    progress(55)
    figures["messages"] = _message_figures(session, start, end)
    progress(70)
    figures["queues"] = _queue_section(queues)
    return figures


def csv_rows(figures: Mapping[str, Any]) -> list[list[Any]]:
    """The report as long-format rows: section, item, metric, value."""
    rows: list[list[Any]] = [["section", "item", "metric", "value"],
                             ["report", figures["date"], "timezone", figures["timezone"]]]
    orders = figures["orders"]
    for key in ("placed", "gross_value", "confirmed_value", "expiries", "failures", "fallbacks"):
        rows.append(["orders", "all", key, orders[key]])
    rows += [["orders", status, "count", n] for status, n in orders["by_status"].items()]
    for w in figures["wholesalers"]:
        item = f"{w['wholesaler_id']} {w['name']}"
        rows += [["wholesaler", item, key, w[key]] for key in ("orders", "confirmed", "gross_value", "fallbacks_away")]
    messages = figures["messages"]
    rows += [["messages", "all", key, messages[key]] for key in ("sent", "failed")]
    rows += [["messages", status, "count", n] for status, n in messages["by_status"].items()]
    for name, counts in figures["queues"]["per_queue"].items():
        rows += [["queue", name, key, n] for key, n in counts.items()]
    rows += [["queue", "all", key, n] for key, n in figures["queues"]["totals"].items()]
    return rows


def write_csv(figures: Mapping[str, Any], reports_dir: Path, render: Callable[[list[list[Any]]], str]) -> Path:
    """Write `daily-report-<date>.csv` atomically (a reader never sees half a file). `render` turns the
    rows into CSV text: the caller passes the one safe writer (engine.export.write_rows), which the
    domain may not import."""
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / f"daily-report-{figures['date']}.csv"
    fd, tmp = tempfile.mkstemp(dir=reports_dir, prefix=".daily-report-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            fh.write(render(csv_rows(figures)))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_report(session: Session, day: date, tz_name: str, figures: dict[str, Any], csv_path: Path,
                now: datetime) -> DailyReport:
    """Insert the day's report, or replace the one already stored for that date."""
    report = session.scalar(select(DailyReport).where(DailyReport.report_date == day).with_for_update())
    if report is None:
        report = DailyReport(report_date=day)
        session.add(report)
    report.timezone = tz_name
    report.figures = figures
    report.csv_path = str(csv_path)
    report.generated_at = now
    session.flush()
    return report
