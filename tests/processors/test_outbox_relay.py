"""The transactional outbox: a domain change commits its job's row with it; the relay enqueues each
row under its own job id and marks it sent. Real subprocesses are SIGKILLed between commit and
enqueue and between enqueue and mark-sent: no row is lost and no job is enqueued twice."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from domain import job_outbox
from domain.models import OutboxJob
from engine import keys
from processors import outbox_relay

from tests.domain_fixtures import NOW, fetch_job, fresh, make_order

ROOT = Path(__file__).resolve().parents[2]


def _env(settings, redis_url, **extra) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k != "OUTBOX_RELAY_CRASH_AT"}, "PYTHONPATH": str(ROOT),
            "DATABASE_URL": settings.database_url, "REDIS_URL": redis_url, **extra}


def _rows(db) -> list[OutboxJob]:
    with fresh(db) as s:
        return list(s.scalars(select(OutboxJob).order_by(OutboxJob.created_at)).all())


def _queue_entries(engine, queue: str) -> list[str]:
    """Every entry of the queue's lists and scheduled set, duplicates kept."""
    out = []
    for priority in keys.PRIORITIES:
        out += [i.decode() for i in engine.conn.lrange(keys.waiting(queue, priority), 0, -1)]
    return out + [i.decode() for i in engine.conn.zrange(keys.scheduled(queue), 0, -1)]


def test_placing_an_order_writes_its_expiry_job_to_the_outbox_in_the_same_transaction(engine, settings, db,
                                                                                       session, world):
    order = make_order(session, world)
    [row] = _rows(db)
    assert (row.queue, row.sent_at, row.run_at) == ("orderExpiry", None, order.expires_at)
    assert row.job_id == f"expiry-{order.id}-{int(order.expires_at.timestamp())}"
    session.rollback()
    assert _queue_entries(engine, "orderExpiry") == []  # nothing reaches the queue before the relay


def test_a_rolled_back_change_leaves_no_outbox_row(engine, settings, db, session, world):
    from domain.orders import place_order
    from decimal import Decimal

    place_order(session, world.cash_retailer, world.wholesalers[0], Decimal("5.00"), NOW)
    session.rollback()
    assert _rows(db) == []


def test_the_relay_enqueues_each_row_under_its_job_id_once_and_marks_it_sent(engine, settings, db, session, world):
    orders = [make_order(session, world, credit=False) for _ in range(3)]
    done = outbox_relay.relay(settings, engine=engine, now=NOW + timedelta(seconds=5))
    ids = [r.job_id for r in _rows(db)]
    assert sorted(done.sent) == sorted(ids) and len(ids) == 3
    assert sorted(_queue_entries(engine, "orderExpiry")) == sorted(ids)
    assert fetch_job(engine, ids[0]).kwargs["order_id"] in {str(o.id) for o in orders}
    assert all(r.sent_at == NOW + timedelta(seconds=5) for r in _rows(db))
    assert outbox_relay.relay(settings, engine=engine).sent == []  # sent rows are never relayed again


def test_a_row_the_queue_refuses_is_kept_with_its_reason_and_not_retried(engine, settings, db, session, world):
    job_outbox.add(session, "whatsapp", {"phone": "not-a-phone", "message": "hi"}, "bad-notice", NOW)
    session.commit()
    done = outbox_relay.relay(settings, engine=engine)
    assert list(done.refused) == ["bad-notice"]
    [row] = _rows(db)
    assert row.sent_at is None and "phone" in row.error
    assert outbox_relay.relay(settings, engine=engine).refused == {}
    with fresh(db) as s:
        lag = job_outbox.lag(s, NOW)
    assert (lag.unsent, lag.refused) == (0, 1)


def test_the_lag_is_the_unsent_count_and_the_oldest_unsent_age(engine, settings, db, session, world):
    with fresh(db) as s:
        assert job_outbox.lag(s, NOW) == job_outbox.Lag(0, None, 0)
    make_order(session, world, credit=False, at=NOW)
    make_order(session, world, credit=False, at=NOW + timedelta(seconds=30))
    with fresh(db) as s:
        assert job_outbox.lag(s, NOW + timedelta(seconds=90)) == job_outbox.Lag(2, 90.0, 0)


def test_a_producer_killed_between_commit_and_enqueue_loses_no_row(engine, settings, db, redis_url, world):
    proc = subprocess.Popen([sys.executable, "-m", "tests.processors.outbox_proc", "produce", "400"], cwd=ROOT,
                            env=_env(settings, redis_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    committed = 0
    deadline = time.monotonic() + 60
    while committed < 15 and time.monotonic() < deadline:  # kill it mid-stream, right after a commit
        line = proc.stdout.readline()
        committed += line.startswith("committed")
    proc.kill()
    proc.wait(timeout=10)
    assert committed >= 15, proc.stderr.read()[-2000:]
    rows = _rows(db)
    unsent_before = [r.job_id for r in rows if r.sent_at is None]
    assert unsent_before  # the kill left at least the last commit unrelayed
    outbox_relay.relay(settings, engine=engine)
    ids = sorted(r.job_id for r in _rows(db))
    assert all(r.sent_at is not None for r in _rows(db))
    assert sorted(_queue_entries(engine, "orderExpiry")) == ids  # every committed row, each once


def test_a_relay_killed_between_enqueue_and_mark_sent_enqueues_nothing_twice(engine, settings, db, redis_url,
                                                                            session, world):
    for _ in range(20):
        make_order(session, world, credit=False)
    proc = subprocess.run([sys.executable, "-m", "tests.processors.outbox_proc", "relay"], cwd=ROOT, timeout=60,
                          env=_env(settings, redis_url, OUTBOX_RELAY_CRASH_AT="after-enqueue"), capture_output=True,
                          text=True)
    assert proc.returncode == outbox_relay.CRASH_EXIT, proc.stderr[-2000:]
    ids = sorted(r.job_id for r in _rows(db))
    assert all(r.sent_at is None for r in _rows(db))  # enqueued, not yet marked
    first = {i: fetch_job(engine, i).enqueued_at for i in ids}
    done = outbox_relay.relay(settings, engine=engine)  # the next pass sends them all again
    assert sorted(done.sent) == ids and all(r.sent_at is not None for r in _rows(db))
    assert sorted(_queue_entries(engine, "orderExpiry")) == ids  # still one job per row
    assert {i: fetch_job(engine, i).enqueued_at for i in ids} == first  # the re-send changed nothing
