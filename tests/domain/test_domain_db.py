from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError

from domain.db import engine_for, make_engine, session_scope
from domain.models import Base, CreditAccount, LedgerEntry, Retailer

from tests.domain_fixtures import fresh


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(tmp_path):
    url = f"sqlite:///{tmp_path / 'nested' / 'folder' / 'x.sqlite3'}"
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    assert (tmp_path / "nested" / "folder").is_dir()
    engine.dispose()


def test_engine_for_creates_every_table(db):
    assert set(Base.metadata.tables) <= set(inspect(db).get_table_names())


def test_engine_for_returns_one_engine_per_url(settings):
    assert engine_for(settings.database_url) is engine_for(settings.database_url)


def test_session_scope_commits_on_success_and_rolls_back_on_error(db):
    with session_scope(db) as s:
        s.add(Retailer(name="kept", phone="+9779820000009"))
    with pytest.raises(RuntimeError):
        with session_scope(db) as s:
            s.add(Retailer(name="dropped", phone="+9779820000010"))
            s.flush()
            raise RuntimeError("boom")
    with fresh(db) as s:
        assert s.scalars(select(Retailer.name)).all() == ["kept"]


def test_foreign_keys_are_enforced(db):
    with pytest.raises(IntegrityError):
        with session_scope(db) as s:
            s.add(CreditAccount(retailer_id=999, credit_limit=Decimal("1")))


def test_money_round_trips_exactly_and_sums_exactly(db):
    amounts = [Decimal("0.10"), Decimal("0.20"), Decimal("12345678.99"), Decimal("0.01")]
    with session_scope(db) as s:
        r = Retailer(name="r", phone="+9779820000001")
        s.add(r)
        s.flush()
        a = CreditAccount(retailer_id=r.id, credit_limit=Decimal("99999999.99"), balance=Decimal("-0.05"))
        s.add(a)
        s.flush()
        for amount in amounts:
            s.add(LedgerEntry(account_id=a.id, kind="payment", direction="credit", amount=amount))
    with fresh(db) as s:
        assert s.scalars(select(LedgerEntry.amount).order_by(LedgerEntry.id)).all() == amounts
        assert s.scalar(select(func.sum(LedgerEntry.amount))) == Decimal("12345679.30")
        assert s.scalar(select(CreditAccount.balance)) == Decimal("-0.05")
        assert s.scalar(select(func.count()).where(LedgerEntry.amount > Decimal("0.15"))) == 2


def test_money_refuses_floats(db):
    with pytest.raises((TypeError, StatementError)):
        with session_scope(db) as s:
            s.add(Retailer(name="r", phone="+9779820000001"))
            s.flush()
            s.add(CreditAccount(retailer_id=1, credit_limit=0.1))
            s.flush()


def test_datetimes_are_stored_in_utc_and_come_back_aware(db):
    kathmandu = timezone(timedelta(hours=5, minutes=45))
    local = datetime(2025, 3, 10, 14, 45, tzinfo=kathmandu)
    with session_scope(db) as s:
        s.add(Retailer(name="r", phone="+9779820000001", created_at=local))
    with fresh(db) as s:
        stored = s.scalar(select(Retailer.created_at))
    assert stored == datetime(2025, 3, 10, 9, 0, tzinfo=timezone.utc)
    assert stored.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(db):
    with pytest.raises((ValueError, StatementError)):
        with session_scope(db) as s:
            s.add(Retailer(name="r", phone="+9779820000001", created_at=datetime(2025, 1, 1)))


def test_a_readonly_session_reads_while_another_session_holds_the_write_lock(db):
    with session_scope(db) as s:
        s.add(Retailer(name="kept", phone="+9779820000009"))
    with session_scope(db) as writer:
        writer.add(Retailer(name="uncommitted", phone="+9779820000010"))
        writer.flush()  # holds SQLite's write lock (a row lock on PostgreSQL) until the block ends
        with session_scope(db, readonly=True) as reader:
            assert reader.scalars(select(Retailer.name)).all() == ["kept"]


def test_a_readonly_session_writes_nothing(db):
    with session_scope(db, readonly=True) as s:
        s.add(Retailer(name="dropped", phone="+9779820000010"))
        s.flush()
    with fresh(db) as s:
        assert s.scalars(select(Retailer.name)).all() == []


def _writer_lock_held(url: str) -> bool:
    from domain import db as dbmod
    return any(lock.locked() for (_, u), lock in dbmod._writer_locks.items() if u == url)


def test_sqlite_writers_of_one_process_queue_on_a_lock_held_from_begin_until_the_unit_ends(tmp_path):
    import threading
    import time

    from domain.db import connection_scope
    url = f"sqlite:///{tmp_path / 'w.sqlite3'}"
    engine_for(url)
    with connection_scope(url, readonly=True) as conn:
        conn.exec_driver_sql("SELECT 1")
        assert not _writer_lock_held(url)  # readers never queue behind writers
    with pytest.raises(RuntimeError):
        with connection_scope(url) as conn:
            conn.exec_driver_sql("SELECT 1")
            assert _writer_lock_held(url)
            raise RuntimeError("the unit fails")
    assert not _writer_lock_held(url)  # a rolled-back unit lets the next writer in
    with session_scope(url) as s:
        s.add(Retailer(name="first", phone="+9779820000011"))
        s.flush()
        assert _writer_lock_held(url)
        started = time.monotonic()
        waited: list[float] = []

        def second_writer() -> None:
            with session_scope(url) as other:
                other.add(Retailer(name="second", phone="+9779820000012"))
                other.flush()
                waited.append(time.monotonic() - started)

        thread = threading.Thread(target=second_writer)
        thread.start()
        time.sleep(0.3)
        assert not waited  # queued behind the first unit
    thread.join(timeout=5)
    assert waited and 0.3 <= waited[0] < 2  # let in once the first committed, not after SQLite's 15 s timeout
    assert not _writer_lock_held(url)
    with fresh(engine_for(url)) as s:
        assert sorted(s.scalars(select(Retailer.name)).all()) == ["first", "second"]


def test_a_sqlite_engine_keeps_a_connection_per_slot_thread_open(tmp_path):
    from domain.db import SQLITE_POOL_SIZE
    engine = make_engine(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    held = [engine.connect() for _ in range(50)]  # 50 slots, each inside a unit at once
    for conn in held:
        conn.close()
    assert SQLITE_POOL_SIZE >= 50 and engine.pool.checkedin() == 50  # none closed on the way back
