"""Reports (daily reports, reconciliation runs) and the Audit log."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest

from dashboard import reports_data
from engine import audit, control, export
from engine.audit import Actor
from tests.dashboard.conftest import buttons, metrics, no_exception, texts

REPORTS = "pages/reports.py"
AUDIT = "pages/audit_log.py"


@pytest.fixture
def domain_db(dash, tmp_path, monkeypatch):
    """A small demo database with one daily report and one reconciliation run, made by the real processors."""
    from domain.db import dispose_engines, session_scope
    from domain.demo_data import DemoSize, build_demo_data
    from domain.settings import DomainSettings
    from processors import credit_reconciliation, daily_reports

    url = f"sqlite:///{tmp_path / 'domain.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    settings = DomainSettings(database_url=url, reports_dir=tmp_path / "reports", scheduler_tz="UTC")
    now = datetime.now(timezone.utc)
    with session_scope(url) as session:
        build_demo_data(session, now, size=DemoSize(wholesalers=6, retailers=20, history_days=3, orders_per_day=6,
                                                    pending_orders=3, overdue_pending_orders=1))
    report = daily_reports.run((now.date() - timedelta(days=1)).isoformat(), settings=settings, now=now)
    recon = credit_reconciliation.run(settings=settings, now=now)
    yield {"url": url, "report": report, "recon": recon}
    dispose_engines()


def test_reports_without_a_database(app):
    at = no_exception(app.new(page=REPORTS))
    assert "Reports are not available: no domain database" in texts(at)


def test_reports_with_empty_tables(app, tmp_path, monkeypatch):
    from domain.db import create_schema, make_engine

    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    create_schema(make_engine(url))
    monkeypatch.setenv("DATABASE_URL", url)
    at = no_exception(app.new(page=REPORTS))
    assert "No daily reports yet." in texts(at) and "No reconciliation runs yet." in texts(at)


def test_daily_report_preview_and_csv(app, domain_db):
    at = no_exception(app.new("vera", page=REPORTS))
    listing = at.dataframe[0].value
    report = domain_db["report"]
    assert list(listing["date"]) == [report["report_date"]]
    assert listing.iloc[0]["orders"] == report["orders"] and listing.iloc[0]["gross value"] == report["gross_value"]
    m = metrics(at)
    assert m["Orders placed"] == str(report["orders"]) and m["Gross value"] == report["gross_value"]
    assert [b.label for b in at.get("download_button")] == ["Download the report (CSV)"]
    # the download holds the same CSV the job wrote to disk
    stored = reports_data.get_daily_report(domain_db["url"], report["report_id"])
    with open(report["csv_path"], newline="") as fh:
        assert reports_data.report_csv(stored["figures"]) == fh.read()


def test_reconciliation_runs_and_their_discrepancies(app, domain_db):
    at = no_exception(app.new(page=REPORTS))
    frames = {tuple(f.value.columns): f.value for f in at.dataframe}
    runs = next(v for k, v in frames.items() if "accounts checked" in k)
    recon = domain_db["recon"]
    assert list(runs["id"]) == [recon["run_id"]] and runs.iloc[0]["discrepancies"] == recon["discrepancy_count"]
    assert runs.iloc[0]["alerted"] == len(recon["alert_job_ids"]) and recon["discrepancy_count"] == 5
    found = next(v for k, v in frames.items() if "difference" in k)
    assert len(found) == 5 and set(found["account id"]) == {d["account_id"] for d in recon["discrepancies"]}
    assert all(found["retailer"].str.len() > 0)
    assert "1500.00" in set(found["difference"])


def test_reports_data_refuses_to_create_a_database(tmp_path):
    missing = tmp_path / "nothing.sqlite3"
    with pytest.raises(reports_data.ReportsUnavailable):
        reports_data.list_daily_reports(f"sqlite:///{missing}")
    assert not missing.exists()


# -- Audit log --------------------------------------------------------------------------------
def test_audit_log_empty(app):
    at = no_exception(app.new(page=AUDIT))
    assert at.dataframe[0].value.empty and "0 entries shown" in texts(at)


def test_audit_log_lists_and_filters(app, dash):
    alice, bob = Actor("alice", "api"), Actor("bob", "dashboard")
    audit.record(alice, "pause", queue="whatsapp", engine=dash)
    audit.record(bob, "retry", queue="orderExpiry", target="job-1", details={"x": 1}, engine=dash)
    audit.record(bob, "pause", queue="orderExpiry", outcome="denied: read-only role", engine=dash)
    at = no_exception(app.new("vera", page=AUDIT))
    frame = at.dataframe[0].value
    assert list(frame["user"]) == ["bob", "bob", "alice"] and list(frame["from"]) == ["dashboard", "dashboard", "api"]
    assert frame.iloc[1]["details"] == '{"x": 1}' and frame.iloc[0]["outcome"] == "denied: read-only role"
    at.text_input(key="audit_actor").input("alice").run()
    assert list(at.dataframe[0].value["action"]) == ["pause"]
    at.text_input(key="audit_actor").input("").run()
    at.selectbox(key="audit_queue").set_value("orderExpiry").run()
    assert len(at.dataframe[0].value) == 2
    at.selectbox(key="audit_action").set_value("retry").run()
    assert list(at.dataframe[0].value["target"]) == ["job-1"]
    at.selectbox(key="audit_action").set_value("(all)")
    at.selectbox(key="audit_queue").set_value("(all)")
    at.date_input(key="audit_to").set_value(date.today() - timedelta(days=2)).run()
    assert at.dataframe[0].value.empty
    at.date_input(key="audit_to").set_value(None)
    at.date_input(key="audit_from").set_value(date.today() - timedelta(days=1)).run()
    assert len(at.dataframe[0].value) == 3
    assert [b.label for b in at.get("download_button")] == ["Download CSV (all matching)"]
    assert buttons(at) == ["Log out"]


def test_dashboard_actions_land_in_the_log_with_the_user_name(app, dash):
    at = app.new(page="pages/queues.py")
    at.button(key="q-pause-vendorFallback").click().run()
    at = app.new(page=AUDIT)
    row = at.dataframe[0].value.iloc[0]
    assert (row["user"], row["from"], row["action"], row["queue"], row["outcome"]) == (
        "olga", "dashboard", "pause", "vendorFallback", "ok")
    assert control.state("vendorFallback", engine=dash)["paused"]


def test_audit_csv_export_uses_the_filters(dash):
    audit.record(Actor("alice", "api"), "pause", queue="whatsapp", engine=dash)
    audit.record(Actor("bob", "dashboard"), "resume", queue="whatsapp", engine=dash)
    rows = list(csv.DictReader(io.StringIO(export.audit_csv(engine=dash, actor="bob"))))
    assert [(r["actor"], r["action"]) for r in rows] == [("bob", "resume")]
    assert list(rows[0]) == export.AUDIT_COLUMNS
