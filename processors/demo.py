"""The demo: the data set (domain/seed.py) and the queue traffic a live system would have in line right after it
was written. `python -m processors seed` (run by `make run`) does both, once."""
from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.app import Engine, resolve

from domain import notices
from domain.clock import utcnow
from domain.db import session_scope
from domain.demo_data import DemoSize
from domain.jobids import daily_report_job_id, expiry_job_id, fallback_job_id
from domain.models import CreditAccount, Order, OrderStatus, Retailer, Wholesaler
from domain.seed import seed
from domain.settings import DomainSettings

from . import helpers

SEED = 20240602
FALLBACK_JOBS = 6
PROMO_RECIPIENTS = 20


def seed_demo(settings: DomainSettings, *, force: bool = False, with_jobs: bool = True, engine: Engine | None = None,
              now: datetime | None = None, size: DemoSize | None = None) -> dict[str, Any]:
    """Write the demo data set (see domain.seed.seed) and enqueue its jobs, once.

    The queue connection is checked before any data is written, so a missing server cannot
    leave data without jobs.
    """
    now = now or utcnow()
    queue_engine = resolve(engine) if with_jobs else None  # connects (and fails) before anything is written
    result = seed(settings, force=force, now=now, size=size)
    if result["seeded"] and queue_engine is not None:
        with session_scope(settings.database_url) as session:
            result["jobs"] = enqueue_demo_jobs(session, settings, now, engine=queue_engine)
    return result


def enqueue_demo_jobs(session: Session, settings: DomainSettings, now: datetime, *, engine: Engine | None = None,
                      seed: int = SEED) -> dict[str, int]:
    """Enqueue expiry checks for every pending order, a few fallbacks, WhatsApp traffic, a report and a reconciliation.

    Every job id is deterministic, so running this twice enqueues nothing new.
    """
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    pending = list(session.scalars(select(Order).where(Order.status == OrderStatus.PENDING).order_by(Order.id)))
    for order in pending:
        helpers.add_order_expiry_job(str(order.id), order.expires_at, job_id=expiry_job_id(order.id, order.expires_at),
                                     engine=engine)
        counts["orderExpiry"] += 1
    for order in sorted(pending, key=lambda o: o.created_at)[:FALLBACK_JOBS]:  # the longest-waiting ones
        offered_at = max(a.assigned_at for a in order.attempts)
        due = max(now, offered_at + timedelta(seconds=settings.vendor_confirm_timeout_s))
        helpers.add_vendor_fallback_job(str(order.id), str(order.wholesaler_id), run_at=due,
                                        job_id=fallback_job_id(order.id, order.wholesaler_id), engine=engine)
        counts["vendorFallback"] += 1
    counts["whatsapp"] += _whatsapp_traffic(session, pending, rng, now, engine)
    yesterday = now.astimezone(ZoneInfo(settings.scheduler_tz)).date() - timedelta(days=1)
    helpers.add_daily_report_job(yesterday, job_id=daily_report_job_id(yesterday), engine=engine)
    counts["dailyReports"] += 1
    helpers.add_credit_reconciliation_job(job_id=f"demo-reconciliation-{yesterday.isoformat()}", engine=engine)
    counts["creditReconciliation"] += 1
    return dict(counts)


UNDELIVERABLE_DEMO_PHONE = "+9779820000003"


def _whatsapp_traffic(session: Session, pending: list[Order], rng: random.Random, now: datetime,
                      engine: Engine | None) -> int:
    """Reminders for the newest orders (high priority), credit reminders (normal), a promotion (low, spread out)."""
    sent = 0
    for order in pending[-15:]:
        wholesaler = session.get(Wholesaler, order.wholesaler_id)
        text = (f"Reminder: order #{order.id} from {order.retailer.name} ({notices.money(order.items_total)}) "
                f"is still waiting for your confirmation.")
        helpers.add_whatsapp_message(wholesaler.phone, text, priority="high", reference=str(order.id),
                                     order_id=str(order.id), retailer_id=str(order.retailer_id),
                                     wholesaler_id=str(wholesaler.id), job_id=f"demo-reminder-{order.id}-{wholesaler.id}",
                                     engine=engine)
        sent += 1
    accounts = session.execute(select(CreditAccount, Retailer).join(Retailer, CreditAccount.retailer_id == Retailer.id)
                               .order_by(CreditAccount.id)).all()
    for account, retailer in ((a, r) for a, r in accounts if a.balance > a.credit_limit / 2):
        balance = f"{notices.money(account.balance)} of your {notices.money(account.credit_limit)} limit"
        helpers.add_whatsapp_message(retailer.phone, template={"name": "payment_reminder", "language": "en",
                                                               "params": [retailer.name, balance]},
                                     reference=f"account-{account.id}",
                                     retailer_id=str(retailer.id), account_id=str(account.id),
                                     job_id=f"demo-credit-{account.id}-{now.date().isoformat()}", engine=engine)
        sent += 1
    # the demo's fake Cloud API reports this recipient's messages undeliverable (131026): a failure after acceptance
    helpers.add_whatsapp_message(UNDELIVERABLE_DEMO_PHONE, template={"name": "order_failed", "language": "en",
                                                                     "params": ["Demo Kirana", "1001"]},
                                 job_id=f"demo-undeliverable-{now.date().isoformat()}", engine=engine)
    sent += 1
    retailers = list(session.scalars(select(Retailer).order_by(Retailer.id)))
    for retailer in rng.sample(retailers, min(PROMO_RECIPIENTS, len(retailers))):
        text = f"Namaste {retailer.name}! Dashain stock is in: order rice, oil and sugar today for next-day delivery."
        helpers.add_whatsapp_message(retailer.phone, text, priority="low", delay=rng.randint(0, 600),
                                     retailer_id=str(retailer.id),
                                     job_id=f"demo-promo-{retailer.id}-{now.date().isoformat()}", engine=engine)
        sent += 1
    return sent
