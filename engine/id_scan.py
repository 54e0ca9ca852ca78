"""Job ids by prefix: a SCAN over the job keys, resumable by a cursor (engine/search.py's `p:` phase).

In cluster mode each master is scanned in turn (a SCAN cursor is one node's): the cursor carries the
master's place in the sorted list times 2**64 plus its own SCAN cursor, and a prefix without a tag
matches the ids of every queue (`rq:job:{*}<prefix>*`)."""
from __future__ import annotations

from collections.abc import Iterator

from . import keys
from .app import Engine

NODE = 2 ** 64  # a SCAN cursor is below it


def prefix_scan(eng: Engine, prefix: str, start: int, after_id: str, step: str) -> Iterator[tuple[str, str]]:
    """(cursor, job id) of job ids starting with `prefix`, to the end of the keyspace; each SCAN batch is
    sorted, so a cursor (batch start, last id) resumes exactly. Yields (cursor, `step`) after each step."""
    if not keys.cluster():
        yield from _one_server(eng.conn, f"{keys.job(prefix)}*", start, after_id, step)
        return
    match = f"{keys.job(prefix)}*" if prefix.startswith("{") else f"{keys.job('{*}' + prefix)}*"
    nodes = sorted(eng.conn.get_primaries(), key=lambda n: n.name)
    first, cursor = divmod(start, NODE)
    for i in range(first, len(nodes)):
        yield from _one_server(nodes[i].redis_connection, match, cursor if i == first else 0,
                               after_id if i == first else "", step, base=i * NODE)
        if i + 1 < len(nodes):
            yield f"p:{(i + 1) * NODE}:", step


def _one_server(conn, match: str, start: int, after_id: str, step: str, base: int = 0) -> Iterator[tuple[str, str]]:
    cursor, skip_to = start, after_id
    head = len(keys.job(""))
    while True:
        nxt, found = conn.scan(cursor, match=match, count=1000)
        ids = sorted(k.decode()[head:] for k in found)
        for job_id in ids:
            if skip_to and job_id <= skip_to:
                continue
            yield f"p:{base + cursor}:{job_id}", job_id
        skip_to = ""
        if nxt == 0:
            return
        yield f"p:{base + nxt}:", step
        cursor = nxt
