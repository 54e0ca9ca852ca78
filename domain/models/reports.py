"""Stored results of the batch jobs: daily reports and credit reconciliation runs."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from .base import Base


class DailyReport(Base):
    """One report per calendar day (in the scheduler's time zone); a rerun replaces it."""

    __tablename__ = "daily_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_date: Mapped[date] = mapped_column(unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    csv_path: Mapped[str] = mapped_column(String(500))
    generated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReconciliationRun(Base):
    """One pass comparing stored balances with their ledgers; `job_id` makes a retried job reuse its run."""

    __tablename__ = "reconciliation_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str | None] = mapped_column(String(160), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("credit_accounts.id"))  # None: all accounts
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]
    accounts_checked: Mapped[int] = mapped_column(default=0)
    discrepancy_count: Mapped[int] = mapped_column(default=0)
    threshold: Mapped[Decimal]

    discrepancies: Mapped[list[Discrepancy]] = relationship(back_populates="run", order_by="Discrepancy.id")


class Discrepancy(Base):
    """A stored balance that does not match its ledger; `difference` is stored minus expected."""

    __tablename__ = "reconciliation_discrepancies"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_runs.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("credit_accounts.id"), index=True)
    expected: Mapped[Decimal]
    stored: Mapped[Decimal]
    difference: Mapped[Decimal]
    alerted: Mapped[bool] = mapped_column(default=False)

    run: Mapped[ReconciliationRun] = relationship(back_populates="discrepancies")
