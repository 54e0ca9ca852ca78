import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain import credit
from domain.db import session_scope
from domain.errors import NotFound
from domain.fallback import FallbackAction, fall_back
from domain.models import Order, OrderAttempt, OrderStatus
from domain.orders import confirm_order

from tests.domain_fixtures import NOW, make_order

LATER = NOW + timedelta(minutes=15)


def test_the_order_goes_to_the_best_ranked_active_untried_wholesaler(session, world):
    w1, w2, w3, closed = world.wholesalers
    order = make_order(session, world, wholesaler=0)
    outcome = fall_back(session, order.id, w1.id, LATER, 900)
    assert (outcome.action, outcome.wholesaler_id) == (FallbackAction.REASSIGNED, w2.id)  # not the inactive rank 0
    assert (order.wholesaler_id, order.fallback_count) == (w2.id, 1)
    failed = session.scalar(select(OrderAttempt).where(OrderAttempt.wholesaler_id == w1.id))
    assert (failed.failed_at, failed.next_wholesaler_id) == (LATER, w2.id)
    assert outcome.notice.phone == w2.phone and outcome.notice.job_id == f"fallback-notice-{order.id}-{w2.id}"
    assert "15 minutes" in outcome.notice.text


def test_wholesalers_already_tried_are_skipped(session, world):
    w1, w2, w3, _ = world.wholesalers
    order = make_order(session, world, wholesaler=1)  # w2 first
    assert fall_back(session, order.id, w2.id, LATER, 900).wholesaler_id == w1.id
    assert fall_back(session, order.id, w1.id, LATER + timedelta(minutes=15), 900).wholesaler_id == w3.id


def test_equal_ranks_fall_back_to_the_lower_id(session, world):
    w1, w2, w3, _ = world.wholesalers
    w3.rank = w2.rank
    order = make_order(session, world, wholesaler=0)
    assert fall_back(session, order.id, w1.id, LATER, 900).wholesaler_id == min(w2.id, w3.id)


def test_with_nobody_left_the_order_fails_and_its_hold_is_released(session, world):
    w1, w2, w3, _ = world.wholesalers
    order = make_order(session, world, wholesaler=0, total="4000.00")
    fall_back(session, order.id, w1.id, LATER, 900)
    fall_back(session, order.id, w2.id, LATER, 900)
    outcome = fall_back(session, order.id, w3.id, LATER, 900)
    assert outcome.action == FallbackAction.FAILED
    assert (order.status, order.closed_at) == (OrderStatus.FAILED, LATER)
    assert credit.available_credit(session, world.account) == Decimal("10000.00")
    assert outcome.notice.phone == world.retailer.phone and outcome.notice.job_id == f"order-failed-notice-{order.id}"


def test_a_confirmed_order_makes_the_fallback_stale(session, world):
    order = make_order(session, world)
    confirm_order(session, order.id, world.wholesalers[0].id, NOW)
    outcome = fall_back(session, order.id, world.wholesalers[0].id, LATER, 900)
    assert (outcome.action, outcome.notice) == (FallbackAction.STALE, None)
    assert order.status == OrderStatus.CONFIRMED


def test_a_fallback_for_a_wholesaler_that_is_no_longer_assigned_is_stale(session, world):
    order = make_order(session, world, wholesaler=0)
    outcome = fall_back(session, order.id, world.wholesalers[2].id, LATER, 900)
    assert outcome.action == FallbackAction.STALE
    assert order.wholesaler_id == world.wholesalers[0].id
    assert len(order.attempts) == 1


def test_running_the_same_fallback_twice_reassigns_once_and_replays_the_outcome(session, world):
    w1, w2, _, _ = world.wholesalers
    order = make_order(session, world, wholesaler=0)
    first = fall_back(session, order.id, w1.id, LATER, 900)
    second = fall_back(session, order.id, w1.id, LATER + timedelta(minutes=1), 900)
    assert (second.action, second.wholesaler_id, second.replayed) == (FallbackAction.REASSIGNED, w2.id, True)
    assert second.notice == first.notice
    assert order.fallback_count == 1 and len(order.attempts) == 2


def test_replaying_an_old_fallback_after_the_order_moved_on_is_stale(session, world):
    w1, w2, _, _ = world.wholesalers
    order = make_order(session, world, wholesaler=0)
    fall_back(session, order.id, w1.id, LATER, 900)
    fall_back(session, order.id, w2.id, LATER, 900)
    assert fall_back(session, order.id, w1.id, LATER, 900).action == FallbackAction.STALE


def test_an_unknown_order_is_not_found(session, world):
    with pytest.raises(NotFound):
        fall_back(session, 999, 1, NOW, 900)


def test_concurrent_runs_of_one_fallback_reassign_once(db, session, world):
    order = make_order(session, world, wholesaler=0)
    barrier, outcomes, errors = threading.Barrier(4), [], []

    def worker():
        try:
            barrier.wait()
            with session_scope(db) as s:
                outcomes.append(fall_back(s, order.id, world.wholesalers[0].id, LATER, 900))
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(o.replayed for o in outcomes) == [False, True, True, True]
    assert {o.wholesaler_id for o in outcomes} == {world.wholesalers[1].id}
    session.expire_all()
    assert session.get(Order, order.id).fallback_count == 1
