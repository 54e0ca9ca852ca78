"""Credit reconciliation: recompute balances from the ledger and record every mismatch, never fixing it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from . import job_outbox, notices
from .credit import stored_and_ledger_balances
from .errors import NotFound
from .models import CreditAccount, Discrepancy, ReconciliationRun, Retailer, to_money


@dataclass(frozen=True)
class RunSummary:
    """A recorded run: its discrepancies and the alerts for support."""

    run_id: int
    accounts_checked: int
    discrepancies: list[dict[str, str | int]]
    alerts: list[notices.Notice]
    reused: bool  # True when a retried job found the run its earlier attempt recorded


def reconcile(session: Session, now: datetime, threshold: Decimal, support_phone: str, *,
              account_id: int | None = None, job_id: str | None = None) -> RunSummary:
    """Compare each stored balance with its ledger and record a run with every discrepancy.

    Discrepancies whose absolute difference exceeds `threshold` come back as alerts for
    support. With a `job_id`, a second call for the same job returns the first run instead of
    recording another one.
    """
    if job_id is not None:
        existing = session.scalar(select(ReconciliationRun).where(ReconciliationRun.job_id == job_id)
                                  .options(selectinload(ReconciliationRun.discrepancies)))
        if existing is not None:
            return _ask_alerts(session, _summary(session, existing, support_phone, reused=True), now)
    balances = stored_and_ledger_balances(session, account_id)
    if account_id is not None and not balances:
        raise NotFound("credit account", account_id)
    run = ReconciliationRun(job_id=job_id, account_id=account_id, started_at=now, threshold=to_money(threshold),
                            accounts_checked=len(balances))
    session.add(run)
    session.flush()
    for aid, stored, expected in balances:
        if stored != expected:
            difference = stored - expected
            run.discrepancies.append(Discrepancy(account_id=aid, expected=expected, stored=stored,
                                                 difference=difference, alerted=abs(difference) > run.threshold))
    run.discrepancy_count = len(run.discrepancies)
    run.finished_at = now
    session.flush()
    return _ask_alerts(session, _summary(session, run, support_phone, reused=False), now)


def _ask_alerts(session: Session, summary: RunSummary, now: datetime) -> RunSummary:
    """The alerts go to the job outbox in the run's transaction (a reused run asks for the same ids)."""
    for alert in summary.alerts:
        job_outbox.add_notice(session, alert, now)
    return summary


def _summary(session: Session, run: ReconciliationRun, support_phone: str, *, reused: bool) -> RunSummary:
    names = dict(session.execute(
        select(CreditAccount.id, Retailer.name).join(Retailer, CreditAccount.retailer_id == Retailer.id)
        .where(CreditAccount.id.in_([d.account_id for d in run.discrepancies]))).all())
    alerts = [notices.reconciliation_alert(run.id, d.account_id, names.get(d.account_id, "?"), d.expected, d.stored,
                                           support_phone)
              for d in run.discrepancies if d.alerted]
    rows = [{"account_id": d.account_id, "expected": str(d.expected), "stored": str(d.stored),
             "difference": str(d.difference)} for d in run.discrepancies]
    return RunSummary(run.id, run.accounts_checked, rows, alerts, reused)
