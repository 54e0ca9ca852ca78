from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain import credit
from domain.errors import CreditLimitExceeded
from domain.models import CreditHold, HoldStatus, LedgerEntry, Order, PaymentMethod
from domain.orders import cancel_order, confirm_order, place_order

from tests.domain_fixtures import NOW, make_order


def test_a_credit_order_holds_its_total_and_lowers_available_credit(session, world):
    order = make_order(session, world, total="2500.00")
    hold = session.scalar(select(CreditHold).where(CreditHold.order_id == order.id))
    assert (hold.amount, hold.status) == (Decimal("2500.00"), HoldStatus.ACTIVE)
    assert credit.available_credit(session, world.account) == Decimal("7500.00")
    assert world.account.balance == Decimal("0.00")  # a hold is not a debt yet


def test_an_order_over_the_available_credit_is_refused_and_writes_nothing(session, world):
    make_order(session, world, total="9000.00")
    with pytest.raises(CreditLimitExceeded):
        place_order(session, world.retailer, world.wholesalers[0], Decimal("1000.01"), NOW,
                    payment_method=PaymentMethod.CREDIT)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Order)) == 1


def test_confirmation_turns_the_hold_into_a_ledger_debit(session, world):
    order = make_order(session, world, total="2500.00")
    confirm_order(session, order.id, world.wholesalers[0].id, NOW + timedelta(minutes=5))
    session.commit()
    entry = session.scalar(select(LedgerEntry))
    assert (entry.kind, entry.direction, entry.amount) == ("order", "debit", Decimal("2500.00"))
    assert entry.order_id == order.id
    assert world.account.balance == Decimal("2500.00")
    assert credit.held_amount(session, world.account.id) == Decimal("0.00")
    assert credit.available_credit(session, world.account) == Decimal("7500.00")


def test_releasing_a_hold_twice_releases_it_once(session, world):
    order = make_order(session, world)
    assert credit.release_hold(session, order.id, NOW) is not None
    assert credit.release_hold(session, order.id, NOW) is None
    assert credit.available_credit(session, world.account) == Decimal("10000.00")


def test_cancelling_releases_the_hold_without_touching_the_ledger(session, world):
    order = make_order(session, world)
    cancel_order(session, order.id, NOW)
    session.commit()
    assert session.scalar(select(CreditHold.status)) == HoldStatus.RELEASED
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_a_payment_credits_the_ledger_and_lowers_the_balance(session, world):
    credit.post_entry(session, world.account, "opening", "debit", Decimal("1200.40"), NOW)
    credit.record_payment(session, world.account, Decimal("200.15"), NOW, reference="cash")
    session.commit()
    assert world.account.balance == Decimal("1000.25")
    assert credit.ledger_balance(session, world.account.id) == Decimal("1000.25")


def test_ledger_amounts_must_be_positive(session, world):
    with pytest.raises(ValueError):
        credit.record_payment(session, world.account, Decimal("0"), NOW)


def test_stored_and_ledger_balances_show_a_balance_changed_outside_the_ledger(session, world):
    credit.post_entry(session, world.account, "opening", "debit", Decimal("500.00"), NOW)
    world.account.balance += Decimal("75.25")
    session.commit()
    assert credit.stored_and_ledger_balances(session) == [(world.account.id, Decimal("575.25"), Decimal("500.00"))]
