"""Formatting for display: times in the chosen zone, ages, and Markdown escaping. No Streamlit here."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

TIME_FORMAT = "%Y-%m-%d %H:%M:%S %Z"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:=])")


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=1)
def zone_names() -> list[str]:
    return sorted(available_timezones())


def to_datetime(value: Any) -> datetime | None:
    """An aware datetime from a datetime, an ISO 8601 string or epoch seconds (or ms); None for empty
    or for anything that is not a representable time."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    try:
        if isinstance(value, (int, float)):
            seconds = value / 1000 if value > 1e11 else value
            return datetime.fromtimestamp(seconds, timezone.utc)
        parsed = datetime.fromisoformat(str(value).strip())
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def local(value: Any, tz: str) -> datetime | None:
    """The time in zone `tz`; None when empty or when it has no representation there (year 10000)."""
    dt = to_datetime(value)
    try:
        return dt.astimezone(zone(tz)) if dt else None
    except (ValueError, OverflowError):
        return None


def fmt_time(value: Any, tz: str) -> str:
    """'2025-03-10 14:45:00 +0545' style text in zone `tz`; '' for nothing, the input for garbage."""
    dt = local(value, tz)
    if dt is None:
        return "" if value in (None, "") else str(value)
    return dt.strftime(TIME_FORMAT)


def fmt_age(seconds: float | None) -> str:
    """A short human age: '45 s', '12 min', '3 h 5 min', '4 d 2 h'."""
    if seconds is None:
        return "–"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def fmt_pct(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio * 100:.1f} %"


def escape_md(text: Any) -> str:
    """Text made inert for Streamlit's Markdown (links, images, emphasis, HTML-looking tags)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))
