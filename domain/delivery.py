"""Delivery after acceptance: the status webhooks' record per wamid, and each recipient's last inbound message.

A status only moves a delivery forward (accepted < sent < delivered < read; failed ends it), so duplicate
and out-of-order webhooks are safe; each status's time is kept once, the first time it is seen."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from .clock import as_utc
from .db import connection_of, insert_for
from .models import RANK, DeliveryState, MessageDelivery, WhatsAppContact

_D, _C = MessageDelivery.__table__, WhatsAppContact.__table__
_LAST_INBOUND = select(_C.c.last_inbound_at).where(_C.c.phone == bindparam("phone"))

TIME_FIELD = {DeliveryState.SENT: "sent_at", DeliveryState.DELIVERED: "delivered_at",
              DeliveryState.READ: "read_at", DeliveryState.FAILED: "failed_at"}


@dataclass(frozen=True)
class StatusUpdate:
    """One status of a webhook: the message's wamid, the status, its time, and the error of a failed one."""

    wamid: str
    status: str
    at: datetime
    recipient: str | None = None
    error_code: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Applied:
    """What a status did: the delivery's state after it, whether it changed, the send job's id if known."""

    wamid: str
    state: str
    changed: bool
    newly_failed: bool
    message_key: str | None
    error_code: str | None
    error: str | None


def _row(session: Session, wamid: str) -> MessageDelivery:
    row = session.get(MessageDelivery, wamid, with_for_update=True)
    if row is None:
        row = MessageDelivery(wamid=wamid, state=DeliveryState.ACCEPTED)
        session.add(row)
    return row


@lru_cache(maxsize=4)
def _upsert_accepted(dialect: str) -> Any:
    stmt = insert_for(dialect)(_D)
    return stmt.on_conflict_do_update(index_elements=[_D.c.wamid], set_={
        c: stmt.excluded[c] for c in ("message_key", "recipient", "accepted_at", "updated_at")})


def accepted(session: Session | Connection, wamid: str, message_key: str, recipient: str, now: datetime) -> None:
    """The provider accepted the send job `message_key` as `wamid` (a status that arrived first keeps the state it
    set): one upsert, on the send's hot path."""
    conn = connection_of(session)
    conn.execute(_upsert_accepted(conn.dialect.name), {
        "wamid": wamid, "state": DeliveryState.ACCEPTED, "message_key": message_key, "recipient": recipient,
        "accepted_at": as_utc(now), "updated_at": as_utc(now)})


def apply_status(session: Session, update: StatusUpdate) -> Applied:
    """Record one status; it never moves a delivery backwards, and a repeat changes nothing."""
    state = DeliveryState(update.status)
    row = _row(session, update.wamid)
    if row.recipient is None:
        row.recipient = update.recipient
    field = TIME_FIELD[state]
    if getattr(row, field) is None:
        setattr(row, field, as_utc(update.at))
    before = DeliveryState(row.state)
    changed = RANK[state] > RANK[before]
    if changed:
        row.state = state
        if state == DeliveryState.FAILED:
            row.error_code, row.error = update.error_code, (update.error or "")[:4000]
    row.updated_at = as_utc(update.at)
    session.flush()
    return Applied(row.wamid, row.state, changed, changed and state == DeliveryState.FAILED, row.message_key,
                   row.error_code, row.error)


def record_inbound(session: Session, phone: str, at: datetime, message_id: str | None = None) -> WhatsAppContact:
    """A recipient wrote to us at `at`; keeps the latest time (an older webhook arriving late changes nothing)."""
    contact = session.get(WhatsAppContact, phone, with_for_update=True)
    if contact is None:
        contact = WhatsAppContact(phone=phone, last_inbound_at=as_utc(at), last_inbound_id=message_id)
        session.add(contact)
    elif as_utc(at) > as_utc(contact.last_inbound_at):
        contact.last_inbound_at, contact.last_inbound_id = as_utc(at), message_id
    session.flush()
    return contact


def last_inbound(session: Session | Connection, phone: str) -> datetime | None:
    """When `phone` last wrote to us, if ever (one Core read: the send's hot path)."""
    conn = connection_of(session)
    at = conn.scalar(_LAST_INBOUND, {"phone": phone})
    return as_utc(at) if at is not None else None


def in_window(last: datetime | None, now: datetime, window_s: float) -> bool:
    """Whether free text may go to a recipient who last wrote at `last`."""
    return last is not None and as_utc(now) - as_utc(last) < timedelta(seconds=window_s)


def for_message(session: Session, message_key: str) -> MessageDelivery | None:
    """The delivery of the send job `message_key` (its latest accepted send)."""
    stmt = select(MessageDelivery).where(MessageDelivery.message_key == message_key)
    return session.scalars(stmt.order_by(MessageDelivery.accepted_at.desc())).first()


def for_reference(session: Session, reference_keys: list[str]) -> list[MessageDelivery]:
    """The deliveries of several send jobs, for a timeline."""
    if not reference_keys:
        return []
    return list(session.scalars(select(MessageDelivery).where(MessageDelivery.message_key.in_(reference_keys))))
