"""CSV export shared by the dashboard and the API: one function per data set."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any, Iterable, Sequence

from . import audit, dead_letters, failure_groups, metrics
from .app import Engine


def write_rows(rows: Iterable[Sequence[Any]]) -> str:
    """The one CSV writer of every export (reports included): RFC 4180 text whose cells are made safe
    (_cell). Its CRLF line terminator makes QUOTE_MINIMAL quote any cell holding a CR or an LF, so
    no cell can split into two rows (with a bare LF terminator, a lone CR would go unquoted)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def to_csv(rows: Iterable[dict[str, Any]], columns: list[str]) -> str:
    """Dict rows as CSV with a header; nested values as JSON, datetimes as ISO 8601."""
    return write_rows([columns, *([row.get(c) for c in columns] for row in rows)])


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A CSV cell. Text that a spreadsheet would run as a formula (job data and error messages are
    attacker-controlled) gets a leading apostrophe; numbers are left alone."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        value = json.dumps(value, default=str)
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


HISTORY_COLUMNS = ["time", "queue", *metrics.COUNTERS, "run_avg_ms",
                   *(f"{k}_p{p}_ms" for k in ("run", "wait") for p in metrics.PERCENTILES)]
DEAD_LETTER_COLUMNS = ["id", "queue", "job_type", "runs", "error_type", "error_message", "signature",
                       "enqueued_at", "dead_lettered_at", "data"]
GROUP_COLUMNS = ["signature", "type", "message", "function", "count", "dead_lettered", "first_seen",
                 "last_seen", "queues", "sample_job_ids"]
AUDIT_COLUMNS = ["time", "actor", "source", "action", "queue", "target", "outcome", "details"]


def history_csv(queues: list[str], *, start: datetime, end: datetime, resolution: str | None = None,
                engine: Engine) -> str:
    rows = [r for q in queues for r in metrics.history(q, start=start, end=end, resolution=resolution, engine=engine)]
    return to_csv(rows, HISTORY_COLUMNS)


def dead_letters_csv(flt: dead_letters.Filter | None = None, *, engine: Engine, limit: int = 100_000) -> str:
    entries, _ = dead_letters.list_entries(flt, limit=limit, engine=engine)
    return to_csv(entries, DEAD_LETTER_COLUMNS)


def failure_groups_csv(*, engine: Engine) -> str:
    return to_csv(failure_groups.list_groups(limit=10_000, engine=engine), GROUP_COLUMNS)


def audit_csv(*, engine: Engine, **filters: Any) -> str:
    return to_csv(audit.list_entries(engine=engine, limit=100_000, **filters), AUDIT_COLUMNS)
