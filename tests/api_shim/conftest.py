"""API test fixtures: the app over the session's real Valkey (flushed per test), keys of both roles."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from redis.backoff import NoBackoff
from redis.retry import Retry

from api_shim import create_app
from engine.app import Engine
from engine.settings import Settings

READ_KEY = "read-key-0123456789"
WRITE_KEY = "write-key-0123456789"
API_KEYS = f"viewer:read:{READ_KEY},ops-bot:write:{WRITE_KEY}"
READ = {"X-API-Key": READ_KEY}
WRITE = {"X-API-Key": WRITE_KEY}


@pytest.fixture
def app(engine):
    return create_app(engine, api_keys=API_KEYS)


@pytest.fixture
def client(app):
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def down_client():
    """An app whose engine points at a closed port (no retries, so each call fails at once)."""
    eng = Engine.from_settings(Settings(redis_url="redis://127.0.0.1:1"), check=False)
    eng.conn.set_retry(Retry(NoBackoff(), 0))
    with TestClient(create_app(eng, api_keys=API_KEYS), raise_server_exceptions=False) as c:
        yield c
