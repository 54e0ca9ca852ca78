"""Order lifecycle: place (with a credit hold), confirm (capturing it) and cancel (releasing it)."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import credit, job_outbox
from .errors import CreditLimitExceeded, InvalidTransition, NotFound
from .jobids import expiry_job_id
from .models import Order, OrderAttempt, OrderStatus, PaymentMethod, Retailer, Wholesaler, to_money

DEFAULT_ORDER_TTL = timedelta(hours=2)
EXPIRY_QUEUE = "orderExpiry"


def get_order(session: Session, order_id: int, *, lock: bool = False) -> Order:
    """The order, optionally locked for update; NotFound if it does not exist."""
    stmt = select(Order).where(Order.id == order_id)
    if lock:
        stmt = stmt.with_for_update()
    order = session.scalar(stmt)
    if order is None:
        raise NotFound("order", order_id)
    return order


def place_order(session: Session, retailer: Retailer, wholesaler: Wholesaler, items_total: Decimal, now: datetime,
                *, payment_method: PaymentMethod = PaymentMethod.CASH, item_count: int = 1,
                ttl: timedelta = DEFAULT_ORDER_TTL) -> Order:
    """A pending order offered to `wholesaler`; a credit order reserves its total on the retailer's account.
    Its expiry job is asked for in the same transaction (domain/job_outbox.py)."""
    account = None
    if payment_method == PaymentMethod.CREDIT:
        if retailer.credit_account is None:
            raise InvalidTransition(f"retailer {retailer.id} has no credit account")
        account = credit.get_account(session, retailer.credit_account.id, lock=True)
        if credit.available_credit(session, account) < to_money(items_total):
            raise CreditLimitExceeded(f"account {account.id} cannot cover {to_money(items_total)}")
    order = Order(retailer_id=retailer.id, wholesaler_id=wholesaler.id, status=OrderStatus.PENDING,
                  payment_method=payment_method, items_total=to_money(items_total), item_count=item_count,
                  created_at=now, expires_at=now + ttl)
    session.add(order)
    session.flush()
    session.add(OrderAttempt(order_id=order.id, wholesaler_id=wholesaler.id, assigned_at=now))
    if account is not None:
        credit.place_hold(session, account, order, now)
    job_outbox.add(session, EXPIRY_QUEUE, {"order_id": str(order.id), "expires_at": order.expires_at.isoformat()},
                   expiry_job_id(order.id, order.expires_at), now, run_at=order.expires_at)
    session.flush()
    return order


def confirm_order(session: Session, order_id: int, wholesaler_id: int, now: datetime) -> Order:
    """The assigned wholesaler accepts: the order is confirmed and a credit hold becomes a ledger debit."""
    order = get_order(session, order_id, lock=True)
    if order.status != OrderStatus.PENDING:
        raise InvalidTransition(f"order {order.id} is {order.status}, not pending")
    if order.wholesaler_id != wholesaler_id:
        raise InvalidTransition(f"order {order.id} is assigned to wholesaler {order.wholesaler_id}")
    order.status = OrderStatus.CONFIRMED
    order.confirmed_at = now
    order.closed_at = now
    credit.capture_hold(session, order, now)
    session.flush()
    return order


def close_order(session: Session, order: Order, status: OrderStatus, now: datetime, reason: str) -> Order:
    """Move a pending order to expired, failed or cancelled and release its credit hold."""
    if status not in (OrderStatus.EXPIRED, OrderStatus.FAILED, OrderStatus.CANCELLED):
        raise ValueError(f"{status} is not a closing status")
    if order.status != OrderStatus.PENDING:
        raise InvalidTransition(f"order {order.id} is {order.status}, not pending")
    order.status = status
    order.closed_at = now
    order.close_reason = reason
    credit.release_hold(session, order.id, now)
    session.flush()
    return order


def cancel_order(session: Session, order_id: int, now: datetime, reason: str = "cancelled by retailer") -> Order:
    """The retailer withdraws a pending order."""
    return close_order(session, get_order(session, order_id, lock=True), OrderStatus.CANCELLED, now, reason)
