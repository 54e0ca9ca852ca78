"""The two sides of the marketplace: wholesalers who fulfil orders and retailers who place them."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from .base import Base

if TYPE_CHECKING:
    from .credit import CreditAccount


class Wholesaler(Base):
    """A supplier; `rank` orders the fallback list (lower is preferred)."""

    __tablename__ = "wholesalers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    rank: Mapped[int] = mapped_column(default=100, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Retailer(Base):
    """A shop that orders from wholesalers, optionally on credit."""

    __tablename__ = "retailers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    credit_account: Mapped[CreditAccount | None] = relationship(back_populates="retailer", uselist=False)
