"""Async job functions for the async-slot tests: `adispatch` is the registered processor of a queue whose
slots are tasks of one event loop (engine/async_slots.py); it awaits the function the job's `fn` names."""
from __future__ import annotations

import asyncio
import threading
import time

from engine import jobctx


async def aspan(seconds: float = 0.2, **data):
    """Awaits `seconds`, then records its start, end and the thread it ran in under test:aspans:<queue>."""
    ctx = jobctx.current()
    start = time.time()
    await asyncio.sleep(seconds)
    ctx.engine.conn.rpush(f"test:aspans:{ctx.queue}", f"{start:.6f} {time.time():.6f} {threading.get_ident()}")
    return {"slept": seconds}


async def amark(**data):
    ctx = jobctx.current()
    ctx.engine.conn.hincrby("test:runs", ctx.job_id, 1)
    return {"marked": ctx.job_id}


async def afail(**data):
    raise RuntimeError("async processor failed")


async def ablock(seconds: float = 2.5, **data):
    """Blocks the event loop (a sync sleep inside a coroutine), then notes that it returned."""
    ctx = jobctx.current()
    time.sleep(seconds)
    ctx.engine.conn.sadd("test:returned", ctx.job_id)
    return {"late": True}


FUNCTIONS = {f.__name__: f for f in (aspan, amark, afail, ablock)}


async def adispatch(fn: str = "amark", **data):
    return await FUNCTIONS[fn](**data)
