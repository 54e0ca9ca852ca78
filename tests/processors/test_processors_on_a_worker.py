"""The processors as the engine's worker runs them: job data in, real effects out."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from domain.clock import utcnow
from domain.models import DailyReport, MessageStatus, Order, OrderStatus, OutboundMessage
from domain.settings import get_settings
from engine import keys
from processors import helpers
from engine.worker import Worker
from processors import daily_reports

from tests.domain_fixtures import fetch_job, fresh, make_order


@pytest.fixture
def env_settings(settings, monkeypatch):
    """The worker calls run(**data) without settings, so point the environment at the test database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("REPORTS_DIR", str(settings.reports_dir))
    monkeypatch.setenv("WHATSAPP_PROVIDER", "sandbox")
    monkeypatch.setenv("SCHEDULER_TZ", "UTC")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def drain(engine, *queues):
    return Worker(engine, list(queues), burst=True).run()


def test_a_whatsapp_job_is_sent_once_and_recorded(engine, env_settings, db):
    job = helpers.add_whatsapp_message("+9779820000001", "Namaste!", reference="42", job_id="hello-1")
    assert drain(engine, "whatsapp") == 1
    with fresh(db) as s:
        [msg] = s.scalars(select(OutboundMessage)).all()
    assert (msg.idempotency_key, msg.status) == ("hello-1", MessageStatus.DELIVERED)
    assert fetch_job(engine, job.id).get_status() == "finished"


def test_an_overdue_order_expires_and_its_notice_goes_out(engine, env_settings, db, session, world):
    order = make_order(session, world, at=utcnow() - timedelta(hours=3))
    helpers.add_order_expiry_job(str(order.id), order.expires_at, job_id=f"expiry-{order.id}")
    drain(engine, "orderExpiry", "whatsapp")
    with fresh(db) as s:
        assert s.get(Order, order.id).status == OrderStatus.EXPIRED
        notice = s.scalar(select(OutboundMessage))
    assert (notice.idempotency_key, notice.status) == (f"expiry-notice-{order.id}", MessageStatus.DELIVERED)


def test_a_permanent_error_dead_letters_at_once(engine, env_settings, db):
    helpers.add_vendor_fallback_job("4242", "1", job_id="fallback-missing")
    drain(engine, "vendorFallback")
    assert engine.conn.exists(keys.dlq_entry("fallback-missing"))
    assert engine.conn.hget(keys.dlq_entry("fallback-missing"), "runs") == b"1"


def test_the_daily_report_counts_the_jobs_the_worker_finished(engine, env_settings, db):
    for i in range(3):
        # three recipients: per-phone pacing would hold two messages to one phone past the burst worker's run
        helpers.add_whatsapp_message(f"+977982000000{i + 1}", f"message {i}", job_id=f"m-{i}")
    drain(engine, "whatsapp")
    today = utcnow().date()
    result = daily_reports.run(today.isoformat())
    assert result["messages_sent"] == 3
    with fresh(db) as s:
        figures = s.scalar(select(DailyReport)).figures
    assert figures["queues"]["per_queue"]["whatsapp"]["completed"] == 3
