from datetime import timedelta

import pytest

from domain.errors import InvalidTransition, NotFound
from domain.models import OrderStatus
from domain.orders import cancel_order, confirm_order, get_order

from tests.domain_fixtures import NOW, make_order


def test_a_new_order_is_pending_until_its_expiry_and_offered_to_one_wholesaler(session, world):
    order = make_order(session, world, ttl=timedelta(minutes=30))
    assert order.status == OrderStatus.PENDING
    assert order.expires_at == NOW + timedelta(minutes=30)
    assert [a.wholesaler_id for a in order.attempts] == [world.wholesalers[0].id]


def test_only_the_assigned_wholesaler_can_confirm(session, world):
    order = make_order(session, world)
    with pytest.raises(InvalidTransition):
        confirm_order(session, order.id, world.wholesalers[1].id, NOW)
    confirmed = confirm_order(session, order.id, world.wholesalers[0].id, NOW)
    assert (confirmed.status, confirmed.confirmed_at) == (OrderStatus.CONFIRMED, NOW)


def test_a_closed_order_cannot_be_confirmed_or_cancelled(session, world):
    order = make_order(session, world)
    cancel_order(session, order.id, NOW)
    with pytest.raises(InvalidTransition):
        confirm_order(session, order.id, world.wholesalers[0].id, NOW)
    with pytest.raises(InvalidTransition):
        cancel_order(session, order.id, NOW)


def test_an_unknown_order_is_not_found(session, world):
    with pytest.raises(NotFound):
        get_order(session, 4242)
