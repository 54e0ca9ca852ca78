"""Expiring a pending order that no wholesaler confirmed in time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from . import job_outbox, notices
from .clock import as_utc
from .models import OrderStatus
from .orders import close_order, get_order

EXPIRY_REASON = "no wholesaler confirmed before expires_at"


class ExpiryAction(StrEnum):
    """What an expiry check did."""

    EXPIRED = "expired"  # this call expired the order
    ALREADY_EXPIRED = "already_expired"  # an earlier run did; its notice is asked for again
    NOT_PENDING = "not_pending"  # confirmed, cancelled or failed: nothing to do
    NOT_DUE = "not_due"  # expires_at is still ahead (it was moved later): check again then


@dataclass(frozen=True)
class ExpiryOutcome:
    """The check's result and the notice to send, if any."""

    action: ExpiryAction
    order_id: int
    status: str
    expires_at: datetime
    notice: notices.Notice | None = None


def expire_if_due(session: Session, order_id: int, now: datetime, *, grace: timedelta = timedelta(0)) -> ExpiryOutcome:
    """Expire the order if it is still pending at or after its stored `expires_at`.

    The stored `expires_at` wins over the one the job was scheduled with, so moving an
    expiry later needs only a database update plus a new job. `grace` treats an order due
    within that margin as due, absorbing clock skew between the queue server and this host.
    """
    now = as_utc(now)
    order = get_order(session, order_id, lock=True)
    if order.status == OrderStatus.EXPIRED:
        notice = notices.order_expired(order, order.retailer)
        job_outbox.add_notice(session, notice, now)
        return ExpiryOutcome(ExpiryAction.ALREADY_EXPIRED, order.id, order.status, order.expires_at, notice)
    if order.status != OrderStatus.PENDING:
        return ExpiryOutcome(ExpiryAction.NOT_PENDING, order.id, order.status, order.expires_at)
    if order.expires_at > now + grace:
        return ExpiryOutcome(ExpiryAction.NOT_DUE, order.id, order.status, order.expires_at)
    close_order(session, order, OrderStatus.EXPIRED, now, EXPIRY_REASON)
    notice = notices.order_expired(order, order.retailer)
    job_outbox.add_notice(session, notice, now)  # committed with the expiry, relayed after
    return ExpiryOutcome(ExpiryAction.EXPIRED, order.id, order.status, order.expires_at, notice)


def overdue_pending(session: Session, now: datetime, *, limit: int = 1000) -> list[tuple[int, datetime]]:
    """(order id, expires_at) of pending orders already past their expiry, oldest first."""
    from sqlalchemy import select

    from .models import Order

    rows = session.execute(
        select(Order.id, Order.expires_at)
        .where(Order.status == OrderStatus.PENDING, Order.expires_at <= now)
        .order_by(Order.expires_at)
        .limit(limit)
    ).all()
    return [(order_id, as_utc(expires_at)) for order_id, expires_at in rows]
