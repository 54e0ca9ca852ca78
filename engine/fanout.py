"""Reads over several sorted sets merged as one, newest first: in cluster mode an index that spans queues
(dead letters, failure groups, business keys) is one per queue slot (engine/keys.py), and its readers
merge them by score. With one key each call is the plain single-key read."""
from __future__ import annotations

import heapq
from collections.abc import Iterator

CHUNK = 500


def zcount(conn, names: list[str], low, high) -> int:
    """Members scored in [low, high] over every key."""
    if len(names) == 1:
        return conn.zcount(names[0], low, high)
    pipe = conn.pipeline(transaction=False)
    for name in names:
        pipe.zcount(name, low, high)
    return sum(pipe.execute())


def zrev_page(conn, names: list[str], high, low, offset: int, limit: int) -> list[str]:
    """Members offset .. offset+limit of the keys merged by score, highest first (decoded)."""
    if len(names) == 1:
        return [m.decode() for m in conn.zrevrangebyscore(names[0], high, low, start=offset, num=limit)]
    pipe = conn.pipeline(transaction=False)
    for name in names:
        pipe.zrevrangebyscore(name, high, low, start=0, num=offset + limit, withscores=True)
    merged = heapq.merge(*pipe.execute(), key=lambda pair: -pair[1])
    return [m.decode() for m, _score in merged][offset:offset + limit]


def _one(conn, name: str, high, low, chunk: int) -> Iterator[tuple[bytes, float]]:
    start = 0
    while True:
        part = conn.zrevrangebyscore(name, high, low, start=start, num=chunk, withscores=True)
        if not part:
            return
        yield from part
        start += len(part)


def zrev_iter(conn, names: list[str], high, low, chunk: int = CHUNK) -> Iterator[str]:
    """Every member of the keys scored in [low, high], highest first, read in chunks (decoded)."""
    streams = [_one(conn, name, high, low, chunk) for name in names]
    for member, _score in heapq.merge(*streams, key=lambda pair: -pair[1]):
        yield member.decode()
