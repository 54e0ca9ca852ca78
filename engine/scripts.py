"""Loads the Lua scripts in engine/lua/: each is prelude.lua plus its pieces, in order."""
from __future__ import annotations

import asyncio
from pathlib import Path

import redis
from redis.cluster import RedisCluster

from . import histogram

LUA_DIR = Path(__file__).parent / "lua"

# script name -> the files it is made of (after the prelude)
SCRIPTS = {
    "enqueue": ["enqueue", "enqueue_run"],
    "dequeue": ["dequeue", "dequeue_next"],
    "complete": ["complete", "complete_run"],
    "step": ["complete", "dequeue", "step"],  # complete a run and take the next job: one round trip
    "step_many": ["complete", "dequeue", "step_many"],  # the same for several slots at once (engine/batching.py)
    "fail": ["fail"],
    "fail_after": ["fail_after", "fail"],  # a finished job failed later: the same ladder, as a dead letter
    "dlq_retry": ["dlq_retry"],
    "remove": ["remove"],
    "heartbeat": ["heartbeat"],
    "lease": ["lease"],  # cluster mode: the heartbeat's lease part, in the job's slot
    "reap": ["reap"],
    "rollup": ["rollup"],
    "trim": ["trim"],
    "schedule_advance": ["schedule_advance"],
    "schedule_tick": ["enqueue", "schedule_tick"],  # claim a job tick and enqueue its job: one step
    "schedule_call_claim": ["schedule_call_claim"],
    "schedule_call_done": ["schedule_call_done"],
    "index_drop": ["index_drop"],
    "cancel": ["cancel"],
}


def _source(parts: list[str]) -> str:
    prelude = (LUA_DIR / "prelude.lua").read_text()
    for token, value in (("__HIST_BASE__", histogram.BASE), ("__KEEP_MINUTES_S__", histogram.KEEP_MINUTES_S)):
        prelude = prelude.replace(token, str(value))
    texts = [(LUA_DIR / f"{part}.lua").read_text() for part in parts]
    # a part's `#!lua flags=...` line (e.g. allow-oom) must open the whole script
    shebang = [t.split("\n", 1)[0] for t in texts if t.startswith("#!lua")]
    texts = [t.split("\n", 1)[1] if t.startswith("#!lua") else t for t in texts]
    return "\n".join([*shebang[:1], prelude, *texts])


class Scripts:
    """Registered scripts; redis-py reloads them by itself after a server restart (NOSCRIPT)."""

    def __init__(self, conn: redis.Redis):
        for name, parts in SCRIPTS.items():
            setattr(self, name, conn.register_script(_source(parts)))


class DirectCaller:
    """Runs scripts on one connection of its own, skipping the client's per-command pool and retry
    layers (~70 us a call here): the worker's hot loop, one thread. Connection errors propagate after
    the connection is dropped, and the next call reconnects; NOSCRIPT (after a server restart)
    loads the script and runs it again."""

    def __init__(self, conn: redis.Redis):
        self._pool = conn.connection_pool
        self.connection = self._pool.make_connection()

    def _connect(self) -> None:
        master = getattr(self._pool, "master_address", None)  # Sentinel pools only
        if master is not None and master != (self.connection.host, self.connection.port):
            self.connection.disconnect()  # Sentinel moved the master
        self.connection.connect()  # no-op when connected; a Sentinel-managed one asks Sentinel first

    def __call__(self, script, keys: list, args: list):
        self._connect()
        try:
            return self._evalsha(script, keys, args)
        except redis.exceptions.NoScriptError:
            self.connection.send_command("SCRIPT", "LOAD", script.script)
            self.connection.read_response()
            return self._evalsha(script, keys, args)
        except (redis.ConnectionError, redis.TimeoutError):
            self.connection.disconnect()
            raise

    def blpop(self, keys: list[str], block_s: float):
        """BLPOP on this connection, its read allowed the block time plus the socket timeout (a plain
        socket timeout shorter than the block would fail every idle wait)."""
        self._connect()
        try:
            self.connection.send_command("BLPOP", *keys, block_s)
            socket_timeout = self.connection.socket_timeout or 0
            return self.connection.read_response(timeout=block_s + socket_timeout)
        except (redis.ConnectionError, redis.TimeoutError):
            self.connection.disconnect()
            raise

    async def acall(self, script, keys: list, args: list):
        """The same call for an event loop: the request is written at once (it is small) and the loop goes on
        until the reply is readable, so one thread keeps several calls and the processors in flight."""
        self._connect()
        try:
            self.connection.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
            await self._readable()
            return self.connection.read_response()
        except redis.exceptions.NoScriptError:
            return self(script, keys, args)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            self.connection.disconnect()
            if isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
                raise
            raise redis.ConnectionError(str(exc)) from exc

    async def _readable(self) -> None:
        sock = self.connection._sock
        if sock is None or self.connection.can_read():
            return
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        loop.add_reader(sock.fileno(), lambda: ready.done() or ready.set_result(None))
        try:
            async with asyncio.timeout(self.connection.socket_timeout):
                await ready
        except TimeoutError:
            raise redis.TimeoutError("Timeout reading from the server") from None
        finally:
            loop.remove_reader(sock.fileno())

    def _evalsha(self, script, keys: list, args: list):
        self.connection.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
        return self.connection.read_response()

    def close(self) -> None:
        self.connection.disconnect()


class ClusterCaller:
    """DirectCaller's cluster-mode twin: scripts go through the cluster client, which sends each call to
    its slot's master (following MOVED, loading a missing script); BLPOP runs on a connection of its own
    to the master of the wake list's slot, its read allowed the block time plus the socket timeout."""

    def __init__(self, conn):
        self.conn = conn
        self.connection = None
        self._node: str | None = None

    def __call__(self, script, keys: list, args: list):
        return script(keys=keys, args=args, client=self.conn)

    def blpop(self, keys: list[str], block_s: float):
        node = self.conn.get_node_from_key(keys[0])
        if self.connection is None or self._node != node.name:
            self.close()
            self.connection, self._node = node.redis_connection.connection_pool.make_connection(), node.name
        try:
            self.connection.send_command("BLPOP", *keys, block_s)
            return self.connection.read_response(timeout=block_s + (self.connection.socket_timeout or 0))
        except redis.ResponseError:  # MOVED: the slot moved; the next script call learns the new map
            self.close()
            return None
        except (redis.ConnectionError, redis.TimeoutError):
            self.close()
            raise

    def close(self) -> None:
        if self.connection is not None:
            self.connection.disconnect()
        self.connection, self._node = None, None


def make_caller(conn):
    """The worker hot loop's caller: a DirectCaller, or a ClusterCaller on a cluster client."""
    return ClusterCaller(conn) if isinstance(conn, RedisCluster) else DirectCaller(conn)
