"""The audit log of operator actions: who, from where, when, what, outcome. Kept 365 days."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import keys
from .app import Engine, resolve
from .clock import ms_to_iso

KEEP_MS = 365 * 24 * 3600 * 1000
SOURCES = ("dashboard", "api", "cli", "system")


@dataclass(frozen=True)
class Actor:
    """A user or an API key's name, and where the action came from."""

    name: str
    source: str  # dashboard | api | cli | system

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}")


def entry_fields(actor: Actor, action: str, *, queue: str | None = None, target: str | None = None,
                 details: dict[str, Any] | None = None, outcome: str = "ok") -> dict[str, str]:
    """An entry's fields: for record(), or for a Lua step that writes the entry with its action."""
    return {"actor": actor.name, "source": actor.source, "action": action, "queue": queue or "",
            "target": target or "", "details": json.dumps(details or {}, default=str), "outcome": outcome}


def record(actor: Actor, action: str, *, queue: str | None = None, target: str | None = None,
           details: dict[str, Any] | None = None, outcome: str = "ok", engine: Engine | None = None) -> str:
    """Append an entry (trimming entries older than 365 days); returns its id."""
    eng = resolve(engine)
    now_ms = int(time.time() * 1000)
    fields = entry_fields(actor, action, queue=queue, target=target, details=details, outcome=outcome)
    entry_id = eng.conn.xadd(keys.AUDIT, fields, minid=str(now_ms - KEEP_MS), approximate=True)
    return entry_id.decode()


def list_entries(*, since: datetime | None = None, until: datetime | None = None, actor: str | None = None,
                 queue: str | None = None, action: str | None = None, limit: int = 200,
                 engine: Engine | None = None) -> list[dict[str, Any]]:
    """Newest first, filtered by time, actor, queue and action."""
    eng = resolve(engine)
    high = str(int(until.timestamp() * 1000)) if until else "+"
    low = str(int(since.timestamp() * 1000)) if since else "-"
    out: list[dict[str, Any]] = []
    cursor = high
    while len(out) < limit:
        batch = eng.conn.xrevrange(keys.AUDIT, max=cursor, min=low, count=500)
        if not batch:
            break
        for entry_id, raw in batch:
            f = {k.decode(): v.decode() for k, v in raw.items()}
            if (actor and f["actor"] != actor) or (queue and f["queue"] != queue) or (action and f["action"] != action):
                continue
            ms = int(entry_id.decode().split("-")[0])
            out.append({"id": entry_id.decode(), "time": ms_to_iso(ms),
                        "time_ms": ms, **f, "details": json.loads(f["details"] or "{}")})
            if len(out) >= limit:
                break
        last = batch[-1][0].decode()
        cursor = "(" + last
        if len(batch) < 500:
            break
    return out
