"""The one place the domain reads the wall clock, so callers and tests can pass `now` instead."""
from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """An aware datetime converted to UTC; naive values are rejected (they hide bugs)."""
    if value.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return value.astimezone(timezone.utc)
