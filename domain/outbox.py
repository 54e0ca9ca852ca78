"""The outbound message record that makes sending idempotent per job.

A send is recorded as "sending" and committed BEFORE the provider is called. A later run of
the same job therefore knows whether an earlier run finished (sent/delivered: do nothing),
failed before the provider accepted (retrying/failed: send again), or died mid-send
("sending": nobody knows whether the provider accepted it).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from .db import connection_of, insert_for
from .errors import InvalidTransition, NotFound
from .models import MessageStatus, OutboundMessage

DONE_STATES = {MessageStatus.SENT, MessageStatus.DELIVERED}
RESENDABLE_STATES = {MessageStatus.RETRYING, MessageStatus.FAILED}
_T = OutboundMessage.__table__
IN_DOUBT_NOTE = ("an earlier run recorded this send and stopped before recording its result; "
                 "the provider may already have delivered it")


class Decision(StrEnum):
    """What the caller of claim() must do."""

    SEND = "send"  # call the provider now
    DONE = "done"  # an earlier run sent it: do nothing
    IN_DOUBT = "in_doubt"  # an earlier run may have sent it: do not send blindly


@dataclass(frozen=True)
class Claim:
    """The decision and a snapshot of the message row."""

    decision: Decision
    message_id: int
    status: str
    provider_message_id: str | None
    attempts: int


# The hot path runs Core statements, built once, on the unit's connection: no ORM objects, loads or flushes.
# An UPDATE's SET columns are the parameters it is executed with (besides the WHERE's own).
_PEEK = select(_T.c.status, _T.c.body).where(_T.c.idempotency_key == bindparam("key"))
_LOCK = select(_T.c.id, _T.c.status, _T.c.provider_message_id, _T.c.attempts).where(
    _T.c.idempotency_key == bindparam("key")).with_for_update()
_BY_KEY = update(_T).where(_T.c.idempotency_key == bindparam("key"))
_IF_UNMOVED = update(_T).where(_T.c.id == bindparam("msg_id"), _T.c.status == bindparam("seen"))


@lru_cache(maxsize=4)
def _insert_new(dialect: str) -> Any:
    # A key never seen inserts its row; one already recorded inserts nothing (and returns no id).
    return insert_for(dialect)(_T).on_conflict_do_nothing(index_elements=[_T.c.idempotency_key]).returning(_T.c.id)


def find(session: Session, key: str, *, lock: bool = False) -> OutboundMessage | None:
    """The message recorded under an idempotency key (a job id), if any, as an ORM object read afresh."""
    stmt = select(OutboundMessage).where(OutboundMessage.idempotency_key == key)
    stmt = stmt.execution_options(populate_existing=True)  # the Core writes below bypass the identity map
    return session.scalar(stmt.with_for_update() if lock else stmt)


def peek(session: Session | Connection, key: str) -> tuple[str, str] | None:
    """The status and body recorded under `key`, if any: one Core row, for the processor's look before it claims."""
    row = connection_of(session).execute(_PEEK, {"key": key}).first()
    return (row[0], row[1]) if row is not None else None


def _update(conn: Connection, msg_id: int, seen: str, **values: object) -> None:
    # Only from the status this run read (under its lock): a row that moved meanwhile is not overwritten.
    if conn.execute(_IF_UNMOVED, {"msg_id": msg_id, "seen": seen, **values}).rowcount != 1:
        raise InvalidTransition(f"message {msg_id} changed while this run held it (was {seen})")


def claim(session: Session | Connection, key: str, *, phone: str, body: str, reference: str | None, provider: str,
          resend_is_harmless: bool, now: datetime) -> Claim:
    """Decide whether this run may send, recording the attempt as "sending" when it may.

    The caller must commit before calling the provider. A row left in "sending" by a crashed
    run is re-sent only when `resend_is_harmless`; otherwise it becomes "unknown" (IN_DOUBT). A resend
    records the recipient, body and reference it sends with (an operator may have corrected them).
    """
    conn = connection_of(session)
    inserted = conn.execute(_insert_new(conn.dialect.name), {
        "idempotency_key": key, "recipient": phone, "body": body, "reference": reference, "provider": provider,
        "status": MessageStatus.SENDING, "attempts": 1, "created_at": now, "updated_at": now}).first()
    if inserted is not None:  # the usual case: a key never seen, one statement
        return Claim(Decision.SEND, inserted[0], MessageStatus.SENDING, None, 1)
    msg_id, status, provider_message_id, attempts = conn.execute(_LOCK, {"key": key}).one()
    if status in DONE_STATES:
        return Claim(Decision.DONE, msg_id, status, provider_message_id, attempts)
    in_doubt = status in (MessageStatus.SENDING, MessageStatus.UNKNOWN)
    if in_doubt and not resend_is_harmless:
        if status == MessageStatus.SENDING:
            _update(conn, msg_id, status, status=MessageStatus.UNKNOWN, error_code="in_doubt", error=IN_DOUBT_NOTE,
                    updated_at=now)
        return Claim(Decision.IN_DOUBT, msg_id, MessageStatus.UNKNOWN, provider_message_id, attempts)
    # A resend after "fix and resend" carries the corrected data: the record names what goes out now.
    _update(conn, msg_id, status, status=MessageStatus.SENDING, provider=provider, recipient=phone, body=body,
            reference=reference, attempts=attempts + 1, updated_at=now)
    return Claim(Decision.SEND, msg_id, MessageStatus.SENDING, provider_message_id, attempts + 1)


def _set(session: Session | Connection, key: str, **values: object) -> None:
    if connection_of(session).execute(_BY_KEY, {"key": key, **values}).rowcount == 0:
        raise NotFound("message", key)


def mark_sent(session: Session | Connection, key: str, provider_message_id: str, status: str,
              now: datetime) -> None:
    """The provider accepted (or delivered) the message."""
    _set(session, key, status=MessageStatus(status), provider_message_id=provider_message_id, error_code=None,
         error=None, sent_at=now, updated_at=now)


def mark_failed(session: Session | Connection, key: str, *, code: str | None, error: str, retryable: bool,
                now: datetime) -> None:
    """The provider did not accept the message; `retryable` picks "retrying" over "failed"."""
    _set(session, key, status=MessageStatus.RETRYING if retryable else MessageStatus.FAILED, error_code=code,
         error=error[:4000], updated_at=now)


def mark_failed_after_acceptance(session: Session, key: str, *, code: str | None, error: str,
                                 now: datetime) -> OutboundMessage | None:
    """The provider accepted the message, then reported it failed (e.g. 131026): resendable by a retry."""
    msg = find(session, key, lock=True)
    if msg is None:
        return None
    msg.status = MessageStatus.FAILED
    msg.error_code = code
    msg.error = f"failed after acceptance: {error}"[:4000]
    msg.updated_at = now
    session.flush()
    return msg


def resolve_in_doubt(session: Session, key: str, *, went_out: bool, now: datetime) -> OutboundMessage:
    """An operator's verdict on an "unknown" message: it went out (sent), or it may be sent again (retrying)."""
    msg = _require(session, key)
    if msg.status != MessageStatus.UNKNOWN:
        raise InvalidTransition(f"message {key!r} is {msg.status}, not unknown")
    msg.status = MessageStatus.SENT if went_out else MessageStatus.RETRYING
    msg.error = f"resolved by operator: {'went out' if went_out else 'resend allowed'}"
    msg.updated_at = now
    session.flush()
    return msg


def _require(session: Session, key: str) -> OutboundMessage:
    msg = find(session, key, lock=True)
    if msg is None:
        raise NotFound("message", key)
    return msg
