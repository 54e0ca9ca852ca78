"""The async sends' pooled keep-alive connections: one aiohttp session per event loop and timeout.

aiohttp rather than httpx.AsyncClient: against the local fake Cloud API at concurrency 50 on the 2-core VM
(a probe, 2026-12-04), httpx's async client cost ~3 ms of CPU a request and aiohttp ~0.16 ms; urllib3 in
slot threads costs ~0.5 ms plus the interpreter-lock hand-offs."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import aiohttp

Sessions = dict[float, aiohttp.ClientSession]  # timeout -> session
# A session belongs to the loop it was made on. Each loop's entry holds its sessions and an async generator
# started on that loop; asyncio.run and asyncio.Runner close a loop's open async generators before closing the
# loop (loop.shutdown_asyncgens), so the generator's `finally` closes the sessions there and drops the entry:
# an async slot pool's loop and the loop slot_run.call makes for each job on a thread slot alike.
_loops: dict[asyncio.AbstractEventLoop, tuple[Sessions, AsyncGenerator[None, None]]] = {}


async def session(timeout_s: float) -> aiohttp.ClientSession:
    """The running loop's session for this timeout, made on first use. No retries: a POST that may have
    arrived is never repeated here."""
    loop = asyncio.get_running_loop()
    entry = _loops.get(loop)
    if entry is None:
        entry = _loops[loop] = ({}, _closed_at_shutdown(loop))
        await entry[1].asend(None)  # started on this loop, which now closes it when it shuts down
    by_timeout = entry[0]
    current = by_timeout.get(timeout_s)
    if current is None or current.closed:
        current = by_timeout[timeout_s] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=200, limit_per_host=100),
            timeout=aiohttp.ClientTimeout(total=timeout_s))
    return current


async def _closed_at_shutdown(loop: asyncio.AbstractEventLoop) -> AsyncGenerator[None, None]:
    """Waits until the loop shuts down, then closes the loop's sessions (no "Unclosed client session")."""
    try:
        yield
    finally:
        await close_sessions()
        _loops.pop(loop, None)


async def post(url: str, headers: dict[str, str], body: bytes, timeout_s: float) -> tuple[int, list, bytes]:
    """POST `body`; the status, the reply's headers and its body. Raises TimeoutError or aiohttp.ClientError."""
    async with (await session(timeout_s)).post(url, data=body, headers=headers, allow_redirects=False) as reply:
        return reply.status, list(reply.headers.items()), await reply.read()


async def close_sessions() -> None:
    """Close the running loop's sessions now; a loop that asyncio.run or a Runner shuts down closes them itself."""
    entry = _loops.get(asyncio.get_running_loop())
    while entry and entry[0]:
        await entry[0].popitem()[1].close()
