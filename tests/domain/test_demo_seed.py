"""The demo data set (domain/seed.py): deterministic, planted discrepancies, every order status, written once."""
from datetime import timedelta

from sqlalchemy import func, select

from domain.demo_data import DemoSize
from domain.models import CreditHold, HoldStatus, Order, OrderStatus, Wholesaler
from domain.reconciliation import reconcile
from domain.seed import seed

from tests.domain_fixtures import NOW, fresh

SMALL = DemoSize(wholesalers=8, retailers=20, history_days=3, orders_per_day=15, pending_orders=6,
                 overdue_pending_orders=2)


def test_reconciliation_finds_exactly_the_deliberately_broken_accounts(settings, db):
    result = seed(settings, now=NOW, size=SMALL)
    with fresh(db) as s:
        summary = reconcile(s, NOW, settings.reconciliation_alert_threshold, settings.support_phone)
    assert sorted(d["account_id"] for d in summary.discrepancies) == result["tampered_accounts"]
    assert len(summary.alerts) == 3  # 1500, -2250.50 and 800 exceed 100; 45 and -0.50 do not


def test_pending_orders_wait_for_a_future_expiry_except_the_overdue_ones(settings, db):
    seed(settings, now=NOW, size=SMALL)
    with fresh(db) as s:
        pending = s.scalars(select(Order).where(Order.status == OrderStatus.PENDING)).all()
        overdue = [o for o in pending if o.expires_at <= NOW]
        assert len(pending) == 8 and len(overdue) == 2
        assert all(o.expires_at <= NOW + timedelta(hours=2) for o in pending)
        credit_pending = {o.id for o in pending if o.payment_method == "credit"}
        active_holds = set(s.scalars(select(CreditHold.order_id).where(CreditHold.status == HoldStatus.ACTIVE)))
        assert active_holds == credit_pending


def test_seeding_is_deterministic(settings, db, tmp_path):
    first = seed(settings, now=NOW, size=SMALL)
    other = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'other.sqlite3'}"})
    assert seed(other, now=NOW, size=SMALL) == first


def test_seeding_a_seeded_database_does_nothing_unless_forced(settings, db):
    seed(settings, now=NOW, size=SMALL)
    with fresh(db) as s:
        s.execute(Wholesaler.__table__.update().values(name="renamed"))
        s.commit()
    assert seed(settings, now=NOW, size=SMALL)["seeded"] is False
    with fresh(db) as s:
        assert set(s.scalars(select(Wholesaler.name))) == {"renamed"}
    assert seed(settings, force=True, now=NOW, size=SMALL)["seeded"] is True
    with fresh(db) as s:
        assert "renamed" not in set(s.scalars(select(Wholesaler.name)))
        assert s.scalar(select(func.count()).select_from(Wholesaler)) == SMALL.wholesalers


def test_even_a_small_data_set_covers_every_order_status(settings, db):
    result = seed(settings, now=NOW, size=SMALL)
    assert set(result["orders"]) == {s.value for s in OrderStatus}
