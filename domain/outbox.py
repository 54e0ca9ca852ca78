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

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import InvalidTransition, NotFound
from .models import MessageStatus, OutboundMessage

DONE_STATES = {MessageStatus.SENT, MessageStatus.DELIVERED}
RESENDABLE_STATES = {MessageStatus.RETRYING, MessageStatus.FAILED}
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


def _claim(decision: Decision, msg: OutboundMessage) -> Claim:
    return Claim(decision, msg.id, msg.status, msg.provider_message_id, msg.attempts)


def find(session: Session, key: str, *, lock: bool = False) -> OutboundMessage | None:
    """The message recorded under an idempotency key (a job id), if any."""
    stmt = select(OutboundMessage).where(OutboundMessage.idempotency_key == key)
    return session.scalar(stmt.with_for_update() if lock else stmt)


def claim(session: Session, key: str, *, phone: str, body: str, reference: str | None, provider: str,
          resend_is_harmless: bool, now: datetime) -> Claim:
    """Decide whether this run may send, recording the attempt as "sending" when it may.

    The caller must commit before calling the provider. A row left in "sending" by a crashed
    run is re-sent only when `resend_is_harmless`; otherwise it becomes "unknown" (IN_DOUBT). A resend
    records the recipient, body and reference it sends with (an operator may have corrected them).
    """
    msg = find(session, key, lock=True)
    if msg is None:
        msg = OutboundMessage(idempotency_key=key, recipient=phone, body=body, reference=reference,
                              provider=provider, status=MessageStatus.SENDING, attempts=1, created_at=now,
                              updated_at=now)
        session.add(msg)
        session.flush()
        return _claim(Decision.SEND, msg)
    if msg.status in DONE_STATES:
        return _claim(Decision.DONE, msg)
    in_doubt = msg.status in (MessageStatus.SENDING, MessageStatus.UNKNOWN)
    if in_doubt and not resend_is_harmless:
        if msg.status == MessageStatus.SENDING:
            msg.status = MessageStatus.UNKNOWN
            msg.error_code = "in_doubt"
            msg.error = IN_DOUBT_NOTE
            msg.updated_at = now
            session.flush()
        return _claim(Decision.IN_DOUBT, msg)
    msg.status = MessageStatus.SENDING
    msg.provider = provider
    # A resend after "fix and resend" carries the corrected data: the record names what goes out now.
    msg.recipient, msg.body, msg.reference = phone, body, reference
    msg.attempts += 1
    msg.updated_at = now
    session.flush()
    return _claim(Decision.SEND, msg)


def mark_sent(session: Session, key: str, provider_message_id: str, status: str, now: datetime) -> OutboundMessage:
    """The provider accepted (or delivered) the message."""
    msg = _require(session, key)
    msg.status = MessageStatus(status)
    msg.provider_message_id = provider_message_id
    msg.error_code = None
    msg.error = None
    msg.sent_at = now
    msg.updated_at = now
    session.flush()
    return msg


def mark_failed(session: Session, key: str, *, code: str | None, error: str, retryable: bool,
                now: datetime) -> OutboundMessage:
    """The provider did not accept the message; `retryable` picks "retrying" over "failed"."""
    msg = _require(session, key)
    msg.status = MessageStatus.RETRYING if retryable else MessageStatus.FAILED
    msg.error_code = code
    msg.error = error[:4000]
    msg.updated_at = now
    session.flush()
    return msg


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
