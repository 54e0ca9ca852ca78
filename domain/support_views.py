"""Read-only views for the support desk: an order with its chain, hold and messages; a retailer; a phone.

Each function takes a Session, reads, and returns plain dicts (no ORM objects escape the session),
bounded by a limit so a busy retailer or phone never loads everything.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import delivery
from .clock import as_utc
from .credit import available_credit, held_amount
from .models import CreditHold, MessageDelivery, Order, OrderAttempt, OutboundMessage, Retailer, Wholesaler

DEFAULT_LIMIT = 50


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _party(p: Retailer | Wholesaler | None) -> dict[str, Any] | None:
    return None if p is None else {"id": p.id, "name": p.name, "phone": p.phone}


def _delivery(d: MessageDelivery | None) -> dict[str, Any] | None:
    """What the status webhooks said after the provider accepted the message (None: no status record)."""
    if d is None:
        return None
    return {"state": d.state, "wamid": d.wamid, "accepted_at": _iso(d.accepted_at), "sent_at": _iso(d.sent_at),
            "delivered_at": _iso(d.delivered_at), "read_at": _iso(d.read_at), "failed_at": _iso(d.failed_at),
            "error_code": d.error_code, "error": d.error}


def _message(m: OutboundMessage, d: MessageDelivery | None = None) -> dict[str, Any]:
    return {"delivery": _delivery(d), "id": m.id, "job_id": m.idempotency_key, "recipient": m.recipient, "status": m.status,
            "error_code": m.error_code, "error": m.error, "attempts": m.attempts, "provider": m.provider,
            "provider_message_id": m.provider_message_id, "reference": m.reference, "body": m.body,
            "created_at": _iso(m.created_at), "updated_at": _iso(m.updated_at), "sent_at": _iso(m.sent_at)}


def _messages(session: Session, *conditions: Any, limit: int) -> list[dict[str, Any]]:
    stmt = (select(OutboundMessage).where(*conditions)
            .order_by(OutboundMessage.created_at.desc(), OutboundMessage.id.desc()).limit(limit))
    found = list(session.scalars(stmt))
    latest: dict[str, MessageDelivery] = {}  # per send job, its latest accepted send (a resend supersedes)
    for d in sorted(delivery.for_reference(session, [m.idempotency_key for m in found]),
                    key=lambda d: (d.accepted_at is not None, as_utc(d.accepted_at) if d.accepted_at else 0)):
        latest[d.message_key or ""] = d
    return [_message(m, latest.get(m.idempotency_key)) for m in found]


def order_view(session: Session, order_id: int, *, limit: int = DEFAULT_LIMIT) -> dict[str, Any] | None:
    """The order's record, its retailer, current wholesaler, fallback chain, credit hold and messages; None if absent."""
    order = session.get(Order, order_id)
    if order is None:
        return None
    names = {w.id: w for w in session.scalars(
        select(Wholesaler).where(Wholesaler.id.in_(select(OrderAttempt.wholesaler_id)
                                                   .where(OrderAttempt.order_id == order.id))))}
    chain = [{"wholesaler": _party(names.get(a.wholesaler_id)) or {"id": a.wholesaler_id},
              "assigned_at": _iso(a.assigned_at), "failed_at": _iso(a.failed_at),
              "next_wholesaler_id": a.next_wholesaler_id, "current": a.wholesaler_id == order.wholesaler_id}
             for a in order.attempts]
    hold = session.scalar(select(CreditHold).where(CreditHold.order_id == order.id))
    return {
        "id": order.id, "status": order.status, "payment_method": order.payment_method,
        "items_total": str(order.items_total), "item_count": order.item_count,
        "created_at": _iso(order.created_at), "expires_at": _iso(order.expires_at),
        "confirmed_at": _iso(order.confirmed_at), "closed_at": _iso(order.closed_at),
        "close_reason": order.close_reason, "fallback_count": order.fallback_count,
        "retailer": _party(order.retailer), "wholesaler": _party(order.wholesaler), "chain": chain,
        "credit_hold": None if hold is None else {
            "account_id": hold.account_id, "amount": str(hold.amount), "status": hold.status,
            "created_at": _iso(hold.created_at), "closed_at": _iso(hold.closed_at)},
        "messages": _messages(session, OutboundMessage.reference == str(order.id), limit=limit),
    }


def retailer_view(session: Session, retailer_id: int, *, limit: int = DEFAULT_LIMIT) -> dict[str, Any] | None:
    """The retailer, its credit account, order counts by status, its latest orders and messages; None if absent."""
    retailer = session.get(Retailer, retailer_id)
    if retailer is None:
        return None
    account = retailer.credit_account
    credit = None
    if account is not None:
        credit = {"account_id": account.id, "credit_limit": str(account.credit_limit),
                  "balance": str(account.balance), "held": str(held_amount(session, account.id)),
                  "available": str(available_credit(session, account))}
    counts = dict(session.execute(select(Order.status, func.count()).where(Order.retailer_id == retailer.id)
                                  .group_by(Order.status)).all())
    orders = session.scalars(select(Order).where(Order.retailer_id == retailer.id)
                             .order_by(Order.created_at.desc(), Order.id.desc()).limit(limit))
    return {
        **_party(retailer), "created_at": _iso(retailer.created_at), "credit": credit,
        "order_counts": {str(k): int(v) for k, v in counts.items()},
        "orders": [{"id": o.id, "status": o.status, "items_total": str(o.items_total),
                    "payment_method": o.payment_method, "wholesaler_id": o.wholesaler_id,
                    "created_at": _iso(o.created_at), "expires_at": _iso(o.expires_at)} for o in orders],
        "messages": _messages(session, OutboundMessage.recipient == retailer.phone, limit=limit),
    }


def phone_view(session: Session, phone: str, *, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """Who has this (E.164) phone, retailers and wholesalers, and the latest messages sent to it."""
    retailers = session.scalars(select(Retailer).where(Retailer.phone == phone).order_by(Retailer.id).limit(limit))
    wholesalers = session.scalars(select(Wholesaler).where(Wholesaler.phone == phone)
                                  .order_by(Wholesaler.id).limit(limit))
    return {"phone": phone, "retailers": [_party(r) for r in retailers],
            "wholesalers": [_party(w) for w in wholesalers],
            "messages": _messages(session, OutboundMessage.recipient == phone, limit=limit)}
