"""Queue `creditReconciliation`: compare stored balances with their ledgers, record, alert; never correct."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from engine import jobctx

from domain.clock import utcnow
from domain.db import session_scope
from domain.errors import parse_id
from domain.reconciliation import reconcile
from domain.settings import DomainSettings, resolve_settings

from ._support import job_engine, permanent_domain_errors
from .outbox_relay import send_now


def run(account_id: str | None = None, *, settings: DomainSettings | None = None,
        now: datetime | None = None) -> dict[str, Any]:
    """Reconcile one account or all; a retried job reuses the run its earlier attempt recorded."""
    settings = resolve_settings(settings)
    now = now or utcnow()
    jobctx.check_cancelled()  # between steps: an operator may cancel a long reconciliation
    with permanent_domain_errors():
        aid = parse_id("credit account", account_id) if account_id is not None else None
        with session_scope(settings.database_url) as session:
            summary = reconcile(session, now, settings.reconciliation_alert_threshold, settings.support_phone,
                                account_id=aid, job_id=jobctx.current_job_id())
    jobctx.check_cancelled()
    alert_jobs = [alert.job_id for alert in summary.alerts]  # committed to the outbox with the run
    send_now(alert_jobs, settings, engine=job_engine())
    jobctx.log(f"reconciliation run {summary.run_id}: {summary.accounts_checked} account(s), "
               f"{len(summary.discrepancies)} discrepancies, {len(alert_jobs)} alert(s)")
    return {"run_id": summary.run_id, "accounts_checked": summary.accounts_checked,
            "discrepancies": summary.discrepancies[:50], "discrepancy_count": len(summary.discrepancies),
            "alert_job_ids": alert_jobs, "reused_run": summary.reused}
