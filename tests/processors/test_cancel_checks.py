"""The long processors stop between steps once their job is cancelled."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from domain.models import DailyReport
from engine import keys
from engine.errors import JobCancelled
from processors import credit_reconciliation, daily_reports

from tests.domain_fixtures import NOW, as_job, fresh


def cancel_requested(engine, job_id):
    engine.conn.hset(keys.job(job_id), keys.CANCEL_REQUESTED_MS, 1)


def test_a_cancelled_daily_report_stops_before_storing_anything(engine, settings, db):
    cancel_requested(engine, "report-job")
    with as_job(engine, "report-job", "dailyReports"), pytest.raises(JobCancelled):
        daily_reports.run(date(2025, 3, 9).isoformat(), settings=settings, now=NOW)
    with fresh(db) as s:
        assert s.scalar(select(func.count()).select_from(DailyReport)) == 0


def test_a_cancelled_reconciliation_stops_before_it_starts(engine, settings, db, world):
    cancel_requested(engine, "recon-job")
    with as_job(engine, "recon-job", "creditReconciliation"), pytest.raises(JobCancelled):
        credit_reconciliation.run(settings=settings, now=NOW)


def test_without_a_cancel_the_report_runs(engine, settings, db):
    with as_job(engine, "report-job-2", "dailyReports"):
        assert daily_reports.run(date(2025, 3, 9).isoformat(), settings=settings, now=NOW)["report_date"] == "2025-03-09"
