"""The declarative base and the column types every model shares (UTC timestamps, money)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import DateTime, MetaData, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

from ..clock import as_utc

CENT = Decimal("0.01")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; SQLite stores them as naive UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Money(TypeDecorator[Decimal]):
    """Money as Decimal with two places: NUMERIC(14, 2) on PostgreSQL, integer paisa on SQLite.

    SQLite has no exact decimal type; storing minor units keeps sums and comparisons exact.
    """

    impl = Numeric(14, 2, asdecimal=True)
    cache_ok = True

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        # money * 2 and money / 2 take a plain number; money + 5 and money > 5 take money.
        if op in (operators.mul, operators.truediv, operators.floordiv):
            return Numeric()
        return self

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            from sqlalchemy import BigInteger

            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(14, 2, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = to_money(value)
        return int(amount * 100) if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / 100).quantize(CENT)
        return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def to_money(value: Any) -> Decimal:
    """A Decimal rounded to paisa; floats are refused because they carry binary noise."""
    if isinstance(value, float):
        raise TypeError("money must be Decimal, int or str, not float")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class Base(DeclarativeBase):
    """Base of every domain table."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), Decimal: Money()}
