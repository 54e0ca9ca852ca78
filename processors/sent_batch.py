"""The async whatsapp sends' after-send records, committed together: the tasks of one event loop whose replies
arrive in the same loop turn share one write unit (one BEGIN IMMEDIATE and one COMMIT), the unit that costs the
loop more than the statements in it. Each task still returns only after its own record is committed."""
from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable

from sqlalchemy import Connection

from domain.db import connection_scope

Write = Callable[[Connection], None]

# database url -> the writes waiting for this loop turn's unit, per loop
_pending: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, list[tuple[Write, asyncio.Future]]]] = \
    weakref.WeakKeyDictionary()


async def commit(database_url: str, write: Write) -> None:
    """Run `write` in a unit shared with the other writes of this loop turn; raise what the unit raised."""
    loop = asyncio.get_running_loop()
    by_url = _pending.setdefault(loop, {})
    waiting = by_url.setdefault(database_url, [])
    done = loop.create_future()
    waiting.append((write, done))
    if len(waiting) == 1:
        loop.call_soon(_flush, by_url, database_url)
    await asyncio.shield(done)  # a cancelled task (a timeout) leaves its record to be written with the others


def _flush(by_url: dict[str, list[tuple[Write, asyncio.Future]]], database_url: str) -> None:
    batch = by_url.pop(database_url, [])
    try:
        with connection_scope(database_url) as conn:
            for write, _ in batch:
                write(conn)
    except Exception as exc:  # noqa: BLE001 - every waiting task fails the way its own unit would have
        for _, done in batch:
            if not done.done():
                done.set_exception(exc)
        return
    for _, done in batch:
        if not done.done():
            done.set_result(None)
