"""Connecting to the server named by the settings, and the one-time safety checks."""
from __future__ import annotations

import functools
import logging

import redis
from redis.backoff import ExponentialBackoff
from redis.client import Pipeline
from redis.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.exceptions import RedisClusterException
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelManagedConnection

from . import keys
from .errors import CredentialsError, EngineError, ServerError, ServerUnavailableError
from .settings import Settings

log = logging.getLogger(__name__)

# A refused or reset connection is retried (a restart or failover blip). A timeout is not: the server
# may have received the command, and retrying would only make a frozen server hang the caller longer.
_RETRY_ON = (redis.ConnectionError,)
# redis-py's cluster client raises RedisClusterException (not a RedisError) for a cross-slot call, say
_REDIS_ERRORS = (redis.RedisError, RedisClusterException)


@functools.cache
def _wrapped(base: type[ServerError], original: type[redis.RedisError]) -> type:
    return type(original.__name__, (base, original), {"__module__": __name__, "__qualname__": original.__name__})


def engine_error(exc: redis.RedisError | RedisClusterException) -> ServerError:
    """The engine error for a redis-py error: ServerUnavailableError for connection and timeout errors,
    ServerError for the rest. It stays an instance of the original class too, so code that catches
    redis-py's types (its NOSCRIPT and WATCH handling, the worker loop) behaves as before."""
    base = ServerUnavailableError if isinstance(exc, (redis.ConnectionError, redis.TimeoutError)) else ServerError
    try:
        wrapped = _wrapped(base, type(exc))(*exc.args)
    except TypeError:  # an exception class with an unusual constructor
        wrapped = base(str(exc))
    return wrapped


class _RaisesEngineErrors:
    """Mixed into redis-py's clients and pipelines: every error they raise comes out as the engine's."""

    def execute_command(self, *args, **kwargs):
        try:
            return super().execute_command(*args, **kwargs)
        except EngineError:
            raise
        except _REDIS_ERRORS as exc:
            raise engine_error(exc) from exc


class _PipelineRaisesEngineErrors(_RaisesEngineErrors):
    def execute(self, raise_on_error: bool = True):
        try:
            return super().execute(raise_on_error)
        except EngineError:
            raise
        except _REDIS_ERRORS as exc:
            raise engine_error(exc) from exc


class EnginePipeline(_PipelineRaisesEngineErrors, Pipeline):
    """redis-py's pipeline, raising the engine's errors."""


class EngineRedis(_RaisesEngineErrors, redis.Redis):
    """redis-py's client, raising the engine's errors (engine/errors.py) so that the API and dashboard
    catch EngineError only and never import redis."""

    def pipeline(self, transaction: bool = True, shard_hint=None) -> EnginePipeline:
        return EnginePipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


class EngineClusterPipeline(_PipelineRaisesEngineErrors, ClusterPipeline):
    """redis-py's cluster pipeline, raising the engine's errors. transaction=True needs one slot."""


class EngineCluster(_RaisesEngineErrors, RedisCluster):
    """redis-py's cluster client (REDIS_CLUSTER_NODES), raising the engine's errors like EngineRedis."""

    def pipeline(self, transaction=None, shard_hint=None) -> EngineClusterPipeline:
        pipe = super().pipeline(transaction=transaction, shard_hint=shard_hint)
        pipe.__class__ = EngineClusterPipeline  # the same object, our error mapping on top
        return pipe


class FollowingSentinelConnection(SentinelManagedConnection):
    """Asks Sentinel for the master on every (re)connect, redis-py's own retries included, so that
    clients follow a failover instead of reconnecting to the old address (redis-py issue #3874)."""

    def connect_check_health(self, check_health: bool = True, retry_socket_connect: bool = True):
        if self._sock:
            return
        if self.connection_pool.is_master:
            self.host, self.port = self.connection_pool.get_master_address()
        super().connect_check_health(check_health=check_health, retry_socket_connect=False)


def connect(settings: Settings, *, check: bool = True) -> EngineRedis | EngineCluster:
    """A client for the configured server (cluster nodes, URL, host/port or Sentinel); reconnects by itself.
    It also sets the process's key layout (engine/keys.py): hash-tagged per queue on a cluster."""
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=3, supported_errors=_RETRY_ON)  # ~1 s of blips
    timeouts = dict(socket_keepalive=True, socket_timeout=settings.redis_socket_timeout_s,
                    socket_connect_timeout=settings.redis_connect_timeout_s)
    common = dict(retry=retry, retry_on_error=list(_RETRY_ON), health_check_interval=15, **timeouts)
    keys.set_cluster(bool(settings.redis_cluster_nodes))
    if settings.redis_cluster_nodes:  # wins over the URL, host/port and Sentinel settings
        conn = _cluster_client(settings, retry, timeouts)
    elif settings.redis_sentinels:
        sentinel = Sentinel(settings.sentinel_hosts, socket_timeout=settings.redis_socket_timeout_s,
                            socket_connect_timeout=settings.redis_connect_timeout_s, password=None)
        conn = sentinel.master_for(
            settings.redis_sentinel_master, username=settings.redis_username, password=settings.redis_password,
            db=settings.redis_db,
            connection_class=FollowingSentinelConnection, redis_class=EngineRedis, **common
        )
        _watch_master(conn, interval_s=min(1.0, settings.lease_ms / 3000))
    elif settings.redis_url:  # a URL's own user and password (redis://user:pass@host) win over the settings
        auth = {k: v for k, v in (("username", settings.redis_username), ("password", settings.redis_password)) if v}
        conn = EngineRedis.from_url(settings.redis_url, **{**auth, **common})
    else:
        conn = EngineRedis(
            host=settings.redis_host or "127.0.0.1",
            port=settings.redis_port,
            username=settings.redis_username,
            password=settings.redis_password,
            db=settings.redis_db,
            **common,
        )
    if check:
        check_server(conn)
    return conn


def _cluster_client(settings: Settings, retry: Retry, timeouts: dict) -> EngineCluster:
    """The cluster client; it reads the slot map at once, so an unreachable cluster fails here."""
    try:
        return EngineCluster(startup_nodes=[ClusterNode(h, p) for h, p in settings.cluster_nodes], retry=retry,
                             username=settings.redis_username, password=settings.redis_password, **timeouts)
    except _REDIS_ERRORS as exc:  # redis-py wraps a node's refusal of the credentials in its own error
        if _refused_credentials(exc):
            raise CredentialsError(f"the Redis cluster refused the credentials (REDIS_USERNAME, REDIS_PASSWORD): "
                                   f"{exc}") from exc
        raise ServerUnavailableError(f"cannot reach the Redis cluster (REDIS_CLUSTER_NODES): {exc}") from exc


def _refused_credentials(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, redis.AuthenticationError) or "username-password" in str(exc) or "NOAUTH" in str(exc):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _watch_master(conn: redis.Redis, *, interval_s: float) -> None:
    """Ask Sentinel for the master every interval: when it changed (a SENTINEL FAILOVER, say),
    redis-py's pool drops its idle connections, so writes stop going to the demoted primary."""
    import threading
    import time

    def watch() -> None:
        while True:
            time.sleep(interval_s)
            try:
                conn.connection_pool.get_master_address()
            except redis.RedisError as exc:  # no master known right now: keep asking
                log.debug("sentinel master lookup failed: %s", exc)

    threading.Thread(target=watch, name="sentinel-master-watch", daemon=True).start()


def check_server(conn: redis.Redis | RedisCluster) -> None:
    """Ping, and warn loudly when the eviction policy could silently drop jobs (on every master of a cluster)."""
    try:
        conn.ping()
    except redis.AuthenticationError as exc:  # WRONGPASS, NOAUTH: a setting to fix, not a server to wait for
        raise CredentialsError(f"the Redis server refused the credentials (REDIS_USERNAME, REDIS_PASSWORD or "
                               f"the URL's user:password): {exc}") from exc
    except redis.exceptions.NoPermissionError as exc:
        raise CredentialsError(f"the Redis user may not run PING; give it the engine's ACL "
                               f"(deploy/valkey/engine.acl): {exc}") from exc
    except redis.RedisError as exc:
        raise ServerUnavailableError(f"cannot reach the Redis server: {exc}") from exc
    policy = next((p for p in map(_eviction_policy, masters(conn)) if p != "noeviction"), "noeviction")
    if policy != "noeviction":
        log.warning(
            "!!! Redis maxmemory-policy is %r, not 'noeviction': under memory pressure the server "
            "will evict keys and silently LOSE JOBS. Set maxmemory-policy noeviction. !!!",
            policy,
        )


def masters(conn: redis.Redis | RedisCluster) -> list[redis.Redis]:
    """A client per master: the cluster's masters (redis-py's own node clients), or the one server."""
    return [n.redis_connection for n in conn.get_primaries()] if isinstance(conn, RedisCluster) else [conn]


def refresh_slot_map(conn: redis.Redis | RedisCluster) -> None:
    """On a cluster, ask the nodes for the current masters: after a master crashed, its replica holds
    its slots, and a call made on a node's own client (not through the cluster client, which refreshes
    by itself on such errors) would otherwise keep aiming at the dead one."""
    if isinstance(conn, RedisCluster):
        try:
            conn.nodes_manager.initialize()
        except redis.RedisError as exc:  # no node answers yet: the next call asks again
            log.debug("cluster slot map refresh failed: %s", exc)


def on_every_master(conn: redis.Redis | RedisCluster, call) -> list:
    """`call(client)` on every master that answers: on a cluster, a master that does not answer makes
    the slot map refresh once (a failover) and is then left out; the first error if none answers."""
    if not isinstance(conn, RedisCluster):
        return [call(conn)]  # the one server: its errors as they are
    out, down = [], []
    for attempt in range(2):
        out, down = [], []
        for client in masters(conn):
            try:
                out.append(call(client))
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                down.append(exc)
        if not down or attempt:
            break
        refresh_slot_map(conn)
    if not out:
        raise engine_error(down[0]) from down[0]
    return out


def _eviction_policy(conn: redis.Redis) -> str:
    """maxmemory-policy from INFO memory (the engine's ACL user has INFO, not CONFIG); else CONFIG GET."""
    try:
        policy = conn.info("memory").get("maxmemory_policy")
        if policy:
            return str(policy)
    except redis.ResponseError:
        pass
    try:
        return conn.config_get("maxmemory-policy").get("maxmemory-policy", "unknown")
    except redis.ResponseError:  # CONFIG may be disabled on managed servers
        return "unknown"
