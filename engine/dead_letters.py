"""The permanent dead-letter queue: list, inspect, retry and delete entries, one by one or by filter.

An entry is written by the failure ladder (engine/lua/fail.lua) and never expires; moves back
to a queue are atomic Lua (engine/lua/dlq_retry.lua), so a crash or two concurrent retries can
neither lose nor duplicate a job.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

import zlib

from . import fanout, keys
from .app import Engine, resolve
from .clock import ms_to_iso, server_ms
from .errors import ConflictError, NotFoundError, ValidationError
from .job_view import decode_payload, payload_parts
from .schemas import validate_data
from .search_index import index_keys

CHUNK = 500


@dataclass(frozen=True)
class Filter:
    queue: str | None = None
    group: str | None = None  # failure signature
    error_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def index_keys(self, queues: list[str]) -> list[str]:
        """The index to read: one key, or in cluster mode one per queue slot, merged (engine/fanout.py)."""
        if self.group:
            return sorted({keys.dlq_group(self.group, q) for q in ([self.queue] if self.queue else queues)})
        if self.queue:
            return [keys.dlq_queue(self.queue)]
        return keys.dlq_alls(queues)

    def score_range(self) -> tuple[str, str]:
        low = str(int(self.since.timestamp() * 1000)) if self.since else "-inf"
        high = str(int(self.until.timestamp() * 1000)) if self.until else "+inf"
        return low, high

    def needs_scan(self) -> bool:
        """True when some condition cannot be answered by the chosen index alone."""
        return bool(self.error_type or (self.group and self.queue))

    def matches(self, entry: dict[str, Any]) -> bool:
        return ((not self.queue or entry["queue"] == self.queue)
                and (not self.error_type or entry["error_type"] == self.error_type))


def _to_ms(dt: datetime | None) -> int | None:
    return int(dt.timestamp() * 1000) if dt else None


def _entry(job_id: str, raw: dict[bytes, bytes], attempts: list[bytes] | None = None) -> dict[str, Any]:
    f = {k.decode(): v.decode(errors="replace") for k, v in raw.items()}
    dead_ms = int(f.get("dead_ms", 0))
    entry: dict[str, Any] = {
        "id": job_id,
        "job_id": job_id,
        "queue": f.get("queue", ""),
        "job_type": f.get("job_type", ""),
        "data": json.loads(f.get("data") or "{}"),
        "options": json.loads(f.get("options") or "{}"),
        "runs": int(f.get("runs", 0)),
        "signature": f.get("signature", ""),
        "error_type": f.get("error_type", ""),
        "error_message": f.get("error_message", ""),
        "enqueued_at": f.get("enqueued_at", ""),
        "dead_lettered_at": ms_to_iso(dead_ms),
        "dead_lettered_ms": dead_ms,
    }
    if attempts is not None:
        entry["errors"] = [json.loads(a) for a in attempts]
    return entry


def _ids(eng: Engine, flt: Filter) -> Iterator[str]:
    """Entry ids matching the index part of the filter, newest first, in chunks."""
    low, high = flt.score_range()
    yield from fanout.zrev_iter(eng.conn, flt.index_keys(eng.table.names), high, low, CHUNK)


def _fetch(eng: Engine, ids: list[str], with_errors: bool = False) -> list[dict[str, Any]]:
    pipe = eng.conn.pipeline(transaction=False)
    for job_id in ids:
        pipe.hgetall(keys.dlq_entry(job_id))
        if with_errors:
            pipe.lrange(keys.attempts(job_id), 0, -1)
    out = pipe.execute()
    step = 2 if with_errors else 1
    entries = []
    for i, job_id in enumerate(ids):
        raw = out[i * step]
        if raw:
            entries.append(_entry(job_id, raw, out[i * step + 1] if with_errors else None))
    return entries


def list_entries(flt: Filter | None = None, *, offset: int = 0, limit: int = 50,
                 engine: Engine | None = None) -> tuple[list[dict[str, Any]], int]:
    """(entries, total matching), newest first. Cost grows with the page, not the queue,
    unless the filter needs a scan (error type, or queue and group together)."""
    eng, flt = resolve(engine), flt or Filter()
    if flt.queue:
        eng.table[flt.queue]
    if not flt.needs_scan():
        low, high = flt.score_range()
        names = flt.index_keys(eng.table.names)
        total = fanout.zcount(eng.conn, names, low, high)
        ids = fanout.zrev_page(eng.conn, names, high, low, offset, limit)
        return _fetch(eng, ids), total
    matched: list[dict[str, Any]] = []
    total = 0
    batch: list[str] = []
    for job_id in _ids(eng, flt):
        batch.append(job_id)
        if len(batch) == CHUNK:
            total += _scan_batch(eng, flt, batch, matched, offset, limit, total)
            batch = []
    if batch:
        total += _scan_batch(eng, flt, batch, matched, offset, limit, total)
    return matched, total


def count(flt: Filter | None = None, *, engine: Engine | None = None) -> int:
    """How many entries match the filter (to show before a bulk action is confirmed)."""
    return list_entries(flt, limit=1, engine=engine)[1]


def _scan_batch(eng, flt, batch, matched, offset, limit, seen_before) -> int:
    hits = [e for e in _fetch(eng, batch) if flt.matches(e)]
    for i, entry in enumerate(hits):
        if offset <= seen_before + i < offset + limit:
            matched.append(entry)
    return len(hits)


def matching_ids(flt: Filter, *, engine: Engine | None = None) -> list[str]:
    eng = resolve(engine)
    if not flt.needs_scan():
        return list(_ids(eng, flt))
    ids = list(_ids(eng, flt))
    return [e["id"] for i in range(0, len(ids), CHUNK) for e in _fetch(eng, ids[i:i + CHUNK]) if flt.matches(e)]


def get_entry(entry_id: str, *, engine: Engine | None = None) -> dict[str, Any]:
    """One entry with every attempt's error."""
    eng = resolve(engine)
    found = _fetch(eng, [entry_id], with_errors=True)
    if not found:
        raise NotFoundError(f"dead-letter entry {entry_id!r} not found")
    return found[0]


def exists(entry_id: str, *, engine: Engine | None = None) -> bool:
    return bool(resolve(engine).conn.exists(keys.dlq_entry(entry_id)))


def _retry_args(eng: Engine, entry_id: str, queue: str) -> tuple[list[str], list[Any]]:
    lists = {p: keys.waiting(queue, p) for p in keys.PRIORITIES}
    return ([keys.dlq_entry(entry_id), keys.dlq_all(queue), keys.dlq_queue(queue), keys.job(entry_id),
             keys.failed(queue), keys.wake(queue)],
            [entry_id, keys.dlq_group("", queue), json.dumps(lists), "", 0])


def current_data(entry_id: str, *, engine: Engine | None = None) -> dict[str, Any]:
    """The data the entry's job would run with now (before any edit)."""
    eng = resolve(engine)
    payload = eng.conn.hget(keys.job(entry_id), keys.JobField.DATA)
    if payload is not None:
        return decode_payload(payload)
    raw = eng.conn.hget(keys.dlq_entry(entry_id), "data")
    if raw is None:
        raise NotFoundError(f"dead-letter entry {entry_id!r} not found")
    return json.loads(raw)


def _edit(eng: Engine, entry_id: str, queue: str, data: Any, script_keys: list[str], args: list[Any]) -> None:
    """Validate the new data by the queue's schema (ValidationError naming "data.<field>", nothing written) and
    add the new payload and the index changes to the retry step's arguments."""
    try:
        clean = validate_data(eng, queue, data)
    except ValidationError as exc:
        field = exc.field if exc.field == "data" else f"data.{exc.field}"
        raise ValidationError(field, exc.message) from None
    payload = eng.conn.hget(keys.job(entry_id), keys.JobField.DATA)
    if payload is None:
        raise ConflictError(f"job record {entry_id!r} is gone; delete the entry instead")
    func, instance, job_args, old = _payload_parts(payload)
    policy, region = eng.table[queue], eng.settings.phone_region
    old_keys, new_keys = set(index_keys(policy, old, region)), index_keys(policy, clean, region)
    drop = sorted(old_keys - set(new_keys))
    script_keys += drop + new_keys
    args[3] = zlib.compress(json.dumps([func, instance, job_args, clean]).encode())
    args[4] = len(drop)


def _payload_parts(payload: bytes) -> tuple[Any, Any, Any, dict[str, Any]]:
    func, instance, job_args, kwargs = payload_parts(payload)
    return func, instance, job_args, dict(kwargs or {})


def retry(entry_id: str, *, data: dict[str, Any] | None = None, engine: Engine | None = None) -> bool:
    """Back to its origin queue with a fresh retry budget; with `data`, the job runs with that data instead
    (fix and resend). False when another caller did it first."""
    eng = resolve(engine)
    queue = eng.conn.hget(keys.dlq_entry(entry_id), "queue")
    if queue is None:
        raise NotFoundError(f"dead-letter entry {entry_id!r} not found")
    script_keys, args = _retry_args(eng, entry_id, queue.decode())
    if data is not None:
        _edit(eng, entry_id, queue.decode(), data, script_keys, args)
    moved = eng.scripts.dlq_retry(keys=script_keys, args=args)
    if moved == -1:
        raise ConflictError(f"job record {entry_id!r} is gone; delete the entry instead")
    return moved == 1


def delete(entry_id: str, *, engine: Engine | None = None) -> bool:
    """Delete an entry and its job record. False when it was already gone."""
    eng = resolve(engine)
    queue = eng.conn.hget(keys.dlq_entry(entry_id), "queue")
    if queue is None:
        raise NotFoundError(f"dead-letter entry {entry_id!r} not found")
    q = queue.decode()
    return eng.scripts.remove(keys=keys.job_all(q, entry_id), args=[entry_id, keys.dlq_group("", q)]) == 1


def _each(action, flt: Filter | None, ids: list[str] | None, eng: Engine) -> int:
    """Apply `action` to every matching entry (or the given ids); count those it changed.
    Entries that vanished or cannot move meanwhile (another operator acted) are skipped."""
    targets = ids if ids is not None else matching_ids(flt or Filter(), engine=eng)
    done = 0
    for entry_id in targets:
        try:
            done += action(entry_id, engine=eng)
        except (NotFoundError, ConflictError):
            continue
    return done


def bulk_retry(flt: Filter | None = None, *, ids: list[str] | None = None, engine: Engine | None = None) -> int:
    """Retry every entry matching the filter (or the given ids); returns how many moved."""
    return _each(retry, flt, ids, resolve(engine))


def bulk_delete(flt: Filter | None = None, *, ids: list[str] | None = None, engine: Engine | None = None) -> int:
    """Delete every entry matching the filter (or the given ids); returns how many went."""
    return _each(delete, flt, ids, resolve(engine))


def stats(*, engine: Engine | None = None) -> dict[str, dict[str, Any]]:
    """Per queue: entries, oldest entry's age in seconds, and entries added in the last hour."""
    eng = resolve(engine)
    now_ms = server_ms(eng.conn)
    pipe = eng.conn.pipeline(transaction=False)
    for q in eng.table.names:
        pipe.zcard(keys.dlq_queue(q))
        pipe.zrange(keys.dlq_queue(q), 0, 0, withscores=True)
        pipe.zcount(keys.dlq_queue(q), now_ms - 3_600_000, "+inf")
    out = pipe.execute()
    result = {}
    for i, q in enumerate(eng.table.names):
        count, oldest, last_hour = out[i * 3: i * 3 + 3]
        result[q] = {"count": count, "oldest_age_s": (now_ms - oldest[0][1]) / 1000 if oldest else None,
                     "added_last_hour": last_hour}
    return result

