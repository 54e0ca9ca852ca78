"""The demo's queue traffic (processors/demo.py): a realistic mix of jobs beside the data set, enqueued once."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from domain.clock import utcnow
from domain.demo_data import DemoSize
from domain.jobids import expiry_job_id
from domain.models import Order, OrderStatus
from processors.demo import enqueue_demo_jobs, seed_demo

from tests.domain_fixtures import due_at, fetch_job, fresh, job_ids

SMALL = DemoSize(wholesalers=8, retailers=20, history_days=3, orders_per_day=15, pending_orders=6,
                 overdue_pending_orders=2)


def all_jobs(engine):
    return {q: job_ids(engine, q) for q in engine.table.names}


def test_seeding_enqueues_a_realistic_mix_of_jobs(engine, settings, db):
    now = utcnow()  # real time: the queue schedules by the server's clock
    result = seed_demo(settings, now=now, size=SMALL, engine=engine)
    jobs = all_jobs(engine)
    assert result["jobs"] == {q: len(ids) for q, ids in jobs.items()}
    with fresh(db) as s:
        pending = s.scalars(select(Order).where(Order.status == OrderStatus.PENDING)).all()
    assert jobs["orderExpiry"] == {expiry_job_id(o.id, o.expires_at) for o in pending}
    for order in pending:
        score = due_at(engine, "orderExpiry", expiry_job_id(order.id, order.expires_at))
        if order.expires_at > now + timedelta(seconds=5):
            assert score == pytest.approx(order.expires_at.timestamp(), abs=0.01)
        else:
            assert score is None  # already due: waiting in line
    assert len(jobs["vendorFallback"]) == 6 and len(jobs["dailyReports"]) == 1 == len(jobs["creditReconciliation"])
    assert len(jobs["whatsapp"]) >= 20
    kwargs = fetch_job(engine, sorted(jobs["whatsapp"])[0]).kwargs
    assert kwargs["phone"].startswith("+977") and (kwargs.get("message") or kwargs.get("template"))


def test_enqueueing_the_demo_jobs_again_adds_nothing(engine, settings, db):
    now = utcnow()
    seed_demo(settings, now=now, size=SMALL, engine=engine)
    before = all_jobs(engine)
    with fresh(db) as s:
        enqueue_demo_jobs(s, settings, now, engine=engine)
    assert all_jobs(engine) == before


