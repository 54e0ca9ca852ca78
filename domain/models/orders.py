"""Orders and the wholesalers each order has been offered to."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from .base import Base

if TYPE_CHECKING:
    from .parties import Retailer, Wholesaler


class OrderStatus(StrEnum):
    """pending -> confirmed | expired | failed | cancelled."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    EXPIRED = "expired"
    FAILED = "failed"
    CANCELLED = "cancelled"


class PaymentMethod(StrEnum):
    """Credit orders hold credit while pending and debit the ledger when confirmed."""

    CASH = "cash"
    CREDIT = "credit"


class Order(Base):
    """A retailer's order, waiting (pending) for the assigned wholesaler until `expires_at`."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("status in ('pending', 'confirmed', 'expired', 'failed', 'cancelled')", name="status"),
        CheckConstraint("payment_method in ('cash', 'credit')", name="payment_method"),
        CheckConstraint("items_total > 0", name="items_total_positive"),
        Index("ix_orders_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    retailer_id: Mapped[int] = mapped_column(ForeignKey("retailers.id"), index=True)
    wholesaler_id: Mapped[int | None] = mapped_column(ForeignKey("wholesalers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.PENDING)
    payment_method: Mapped[str] = mapped_column(String(8), default=PaymentMethod.CASH)
    items_total: Mapped[Decimal]
    item_count: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None] = mapped_column(index=True)  # when it left pending
    close_reason: Mapped[str | None] = mapped_column(String(200))
    fallback_count: Mapped[int] = mapped_column(default=0)

    retailer: Mapped[Retailer] = relationship()
    wholesaler: Mapped[Wholesaler | None] = relationship()
    attempts: Mapped[list[OrderAttempt]] = relationship(
        back_populates="order", order_by="OrderAttempt.id", foreign_keys="OrderAttempt.order_id"
    )


class OrderAttempt(Base):
    """One wholesaler the order was offered to; `failed_at` is set when it did not confirm in time."""

    __tablename__ = "order_attempts"
    __table_args__ = (UniqueConstraint("order_id", "wholesaler_id", name="uq_order_attempts_order_wholesaler"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    wholesaler_id: Mapped[int] = mapped_column(ForeignKey("wholesalers.id"))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    failed_at: Mapped[datetime | None] = mapped_column(index=True)
    next_wholesaler_id: Mapped[int | None] = mapped_column(ForeignKey("wholesalers.id"))

    order: Mapped[Order] = relationship(back_populates="attempts", foreign_keys=[order_id])
