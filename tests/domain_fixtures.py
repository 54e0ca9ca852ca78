"""Fixtures shared by tests/domain and tests/processors: databases, settings, a small world, a fake Cloud API.

Each of those folders' conftest.py star-imports this module.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from domain.db import create_schema, dispose_engines, engine_for, session_factory
from domain.models import Base, CreditAccount, Order, PaymentMethod, Retailer, Wholesaler
from domain.orders import place_order
from domain.settings import DomainSettings
from domain.whatsapp.fake_cloud import FakeCloudApi, Reply
from engine import jobctx, keys

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=timezone.utc)
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")


# -- databases -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine | None]:
    """A private schema on TEST_POSTGRES_URL for this test session, with the tables created once."""
    if not POSTGRES_URL:
        yield None
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    # synchronous_commit=off: tests need no durability, and each commit would otherwise wait for a flush
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema} -csynchronous_commit=off"})
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    create_schema(admin)
    yield admin
    dispose_engines()
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path) -> Iterator[str]:
    """A fresh, empty database: a new SQLite file, or the session's PostgreSQL schema emptied."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'domain.sqlite3'}"
        dispose_engines()
        return
    admin = request.getfixturevalue("postgres_admin")
    if admin is None:
        pytest.skip("TEST_POSTGRES_URL is not set")
    create_schema(admin)  # a test may have dropped the tables (seed --force)
    with admin.begin() as conn:  # DELETE and a sequence reset are much faster than TRUNCATE on tiny tables
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        names = ", ".join(f"'{t.name}'" for t in Base.metadata.sorted_tables if "id" in t.c)
        conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence(t, 'id'), 1, false) FROM unnest(ARRAY[{names}]) t")
    yield admin.url.render_as_string(hide_password=False)
    dispose_engines()  # close the test's connections so the next TRUNCATE is not blocked


@pytest.fixture
def settings(db_url, tmp_path) -> DomainSettings:
    """Explicit settings for one test: its own database and reports folder, sandbox WhatsApp, UTC."""
    return DomainSettings(database_url=db_url, reports_dir=tmp_path / "reports", whatsapp_provider="sandbox",
                          scheduler_tz="UTC", support_phone="+9779800000001",
                          reconciliation_alert_threshold=Decimal("100"), vendor_confirm_timeout_s=900)


@pytest.fixture
def db(settings):
    """The SQLAlchemy engine with the schema created."""
    return engine_for(settings.database_url)


@pytest.fixture
def session(db) -> Iterator[Session]:
    s = session_factory(db)()
    yield s
    s.rollback()
    s.close()


def fresh(db) -> Session:
    """A new session, to read what another session committed."""
    return session_factory(db)()


# -- a small world ---------------------------------------------------------------------
@dataclass
class World:
    wholesalers: list[Wholesaler]
    retailer: Retailer
    cash_retailer: Retailer
    account: CreditAccount
    orders: list[Order] = field(default_factory=list)


def build_world(session: Session) -> World:
    """Four wholesalers (ranks 1, 2, 3 active and an inactive rank-0 one), a credit and a cash retailer."""
    ws = [Wholesaler(name="Everest Traders", phone="+9779810000001", rank=1),
          Wholesaler(name="Bagmati Wholesale", phone="+9779810000002", rank=2),
          Wholesaler(name="Koshi Suppliers", phone="+9779810000003", rank=3),
          Wholesaler(name="Closed Distributors", phone="+9779810000004", rank=0, active=False)]
    retailer = Retailer(name="Sharma Kirana Pasal", phone="+9779820000001")
    cash = Retailer(name="Thapa General Store", phone="+9779820000002")
    session.add_all([*ws, retailer, cash])
    session.flush()
    account = CreditAccount(retailer_id=retailer.id, credit_limit=Decimal("10000.00"))
    session.add(account)
    session.flush()
    retailer.credit_account = account
    session.commit()
    return World(ws, retailer, cash, account)


@pytest.fixture
def world(session) -> World:
    return build_world(session)


def make_order(session: Session, world: World, *, total: str = "2500.00", credit: bool = True,
               wholesaler: int = 0, at: datetime = NOW, ttl: timedelta = timedelta(hours=2)) -> Order:
    """A committed pending order offered to world.wholesalers[wholesaler]."""
    retailer = world.retailer if credit else world.cash_retailer
    order = place_order(session, retailer, world.wholesalers[wholesaler], Decimal(total), at,
                        payment_method=PaymentMethod.CREDIT if credit else PaymentMethod.CASH, ttl=ttl)
    session.commit()
    return order


# -- the queue -------------------------------------------------------------------------
@contextmanager
def as_job(engine, job_id: str, queue: str, run: int = 1) -> Iterator[None]:
    """Run the block as if a worker were running job `job_id`."""
    token = jobctx.bind(jobctx.JobContext(engine, job_id, queue, run))
    try:
        yield
    finally:
        jobctx.unbind(token)


def fetch_job(engine, job_id: str) -> Job:
    return Job.fetch(job_id, connection=engine.conn, serializer=JSONSerializer)


def job_ids(engine, queue: str) -> set[str]:
    """Every job waiting or scheduled on `queue`."""
    ids = set()
    for priority in keys.PRIORITIES:
        ids |= {i.decode() for i in engine.conn.lrange(keys.waiting(queue, priority), 0, -1)}
    ids |= {i.decode() for i in engine.conn.zrange(keys.scheduled(queue), 0, -1)}
    return ids


def due_at(engine, queue: str, job_id: str) -> float | None:
    """The scheduled run time (epoch seconds) of a delayed job, None if it is not scheduled."""
    return engine.conn.zscore(keys.scheduled(queue), job_id)


# -- a local stand-in for the WhatsApp Business Cloud API ------------------------------
def error_reply(status: int, code: int, message: str, *, subcode: int | None = None, err_type: str = "OAuthException",
                headers: dict[str, str] | None = None) -> Reply:
    error: dict[str, Any] = {"message": message, "type": err_type, "code": code, "fbtrace_id": "AbCdEf123"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return Reply(status, {"error": error}, headers or {})


@pytest.fixture
def cloud_api() -> Iterator[FakeCloudApi]:
    """The fake Cloud API (domain/whatsapp/fake_cloud.py) on 127.0.0.1; it records every request."""
    api = FakeCloudApi(status_delay_s=0.02).start()
    yield api
    api.stop()


def expect_messages_path(api: FakeCloudApi) -> str:
    return f"/v21.0/{api.phone_number_id}/messages"


