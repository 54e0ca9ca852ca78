"""Vendor fallback: when the assigned wholesaler does not confirm, offer the order to the next one."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import job_outbox, notices
from .clock import as_utc
from .jobids import fallback_job_id
from .models import Order, OrderAttempt, OrderStatus, Wholesaler
from .orders import close_order, get_order

NO_WHOLESALER_REASON = "no eligible wholesaler left"
FALLBACK_QUEUE = "vendorFallback"


class FallbackAction(StrEnum):
    """What a fallback did."""

    REASSIGNED = "reassigned"  # offered to the next wholesaler
    FAILED = "failed"  # nobody left: the order failed
    STALE = "stale"  # confirmed, closed or already moved on: nothing to do


@dataclass(frozen=True)
class FallbackOutcome:
    """The fallback's result and the notice to send, if any."""

    action: FallbackAction
    order_id: int
    wholesaler_id: int | None = None  # the newly assigned one
    notice: notices.Notice | None = None
    replayed: bool = False  # an earlier run of the same job made this change; only its notices are re-asked


def next_wholesaler(session: Session, order_id: int) -> Wholesaler | None:
    """The best-ranked active wholesaler this order has not been offered to yet."""
    tried = select(OrderAttempt.wholesaler_id).where(OrderAttempt.order_id == order_id)
    stmt = (select(Wholesaler).where(Wholesaler.active.is_(True), Wholesaler.id.not_in(tried))
            .order_by(Wholesaler.rank, Wholesaler.id).limit(1))
    return session.scalar(stmt)


def fall_back(session: Session, order_id: int, failed_wholesaler_id: int, now: datetime,
              confirm_within_s: int) -> FallbackOutcome:
    """Record `failed_wholesaler_id` as tried and reassign the order, or fail it when nobody is left."""
    now = as_utc(now)
    order = get_order(session, order_id, lock=True)
    attempt = session.scalar(select(OrderAttempt).where(
        OrderAttempt.order_id == order.id, OrderAttempt.wholesaler_id == failed_wholesaler_id))
    if attempt is not None and attempt.failed_at is not None:
        return _ask_jobs(session, _replay(session, order, attempt, confirm_within_s), now, confirm_within_s)
    if order.status != OrderStatus.PENDING or order.wholesaler_id != failed_wholesaler_id:
        return FallbackOutcome(FallbackAction.STALE, order.id, order.wholesaler_id)
    if attempt is None:  # orders created before attempts were tracked
        attempt = OrderAttempt(order_id=order.id, wholesaler_id=failed_wholesaler_id, assigned_at=order.created_at)
        session.add(attempt)
    attempt.failed_at = now
    session.flush()
    nxt = next_wholesaler(session, order.id)
    if nxt is None:
        close_order(session, order, OrderStatus.FAILED, now, NO_WHOLESALER_REASON)
        return _ask_jobs(session, FallbackOutcome(FallbackAction.FAILED, order.id, None,
                                                  notices.order_failed(order, order.retailer)), now, confirm_within_s)
    attempt.next_wholesaler_id = nxt.id
    order.wholesaler_id = nxt.id
    order.fallback_count += 1
    session.add(OrderAttempt(order_id=order.id, wholesaler_id=nxt.id, assigned_at=now))
    session.flush()
    return _ask_jobs(session, FallbackOutcome(FallbackAction.REASSIGNED, order.id, nxt.id,
                                              notices.order_offered(order, nxt, order.retailer, confirm_within_s)),
                     now, confirm_within_s)


def _ask_jobs(session: Session, outcome: FallbackOutcome, now: datetime, confirm_within_s: int) -> FallbackOutcome:
    """Write the outcome's jobs to the outbox in this transaction: its notice, and for a reassignment the
    new wholesaler's confirmation timeout. A replay asks for the same job ids, which changes nothing."""
    if outcome.notice is not None:
        job_outbox.add_notice(session, outcome.notice, now)
    if outcome.action == FallbackAction.REASSIGNED:
        data = {"order_id": str(outcome.order_id), "failed_wholesaler_id": str(outcome.wholesaler_id)}
        job_outbox.add_after(session, FALLBACK_QUEUE, data, fallback_job_id(outcome.order_id, outcome.wholesaler_id),
                             now, confirm_within_s)
    return outcome


def _replay(session: Session, order: Order, attempt: OrderAttempt, confirm_within_s: int) -> FallbackOutcome:
    """The same fallback already ran; if its result still stands, return it so notices are re-asked."""
    pending = order.status == OrderStatus.PENDING
    if pending and attempt.next_wholesaler_id is not None and order.wholesaler_id == attempt.next_wholesaler_id:
        nxt = session.get(Wholesaler, attempt.next_wholesaler_id)
        return FallbackOutcome(FallbackAction.REASSIGNED, order.id, nxt.id,
                               notices.order_offered(order, nxt, order.retailer, confirm_within_s), replayed=True)
    if (order.status == OrderStatus.FAILED and attempt.next_wholesaler_id is None
            and order.wholesaler_id == attempt.wholesaler_id):
        return FallbackOutcome(FallbackAction.FAILED, order.id, None, notices.order_failed(order, order.retailer),
                               replayed=True)
    return FallbackOutcome(FallbackAction.STALE, order.id, order.wholesaler_id)
