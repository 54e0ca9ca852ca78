import csv
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from domain.expiry import expire_if_due
from domain.models import DailyReport
from engine import jobctx
from engine.errors import PermanentError
from processors import daily_reports

from tests.domain_fixtures import as_job, fresh, make_order

DAY = date(2025, 3, 10)
AFTER = datetime(2025, 3, 11, 6, 0, tzinfo=timezone.utc)
FIGURES = {"whatsapp": {"completed": 40, "failed": 3, "dead_lettered": 1},
           "orderExpiry": {"completed": 5, "failed": 0, "dead_lettered": 0}}


@pytest.fixture
def metrics(monkeypatch):
    """Stand-in for engine.metrics.day_totals that records how it was asked."""
    calls = []

    def day_totals(eng, day, tz=None):
        calls.append((eng, day, tz))
        return FIGURES

    monkeypatch.setattr(daily_reports, "day_totals", day_totals)
    return calls


def test_the_report_is_stored_and_written_as_csv(engine, settings, db, session, world, metrics):
    order = make_order(session, world, at=datetime(2025, 3, 10, 8, 0, tzinfo=timezone.utc), total="1234.50")
    expire_if_due(session, order.id, order.expires_at)
    session.commit()
    result = daily_reports.run("2025-03-10", settings=settings, now=AFTER)
    assert metrics == [(engine, DAY, "UTC")]
    with fresh(db) as s:
        report = s.scalar(select(DailyReport))
    assert (report.report_date, report.id) == (DAY, result["report_id"])
    assert report.figures["orders"]["by_status"]["expired"] == 1
    assert report.figures["orders"]["gross_value"] == "1234.50"
    assert report.figures["queues"]["totals"] == {"completed": 45, "failed": 3, "dead_lettered": 1}
    assert report.csv_path == result["csv_path"] == str(settings.reports_dir / "daily-report-2025-03-10.csv")
    rows = list(csv.reader(open(report.csv_path)))
    assert ["orders", "all", "expiries", "1"] in rows and ["queue", "whatsapp", "completed", "40"] in rows


def test_rerunning_a_date_replaces_its_report(engine, settings, db, session, world, metrics):
    daily_reports.run("2025-03-10", settings=settings, now=AFTER)
    make_order(session, world, at=datetime(2025, 3, 10, 9, 0, tzinfo=timezone.utc))
    second = daily_reports.run("2025-03-10", settings=settings, now=AFTER + timedelta(hours=1))
    with fresh(db) as s:
        assert s.scalar(select(func.count()).select_from(DailyReport)) == 1
        report = s.scalar(select(DailyReport))
    assert report.figures["orders"]["placed"] == 1 and report.generated_at == AFTER + timedelta(hours=1)
    assert second["orders"] == 1
    assert len(list(settings.reports_dir.iterdir())) == 1


def test_without_a_date_it_reports_yesterday_in_the_configured_time_zone(engine, settings, db, metrics):
    ktm = settings.model_copy(update={"scheduler_tz": "Asia/Kathmandu"})
    # 20:00 UTC on the 10th is already 01:45 on the 11th in Kathmandu, so "yesterday" is the 10th.
    result = daily_reports.run(settings=ktm, now=datetime(2025, 3, 10, 20, 0, tzinfo=timezone.utc))
    assert result["report_date"] == "2025-03-10"
    assert metrics[0][1:] == (DAY, "Asia/Kathmandu")


def test_progress_is_reported_while_it_runs(engine, settings, db, metrics, monkeypatch):
    seen = []
    original = jobctx.set_progress
    monkeypatch.setattr(jobctx, "set_progress", lambda pct: (seen.append(pct), original(pct)))
    with as_job(engine, "report-job", "dailyReports"):
        daily_reports.run("2025-03-10", settings=settings, now=AFTER)
    assert seen == sorted(seen) and len(seen) >= 5 and seen[-1] == 100
    assert engine.conn.hget("rq:job:report-job", "jq_progress") == b"100"


def test_a_malformed_date_is_permanent(engine, settings, db, metrics):
    with pytest.raises(PermanentError, match="report_date"):
        daily_reports.run("10/03/2025", settings=settings, now=AFTER)


def test_queue_figures_come_from_the_engine_metrics(engine, settings, db):
    figures = daily_reports.queue_figures(DAY, "UTC")
    assert set(figures) == set(engine.table.names)
    assert all(set(v) == {"completed", "failed", "dead_lettered"} for v in figures.values())
