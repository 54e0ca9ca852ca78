"""The engine's client raises the engine's error tree for every redis-py error, and stays the original
redis-py type too, so redis-py's own retry / NOSCRIPT handling and the worker loop keep working."""
from __future__ import annotations

import pytest
import redis

from engine import monitoring
from engine.app import Engine
from engine.errors import EngineError, ServerError, ServerUnavailableError
from engine.settings import Settings


def test_unreachable_server_raises_server_unavailable():
    eng = Engine.from_settings(Settings(redis_url="redis://127.0.0.1:1/0"), check=False)
    with pytest.raises(ServerUnavailableError) as caught:
        monitoring.workers(engine=eng)
    assert isinstance(caught.value, redis.ConnectionError) and isinstance(caught.value, EngineError)


def test_refused_command_raises_server_error_keeping_the_redis_type(engine):
    engine.conn.set("plain", "x")
    with pytest.raises(ServerError) as caught:
        engine.conn.lpush("plain", "y")
    assert isinstance(caught.value, redis.ResponseError) and not isinstance(caught.value, ServerUnavailableError)
    assert "WRONGTYPE" in str(caught.value)


def test_pipeline_errors_are_wrapped_too(engine):
    engine.conn.set("plain", "x")
    pipe = engine.conn.pipeline(transaction=False)
    pipe.lpush("plain", "y")
    with pytest.raises(ServerError):
        pipe.execute()


def test_scripts_reload_after_a_script_flush(engine):
    script = engine.conn.register_script("return 7")
    assert script() == 7
    engine.conn.script_flush()
    assert script() == 7  # redis-py catches NoScriptError and loads the script again
