"""The async sends' pooled keep-alive connections: one aiohttp session per event loop and timeout.

aiohttp rather than httpx.AsyncClient: against the local fake Cloud API at concurrency 50 on the 2-core VM
(a probe, 2026-12-04), httpx's async client cost ~3 ms of CPU a request and aiohttp ~0.16 ms; urllib3 in
slot threads costs ~0.5 ms plus the interpreter-lock hand-offs."""
from __future__ import annotations

import asyncio
import weakref

import aiohttp

# A session belongs to the loop it was made on; a loop that ends takes its sessions with it.
_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[float, aiohttp.ClientSession]] = \
    weakref.WeakKeyDictionary()


def session(timeout_s: float) -> aiohttp.ClientSession:
    """The running loop's session for this timeout, made on first use. No retries: a POST that may have
    arrived is never repeated here."""
    loop = asyncio.get_running_loop()
    by_timeout = _sessions.setdefault(loop, {})
    current = by_timeout.get(timeout_s)
    if current is None or current.closed:
        current = by_timeout[timeout_s] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=200, limit_per_host=100),
            timeout=aiohttp.ClientTimeout(total=timeout_s))
    return current


async def post(url: str, headers: dict[str, str], body: bytes, timeout_s: float) -> tuple[int, list, bytes]:
    """POST `body`; the status, the reply's headers and its body. Raises TimeoutError or aiohttp.ClientError."""
    async with session(timeout_s).post(url, data=body, headers=headers, allow_redirects=False) as reply:
        return reply.status, list(reply.headers.items()), await reply.read()


async def close_sessions() -> None:
    """Close the running loop's sessions (a loop that is about to end: a test's, a slot pool's at shutdown)."""
    for current in _sessions.pop(asyncio.get_running_loop(), {}).values():
        await current.close()
