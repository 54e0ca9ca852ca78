"""Outbound WhatsApp messages: one row per send job, keyed by the job id so a job never sends twice."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from .base import Base


class MessageStatus(StrEnum):
    """Where a send stands; see domain/outbox.py for the transitions."""

    SENDING = "sending"  # recorded before the provider call; seen again only after a crash
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"  # the provider reported delivery (the sandbox does at once)
    RETRYING = "retrying"  # the last attempt failed before the provider accepted it
    FAILED = "failed"  # the provider refused it for good
    UNKNOWN = "unknown"  # a run crashed mid-send: it may or may not have gone out


class OutboundMessage(Base):
    """One WhatsApp send; `idempotency_key` is the job id (UNIQUE), the provider's id and error are kept."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    recipient: Mapped[str] = mapped_column(String(20), index=True)
    body: Mapped[str] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(128), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=MessageStatus.SENDING, index=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    error_code: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None]
