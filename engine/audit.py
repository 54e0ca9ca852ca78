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
REFUSAL_ENTRY_EVERY_MS = 60_000  # refused calls: at most one entry per actor per minute
REFUSAL_COUNT_KEEP_S = 86_400  # refusals not yet in an entry are counted this long after the last one
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
    fields = entry_fields(actor, action, queue=queue, target=target, details=details, outcome=outcome)
    return append(resolve(engine), fields)


def append(eng: Engine, fields: dict[str, str]) -> str:
    """Append prepared entry fields (trimming entries older than 365 days); returns the entry id."""
    now_ms = int(time.time() * 1000)
    return eng.conn.xadd(keys.AUDIT, fields, minid=str(now_ms - KEEP_MS), approximate=True).decode()


def record_refusal(actor: Actor, action: str, *, queue: str | None = None, target: str | None = None,
                   outcome: str, engine: Engine | None = None) -> str | None:
    """Audit a refused call at most once per actor per minute. Every refusal is counted; the entry
    written carries `count`, the refusals since the actor's previous entry (this one included).
    Returns the entry id, or None when this refusal was only counted."""
    eng = resolve(engine)
    counter, gate = keys.audit_refusals(actor.source, actor.name), keys.audit_refusal_gate(actor.source, actor.name)
    pipe = eng.conn.pipeline(transaction=True)
    pipe.incr(counter)
    pipe.expire(counter, REFUSAL_COUNT_KEEP_S)
    pipe.set(gate, 1, nx=True, px=REFUSAL_ENTRY_EVERY_MS)
    _n, _ttl, opened = pipe.execute()
    if not opened:
        return None
    count = int(eng.conn.getdel(counter) or 1)  # refusals counted meanwhile go to the next entry
    return record(actor, action, queue=queue, target=target, details={"count": count}, outcome=outcome,
                  engine=eng)


def list_entries(*, since: datetime | None = None, until: datetime | None = None, actor: str | None = None,
                 queue: str | None = None, action: str | None = None, limit: int = 200,
                 engine: Engine | None = None) -> list[dict[str, Any]]:
    """Newest first, filtered by time, actor, queue and action."""
    eng = resolve(engine)
    high = str(int(until.timestamp() * 1000)) if until else "+"
    low = str(int(since.timestamp() * 1000)) if since else "-"
    streams = keys.audit_streams(eng.table.names)  # cluster mode: enqueues' entries are in their queue's stream
    found = [e for name in streams for e in _entries(eng, name, high, low, actor, queue, action, limit)]
    if len(streams) > 1:
        found.sort(key=lambda e: tuple(map(int, e["id"].split("-"))), reverse=True)
    return found[:limit]


def _entries(eng: Engine, stream: str, high: str, low: str, actor: str | None, queue: str | None,
             action: str | None, limit: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = high
    while len(out) < limit:
        batch = eng.conn.xrevrange(stream, max=cursor, min=low, count=500)
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
