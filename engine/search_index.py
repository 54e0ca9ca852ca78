"""The business-key index: which jobs name an order, a phone, a retailer, a wholesaler, a credit account.

Per key a sorted set `jq:idx:<kind>:<value>` of job ids scored by enqueue time (ms), written by the
enqueue step itself (engine/lua/enqueue.lua). Job ids never change, so entries stay valid through
retries, dead-lettering and cancel; the state is read from the job at search time. Entries whose job
is gone (no job hash and no dead-letter entry) are dropped by a bounded trim in periodic maintenance
and lazily by searches, so the index never outgrows the jobs it indexes.
"""
from __future__ import annotations

import random
import re
from typing import Any, Iterable

from . import keys
from .app import Engine
from .errors import ValidationError
from .job_ids import queue_of
from .phones import DEFAULT_REGION, to_e164
from .queues import KEY_KINDS, QueuePolicy

MAX_VALUE = 128
_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
SCAN_COUNT = 500  # keyspace slots one trim pass looks at
DROP_CHUNK = 500  # entries one index_drop call checks (keeps each Lua call short)


def normalise(kind: str, value: Any, region: str = DEFAULT_REGION) -> str:
    """The index's spelling of a key value (phones to E.164); ValidationError naming the kind otherwise."""
    if kind not in KEY_KINDS:
        raise ValidationError("kind", f"must be one of {', '.join(KEY_KINDS)}")
    if kind == "phone":
        return to_e164(str(value), region)
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not _VALUE.fullmatch(text):
        raise ValidationError(kind, "must be 1-128 letters, digits, '_', '.' or '-'")
    return text


_PHONE_SHAPED = re.compile(r"^\+?[0-9][0-9 ().\-/]{0,39}$")


def normalise_query(kind: str, value: Any, region: str = DEFAULT_REGION) -> str:
    """Like normalise, for a search: a phone-shaped value that is no possible number is looked up as
    "+<its digits>" (it finds what the enqueue indexed raw, or nothing) rather than refused."""
    try:
        return normalise(kind, value, region)
    except ValidationError:
        if kind == "phone" and isinstance(value, str) and _PHONE_SHAPED.fullmatch(value.strip()):
            return "+" + re.sub(r"[^0-9]", "", value)
        raise


def terms(policy: QueuePolicy, data: dict[str, Any], region: str = DEFAULT_REGION) -> set[tuple[str, str]]:
    """(kind, value) pairs a job's data names by its queue's `index_keys`; values that cannot be read are
    skipped (indexing never refuses a job the schema accepted)."""
    found: set[tuple[str, str]] = set()
    for field, kind in policy.index_keys.items():
        value = data.get(field)
        if value is None or value == "":
            continue
        try:
            found.add((kind, normalise(kind, value, region)))
        except ValidationError:
            if kind == "phone" and isinstance(value, str) and _E164.fullmatch(value.strip()):
                found.add((kind, value.strip()))
    return found


def index_keys(policy: QueuePolicy, data: dict[str, Any], region: str = DEFAULT_REGION) -> list[str]:
    return sorted(keys.index(kind, value, policy.name) for kind, value in terms(policy, data, region))


def stale_by_key(names: list[str], ids: list[str]) -> dict[str, list[str]]:
    """Vanished jobs found walking the index `names` (cluster mode: one per queue), by the key naming each."""
    if len(names) == 1:
        return {names[0]: ids} if ids else {}
    out: dict[str, list[str]] = {}
    for job_id in ids:
        tag = "{%s}" % queue_of(job_id)
        for name in names:
            if tag in name:
                out.setdefault(name, []).append(job_id)
    return out


def drop_stale(eng: Engine, members: dict[str, Iterable[str]]) -> int:
    """Remove the given index entries whose job is gone; re-checked atomically on the server."""
    if keys.cluster() and len(members) > 1:  # one call per index key: each is in its own queue's slot
        return sum(drop_stale(eng, {key: ids}) for key, ids in members.items())
    removed, script_keys, args = 0, [], [keys.job(""), keys.dlq_entry("")]
    for key, ids in members.items():
        ids = list(ids)
        for start in range(0, len(ids), DROP_CHUNK):
            part = ids[start:start + DROP_CHUNK]
            script_keys.append(key)
            args += [len(part), *part]
            if len(args) - 2 >= DROP_CHUNK:
                removed += int(eng.scripts.index_drop(keys=script_keys, args=args))
                script_keys, args = [], args[:2]
    if script_keys:
        removed += int(eng.scripts.index_drop(keys=script_keys, args=args))
    return removed


def trim(eng: Engine, *, scan_steps: int = 1, members_per_key: int = 50) -> int:
    """One bounded pass of the periodic trim: continue the SCAN of index keys where the last pass stopped,
    check up to `members_per_key` entries of each key found (a random window of bigger keys) and drop those
    whose job is gone. Returns entries removed. Safe to run from many processes at once."""
    if keys.cluster():  # a SCAN cursor is one node's: each master's, kept in a hash by node
        found = []
        for node in eng.conn.get_primaries():
            cursor = int(eng.conn.hget(keys.INDEX_SCAN_CURSORS, node.name) or 0)
            found += _scan(node.redis_connection, cursor, scan_steps,
                           lambda c, name=node.name: eng.conn.hset(keys.INDEX_SCAN_CURSORS, name, c))
    else:
        cursor = int(eng.conn.get(keys.INDEX_SCAN_CURSOR) or 0)
        found = _scan(eng.conn, cursor, scan_steps, lambda c: eng.conn.set(keys.INDEX_SCAN_CURSOR, c))
    if not found:
        return 0
    names = [k.decode() for k in found]
    pipe = eng.conn.pipeline(transaction=False)
    for name in names:
        pipe.zcard(name)
    sizes = pipe.execute()
    for name, size in zip(names, sizes):
        start = random.randrange(0, size - members_per_key + 1) if size > members_per_key else 0
        pipe.zrange(name, start, start + members_per_key - 1)
    members = {name: [m.decode() for m in ids] for name, ids in zip(names, pipe.execute())}
    return drop_stale(eng, members)


def _scan(conn, cursor: int, steps: int, save) -> list[bytes]:
    """Up to `steps` SCAN steps of index keys on one server from `cursor`; `save` keeps where it stopped."""
    found: list[bytes] = []
    for _ in range(steps):
        cursor, batch = conn.scan(cursor, match=f"{keys.INDEX_PREFIX}*", count=SCAN_COUNT)
        found += batch
        if cursor == 0:
            break
    save(cursor)
    return found
