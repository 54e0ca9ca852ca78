"""What WhatsApp tells us after it accepted a message (status webhooks), and when each recipient last wrote."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class DeliveryState(StrEnum):
    """A message's delivery, in the order it only moves forward (failed ends it wherever it stood)."""

    ACCEPTED = "accepted"  # the API answered with a wamid; no status yet
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"  # failed after acceptance (e.g. 131026 undeliverable)


RANK = {DeliveryState.ACCEPTED: 0, DeliveryState.SENT: 1, DeliveryState.DELIVERED: 2, DeliveryState.READ: 3,
        DeliveryState.FAILED: 4}


class MessageDelivery(Base):
    """One accepted message's delivery, keyed by its wamid; `message_key` is the send job's id."""

    __tablename__ = "message_deliveries"

    wamid: Mapped[str] = mapped_column(String(128), primary_key=True)
    message_key: Mapped[str | None] = mapped_column(String(160), index=True)
    recipient: Mapped[str | None] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.ACCEPTED)
    accepted_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    error_code: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime | None]


class WhatsAppContact(Base):
    """A recipient who wrote to us: the 24-hour window for free text counts from `last_inbound_at`."""

    __tablename__ = "whatsapp_contacts"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_inbound_at: Mapped[datetime]
    last_inbound_id: Mapped[str | None] = mapped_column(String(128))
