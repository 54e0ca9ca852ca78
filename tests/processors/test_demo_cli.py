"""`python -m processors seed` as an operator runs it: the demo data set and its jobs, once."""
import json
import socket

import pytest
from sqlalchemy import func, select

from domain.models import Order, OrderStatus, Wholesaler
from domain.settings import get_settings
from engine.app import set_default_engine
from processors.__main__ import main

from tests.domain_fixtures import fresh, job_ids


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def env(settings, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the full data set takes seconds on PostgreSQL
def test_seed_writes_the_demo_data_set_and_enqueues_its_jobs_once(env, db, engine, capsys):
    assert main(["seed"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["seeded"] is True and first["wholesalers"] == 30 and first["retailers"] == 100
    assert set(first["orders"]) == {s.value for s in OrderStatus} and sum(first["orders"].values()) >= 500
    assert min(first["orders"].values()) >= 30  # every status well represented
    assert first["credit_accounts"] >= 40 and first["ledger_entries"] >= 200 and len(first["tampered_accounts"]) == 5
    assert set(first["jobs"]) == set(engine.table.names)
    assert all(len(job_ids(engine, q)) == n for q, n in first["jobs"].items())
    assert first["jobs"]["orderExpiry"] == first["orders"]["pending"]

    assert main(["seed"]) == 0
    assert json.loads(capsys.readouterr().out)["seeded"] is False
    assert all(len(job_ids(engine, q)) == n for q, n in first["jobs"].items())
    with fresh(db) as s:
        assert s.scalar(select(func.count()).select_from(Wholesaler)) == 30
        assert s.scalar(select(func.count()).select_from(Order)) == sum(first["orders"].values())


def test_seed_without_a_reachable_queue_server_writes_nothing(env, db, capsys):
    env.setenv("REDIS_URL", f"redis://127.0.0.1:{closed_port()}/0")  # nothing listens there
    set_default_engine(None)
    assert main(["seed"]) == 2
    assert "cannot reach the Redis server" in capsys.readouterr().err
    with fresh(db) as s:
        assert s.scalar(select(func.count()).select_from(Wholesaler)) == 0


