from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain import credit
from domain.clock import utcnow
from domain.models import CreditHold, HoldStatus, Order, OrderStatus
from domain.orders import cancel_order, confirm_order
from engine.errors import PermanentError
from processors import order_expiry

from tests.domain_fixtures import NOW, as_job, due_at, fetch_job, fresh, job_ids, make_order


def run(order, settings, now, **kw):
    return order_expiry.run(str(order.id), order.expires_at.isoformat(), settings=settings, now=now, **kw)


def order_row(db, order_id):
    with fresh(db) as s:
        return s.get(Order, order_id)


def test_a_due_pending_order_expires_releases_credit_and_tells_the_retailer(engine, settings, db, session, world):
    order = make_order(session, world, total="2500.00")
    result = run(order, settings, order.expires_at)
    assert (result["action"], order_row(db, order.id).status) == ("expired", OrderStatus.EXPIRED)
    with fresh(db) as s:
        assert s.scalar(select(CreditHold.status)) == HoldStatus.RELEASED
        assert credit.available_credit(s, s.merge(world.account)) == Decimal("10000.00")
    job = fetch_job(engine, f"expiry-notice-{order.id}")
    assert job.kwargs["phone"] == world.retailer.phone and job.kwargs["reference"] == str(order.id)
    assert job.kwargs["template"] == {"name": "order_expired", "language": "en",
                                      "params": [world.retailer.name, str(order.id)]}
    assert job_ids(engine, "whatsapp") == {f"expiry-notice-{order.id}"}


def test_running_twice_expires_once_and_enqueues_one_notice(engine, settings, db, session, world):
    order = make_order(session, world)
    run(order, settings, order.expires_at)
    again = run(order, settings, order.expires_at + timedelta(minutes=1))
    assert again["action"] == "already_expired"
    assert order_row(db, order.id).closed_at == order.expires_at
    assert job_ids(engine, "whatsapp") == {f"expiry-notice-{order.id}"}


@pytest.mark.parametrize("close", ["confirm", "cancel"])
def test_a_confirmed_or_cancelled_order_is_a_no_op(engine, settings, db, session, world, close):
    order = make_order(session, world)
    if close == "confirm":
        confirm_order(session, order.id, world.wholesalers[0].id, NOW)
    else:
        cancel_order(session, order.id, NOW)
    session.commit()
    before = order_row(db, order.id).status
    result = run(order, settings, order.expires_at)
    assert result["action"] == "not_pending" and order_row(db, order.id).status == before
    assert job_ids(engine, "whatsapp") == set() and job_ids(engine, "orderExpiry") == set()


def test_an_expiry_moved_later_is_rescheduled_for_the_new_time(engine, settings, db, session, world):
    order = make_order(session, world, at=utcnow())  # real time: the queue schedules by the server's clock
    old = order.expires_at
    new = old + timedelta(hours=1)
    order.expires_at = new
    session.commit()
    result = order_expiry.run(str(order.id), old.isoformat(), settings=settings, now=old)
    job_id = f"expiry-{order.id}-{int(new.timestamp())}"
    assert (result["action"], result["rescheduled_job_id"]) == ("not_due", job_id)
    assert order_row(db, order.id).status == OrderStatus.PENDING
    kwargs = fetch_job(engine, job_id).kwargs
    assert kwargs["order_id"] == str(order.id) and datetime.fromisoformat(kwargs["expires_at"]) == new
    assert due_at(engine, "orderExpiry", job_id) == pytest.approx(new.timestamp(), abs=0.01)
    run(order, settings, old)  # asking again schedules nothing new
    assert job_ids(engine, "orderExpiry") == {job_id}


def test_an_early_run_of_the_expiry_job_itself_gets_a_fresh_job_id(engine, settings, db, session, world):
    order = make_order(session, world, at=utcnow())
    own_id = f"expiry-{order.id}-{int(order.expires_at.timestamp())}"
    with as_job(engine, own_id, "orderExpiry"):
        result = run(order, settings, order.expires_at - timedelta(minutes=10))
    assert result["rescheduled_job_id"].startswith(own_id + "-")
    assert due_at(engine, "orderExpiry", result["rescheduled_job_id"]) is not None


def test_a_few_seconds_of_clock_skew_still_expire_the_order(engine, settings, db, session, world):
    order = make_order(session, world)
    assert run(order, settings, order.expires_at - timedelta(seconds=1))["action"] == "expired"


@pytest.mark.parametrize("order_id", ["999", "abc"])
def test_an_unknown_order_is_permanent(engine, settings, db, world, order_id):
    with pytest.raises(PermanentError, match="unknown order"):
        order_expiry.run(order_id, NOW.isoformat(), settings=settings, now=NOW)


def test_a_malformed_expiry_is_permanent(engine, settings, db, session, world):
    order = make_order(session, world)
    with pytest.raises(PermanentError, match="expires_at"):
        order_expiry.run(str(order.id), "tomorrow", settings=settings, now=NOW)


def test_a_retailer_phone_the_queue_refuses_is_permanent_after_the_expiry(engine, settings, db, session, world):
    world.retailer.phone = "not-a-phone"
    order = make_order(session, world)
    with pytest.raises(PermanentError, match="cannot enqueue notice"):
        run(order, settings, order.expires_at)
    assert order_row(db, order.id).status == OrderStatus.EXPIRED  # the business change stands


def test_sweep_enqueues_expiry_for_overdue_orders_whose_job_was_lost_and_only_once(engine, settings, db, session,
                                                                                   world):
    lost = make_order(session, world)
    not_yet = make_order(session, world, ttl=timedelta(hours=5))
    later = lost.expires_at + timedelta(minutes=1)
    assert order_expiry.sweep(later, settings=settings) == 1
    assert job_ids(engine, "orderExpiry") == {f"expiry-{lost.id}-{int(lost.expires_at.timestamp())}"}
    assert order_expiry.sweep(later, settings=settings) == 1  # asked again: still one job
    assert len(job_ids(engine, "orderExpiry")) == 1
    assert not_yet.id not in {int(i.split("-")[1]) for i in job_ids(engine, "orderExpiry")}
