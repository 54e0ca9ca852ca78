"""Read-only access to the domain database: daily reports, reconciliation runs, and read() for the support views.

The dashboard never writes here and never creates tables: a missing database or table is reported
as ReportsUnavailable. No Streamlit import (the functions are tested directly).
"""
from __future__ import annotations

import os
import threading
from typing import Any, Callable

from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine import export
from domain.models import CreditAccount, DailyReport, Discrepancy, ReconciliationRun, Retailer
from domain.reporting import csv_rows
from domain.settings import DomainSettings


class ReportsUnavailable(Exception):
    """No domain database (yet), or it cannot be read."""


_engines: dict[tuple[int, str], Engine] = {}
_lock = threading.Lock()


def database_url() -> str:
    """DATABASE_URL as the domain reads it (read afresh, so a changed environment is seen)."""
    return DomainSettings().database_url


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if not path or path == ":memory:" or not os.path.exists(path):
            raise ReportsUnavailable(f"no domain database at {path or url!r} yet")
    key = (os.getpid(), url)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            args = {"connect_args": {"timeout": 15}} if parsed.get_backend_name() == "sqlite" else {}
            engine = create_engine(url, pool_pre_ping=True, **args)
            _engines[key] = engine
        return engine


def _read(url: str, fn):
    try:
        with Session(_engine(url)) as session:
            return fn(session)
    except SQLAlchemyError as exc:
        raise ReportsUnavailable(f"cannot read the domain database: {type(exc).__name__}") from exc


def _money(value: Any) -> str:
    return "" if value is None else str(value)


def list_daily_reports(url: str, *, limit: int = 120) -> list[dict[str, Any]]:
    """The newest `limit` daily reports with their headline figures."""
    def read(session: Session) -> list[dict[str, Any]]:
        rows = session.scalars(select(DailyReport).order_by(DailyReport.report_date.desc()).limit(limit)).all()
        out = []
        for r in rows:
            f = r.figures or {}
            orders, messages = f.get("orders", {}), f.get("messages", {})
            queues = (f.get("queues") or {}).get("totals", {})
            out.append({"id": r.id, "date": r.report_date.isoformat(), "timezone": r.timezone,
                        "generated_at": r.generated_at, "orders": orders.get("placed"),
                        "gross value": orders.get("gross_value"), "confirmed value": orders.get("confirmed_value"),
                        "expiries": orders.get("expiries"), "fallbacks": orders.get("fallbacks"),
                        "messages sent": messages.get("sent"), "messages failed": messages.get("failed"),
                        "jobs dead-lettered": queues.get("dead_lettered")})
        return out
    return _read(url, read)


def get_daily_report(url: str, report_id: int) -> dict[str, Any] | None:
    def read(session: Session) -> dict[str, Any] | None:
        r = session.get(DailyReport, report_id)
        if r is None:
            return None
        return {"id": r.id, "date": r.report_date.isoformat(), "timezone": r.timezone, "figures": r.figures or {},
                "generated_at": r.generated_at, "csv_path": r.csv_path}
    return _read(url, read)


def report_csv(figures: dict[str, Any]) -> str:
    """The report as the same long-format rows the dailyReports job writes, through the engine's one
    CSV writer (quoting and formula escaping)."""
    return export.write_rows(csv_rows(figures))


def list_reconciliation_runs(url: str, *, limit: int = 100) -> list[dict[str, Any]]:
    def read(session: Session) -> list[dict[str, Any]]:
        runs = session.scalars(select(ReconciliationRun).order_by(ReconciliationRun.started_at.desc(),
                                                                  ReconciliationRun.id.desc()).limit(limit)).all()
        alerted = dict(session.execute(select(Discrepancy.run_id, func.count()).where(
            Discrepancy.run_id.in_([r.id for r in runs]), Discrepancy.alerted.is_(True))
            .group_by(Discrepancy.run_id)).all()) if runs else {}
        return [{"id": r.id, "started_at": r.started_at, "finished_at": r.finished_at,
                 "scope": f"account {r.account_id}" if r.account_id else "all accounts",
                 "accounts checked": r.accounts_checked, "discrepancies": r.discrepancy_count,
                 "alerted": alerted.get(r.id, 0), "threshold": _money(r.threshold), "job id": r.job_id or ""}
                for r in runs]
    return _read(url, read)


def discrepancies(url: str, run_id: int) -> list[dict[str, Any]]:
    def read(session: Session) -> list[dict[str, Any]]:
        rows = session.execute(
            select(Discrepancy, Retailer.name)
            .join(CreditAccount, Discrepancy.account_id == CreditAccount.id)
            .join(Retailer, CreditAccount.retailer_id == Retailer.id, isouter=True)
            .where(Discrepancy.run_id == run_id).order_by(Discrepancy.id)).all()
        return [{"account id": d.account_id, "retailer": name or "", "expected": _money(d.expected),
                 "stored": _money(d.stored), "difference": _money(d.difference), "alerted": d.alerted}
                for d, name in rows]
    return _read(url, read)


def read(fn: Callable[[Session], Any]) -> Any:
    """Run `fn(session)` on the domain database (DATABASE_URL), read only; ReportsUnavailable when it cannot."""
    return _read(database_url(), fn)
def outbox_lag(url: str) -> dict[str, Any]:
    """The job outbox's lag for the Overview page: unsent rows, the oldest one's age (s), refused rows."""
    from domain.clock import utcnow
    from domain.job_outbox import lag

    def read(session: Session) -> dict[str, Any]:
        found = lag(session, utcnow())
        return {"unsent": found.unsent, "oldest_age_s": found.oldest_age_s, "refused": found.refused}
    return _read(url, read)
