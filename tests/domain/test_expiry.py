from datetime import timedelta
from decimal import Decimal

import pytest

from domain import credit
from domain.errors import NotFound
from domain.expiry import ExpiryAction, expire_if_due
from domain.models import OrderStatus
from domain.orders import confirm_order

from tests.domain_fixtures import NOW, make_order


def test_a_pending_order_at_its_expiry_is_expired_and_its_hold_released(session, world):
    order = make_order(session, world, total="3000.00")
    outcome = expire_if_due(session, order.id, order.expires_at)
    assert outcome.action == ExpiryAction.EXPIRED
    assert (order.status, order.closed_at) == (OrderStatus.EXPIRED, order.expires_at)
    assert credit.available_credit(session, world.account) == Decimal("10000.00")
    assert outcome.notice.phone == world.retailer.phone
    assert outcome.notice.job_id == f"expiry-notice-{order.id}"
    assert f"#{order.id}" in outcome.notice.text and "released" in outcome.notice.text


def test_a_pending_order_before_its_expiry_is_not_due(session, world):
    order = make_order(session, world)
    outcome = expire_if_due(session, order.id, order.expires_at - timedelta(seconds=1))
    assert (outcome.action, order.status, outcome.notice) == (ExpiryAction.NOT_DUE, OrderStatus.PENDING, None)


def test_the_grace_absorbs_a_slightly_early_clock(session, world):
    order = make_order(session, world)
    outcome = expire_if_due(session, order.id, order.expires_at - timedelta(seconds=1), grace=timedelta(seconds=2))
    assert outcome.action == ExpiryAction.EXPIRED


def test_expiring_twice_expires_once_and_repeats_the_same_notice(session, world):
    order = make_order(session, world)
    first = expire_if_due(session, order.id, order.expires_at)
    second = expire_if_due(session, order.id, order.expires_at + timedelta(minutes=5))
    assert second.action == ExpiryAction.ALREADY_EXPIRED
    assert order.closed_at == order.expires_at
    assert second.notice == first.notice


def test_a_confirmed_order_is_left_alone(session, world):
    order = make_order(session, world)
    confirm_order(session, order.id, world.wholesalers[0].id, NOW)
    outcome = expire_if_due(session, order.id, order.expires_at + timedelta(hours=1))
    assert (outcome.action, order.status, outcome.notice) == (ExpiryAction.NOT_PENDING, OrderStatus.CONFIRMED, None)


def test_an_unknown_order_is_not_found(session, world):
    with pytest.raises(NotFound):
        expire_if_due(session, 999, NOW)
