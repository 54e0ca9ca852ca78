"""Credit accounts: a limit, a stored balance (what the retailer owes), holds and the ledger."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from .base import Base

if TYPE_CHECKING:
    from .parties import Retailer


class Direction(StrEnum):
    """The sign of a ledger entry."""

    DEBIT = "debit"  # the retailer owes more (an order)
    CREDIT = "credit"  # the retailer owes less (a payment)


class EntryKind(StrEnum):
    """Why a ledger entry exists."""

    OPENING = "opening"
    ORDER = "order"
    PAYMENT = "payment"
    ADJUSTMENT = "adjustment"


class HoldStatus(StrEnum):
    """A hold is active until its order is confirmed (captured) or closed otherwise (released)."""

    ACTIVE = "active"
    RELEASED = "released"
    CAPTURED = "captured"


class CreditAccount(Base):
    """`balance` is the stored running balance; the ledger is the source of truth it must match."""

    __tablename__ = "credit_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    retailer_id: Mapped[int] = mapped_column(ForeignKey("retailers.id"), unique=True)
    credit_limit: Mapped[Decimal]
    balance: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    retailer: Mapped[Retailer] = relationship(back_populates="credit_account")
    entries: Mapped[list[LedgerEntry]] = relationship(back_populates="account", order_by="LedgerEntry.id")
    holds: Mapped[list[CreditHold]] = relationship(back_populates="account")


class LedgerEntry(Base):
    """One immutable movement: orders debit the account, payments credit it."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("direction in ('debit', 'credit')", name="direction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("credit_accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(8))
    amount: Mapped[Decimal]
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    reference: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    account: Mapped[CreditAccount] = relationship(back_populates="entries")


class CreditHold(Base):
    """Credit reserved for a pending order; captured on confirmation, released otherwise."""

    __tablename__ = "credit_holds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status in ('active', 'released', 'captured')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("credit_accounts.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    amount: Mapped[Decimal]
    status: Mapped[str] = mapped_column(String(16), default=HoldStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    account: Mapped[CreditAccount] = relationship(back_populates="holds")
