import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain import credit
from domain.models import Order, OrderAttempt, OrderStatus
from domain.orders import confirm_order
from engine.errors import PermanentError
from processors import vendor_fallback

from tests.domain_fixtures import NOW, due_at, fetch_job, fresh, job_ids, make_order

LATER = NOW + timedelta(minutes=15)


def fall(order_id, wholesaler, settings, now=LATER):
    return vendor_fallback.run(str(order_id), str(wholesaler.id), settings=settings, now=now)


def order_row(db, order_id):
    with fresh(db) as s:
        return s.get(Order, order_id)


def test_the_next_wholesaler_is_assigned_notified_and_given_a_confirmation_deadline(engine, settings, db, session,
                                                                                      world):
    w1, w2, _, _ = world.wholesalers
    order = make_order(session, world, wholesaler=0)
    before = time.time()
    result = fall(order.id, w1, settings)
    assert (result["action"], result["wholesaler_id"]) == ("reassigned", w2.id)
    assert order_row(db, order.id).wholesaler_id == w2.id
    notice = fetch_job(engine, f"fallback-notice-{order.id}-{w2.id}")
    assert notice.kwargs["phone"] == w2.phone and notice.kwargs["template"]["name"] == "order_offered"
    assert notice.kwargs["template"]["params"][0] == str(order.id)
    timeout_id = f"fallback-{order.id}-{w2.id}"
    assert fetch_job(engine, timeout_id).kwargs == {"order_id": str(order.id), "failed_wholesaler_id": str(w2.id)}
    assert due_at(engine, "vendorFallback", timeout_id) == pytest.approx(before + 900, abs=5)
    with fresh(db) as s:
        tried = dict(s.execute(select(OrderAttempt.wholesaler_id, OrderAttempt.failed_at)).all())
    assert tried == {w1.id: LATER, w2.id: None}


def test_the_same_job_run_twice_has_one_effect(engine, settings, db, session, world):
    w1, w2, _, _ = world.wholesalers
    order = make_order(session, world, wholesaler=0)
    fall(order.id, w1, settings)
    again = fall(order.id, w1, settings, now=LATER + timedelta(minutes=1))
    assert (again["action"], again["replayed"]) == ("reassigned", True)
    assert order_row(db, order.id).fallback_count == 1
    assert job_ids(engine, "whatsapp") == {f"fallback-notice-{order.id}-{w2.id}"}
    assert job_ids(engine, "vendorFallback") == {f"fallback-{order.id}-{w2.id}"}


def test_the_timeout_job_moves_the_order_on_when_nobody_confirmed(engine, settings, db, session, world):
    w1, w2, w3, _ = world.wholesalers
    order = make_order(session, world, wholesaler=0)
    fall(order.id, w1, settings)
    timeout = fetch_job(engine, f"fallback-{order.id}-{w2.id}")
    result = vendor_fallback.run(**timeout.kwargs, settings=settings, now=LATER + timedelta(minutes=15))
    assert (result["action"], result["wholesaler_id"]) == ("reassigned", w3.id)


def test_the_timeout_job_is_stale_once_the_order_is_confirmed(engine, settings, db, session, world):
    w1, w2, _, _ = world.wholesalers
    order = make_order(session, world, wholesaler=0)
    fall(order.id, w1, settings)
    with fresh(db) as s:
        confirm_order(s, order.id, w2.id, LATER + timedelta(minutes=3))
        s.commit()
    engine.conn.flushdb()
    result = fall(order.id, w2, settings, now=LATER + timedelta(minutes=15))
    assert result["action"] == "stale"
    assert order_row(db, order.id).status == OrderStatus.CONFIRMED
    assert job_ids(engine, "whatsapp") == set() and job_ids(engine, "vendorFallback") == set()


def test_a_job_for_a_wholesaler_that_is_no_longer_assigned_is_stale(engine, settings, db, session, world):
    order = make_order(session, world, wholesaler=0)
    assert fall(order.id, world.wholesalers[1], settings)["action"] == "stale"
    assert order_row(db, order.id).wholesaler_id == world.wholesalers[0].id
    assert job_ids(engine, "whatsapp") == set()


def test_with_nobody_left_the_order_fails_releases_credit_and_tells_the_retailer(engine, settings, db, session,
                                                                                  world):
    w1, w2, w3, _ = world.wholesalers
    order = make_order(session, world, wholesaler=0, total="4000.00")
    fall(order.id, w1, settings)
    fall(order.id, w2, settings)
    result = fall(order.id, w3, settings)
    assert result["action"] == "failed"
    assert order_row(db, order.id).status == OrderStatus.FAILED
    with fresh(db) as s:
        assert credit.held_amount(s, world.account.id) == Decimal("0.00")
    notice = fetch_job(engine, f"order-failed-notice-{order.id}")
    assert notice.kwargs["phone"] == world.retailer.phone
    assert fall(order.id, w3, settings)["replayed"] is True  # a rerun re-asks for the same notice only
    failure_notices = {j for j in job_ids(engine, "whatsapp") if j.startswith("order-failed")}
    assert failure_notices == {f"order-failed-notice-{order.id}"}


@pytest.mark.parametrize("order_id", ["999", "x-1"])
def test_an_unknown_order_is_permanent(engine, settings, db, world, order_id):
    with pytest.raises(PermanentError, match="unknown order"):
        vendor_fallback.run(order_id, "1", settings=settings, now=NOW)
