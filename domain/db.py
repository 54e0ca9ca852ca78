"""Engines and sessions for a database URL: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL."""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from .models import Base

SQLITE_BUSY_TIMEOUT_MS = 15_000
READONLY_OPTION = "domain_readonly"
# Connections a SQLite engine keeps open: one per slot thread of a busy worker process. With SQLAlchemy's
# default (5, overflow 10) 50 slots closed and reopened connections, each open running the PRAGMAs below.
SQLITE_POOL_SIZE = 64


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """A new engine for `url`; SQLite gets WAL, foreign keys and write-lock-up-front transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                           pool_size=SQLITE_POOL_SIZE, max_overflow=-1)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    event.listen(engine, "checkin", _sqlite_on_checkin)
    return engine


def _sqlite_on_connect(dbapi_conn, _record) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see _sqlite_on_begin).
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


_WRITER_HELD = "domain_writer_held"
_writer_locks: dict[tuple[int, str], threading.Lock] = {}


def _writer_lock(conn: Connection) -> threading.Lock:
    key = (os.getpid(), str(conn.engine.url))  # per process: a fork never inherits a held lock
    lock = _writer_locks.get(key)
    return lock if lock is not None else _writer_locks.setdefault(key, threading.Lock())


def _sqlite_on_begin(conn) -> None:
    # Take the write lock at BEGIN: a read-then-write transaction can then never fail with
    # "database is locked" halfway, which is SQLite's stand-in for SELECT ... FOR UPDATE.
    # Read-only sessions begin deferred, so readers never wait for writers (WAL).
    # Writers of one process first queue on a lock of ours: SQLite's busy handler polls with sleeps of
    # 1, 2, 5, 10 ... ms, which 50 slots writing at once turn into most of a job's time. Bounded by the
    # busy timeout, after which SQLite's own wait still guards the write.
    readonly = conn.get_execution_options().get(READONLY_OPTION, False)
    if not readonly and _WRITER_HELD not in conn.info:
        lock = _writer_lock(conn)
        if lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            conn.info[_WRITER_HELD] = lock
    try:
        # On the driver's connection: SQLAlchemy's statement machinery (contexts, events, a result) cost more
        # than the statement, twice a send on the whatsapp hot path. The transaction is still SQLAlchemy's.
        conn.connection.driver_connection.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")
    except BaseException:
        _release_writer(conn.info)
        raise


def _sqlite_on_checkin(_dbapi_conn, record) -> None:
    # Released when the connection goes back to the pool: after its COMMIT or ROLLBACK has run
    # (SQLAlchemy's commit event fires before the COMMIT, while SQLite still holds its lock).
    _release_writer(record.info)


def _release_writer(info: dict) -> None:
    lock = info.pop(_WRITER_HELD, None)
    if lock is not None:
        lock.release()


def connection_of(session: Session | Connection) -> Connection:
    """The Core connection behind a session, or the connection itself: the Core hot paths take either."""
    return session.connection() if isinstance(session, Session) else session


def insert_for(dialect: str) -> Callable[..., Any]:
    """The INSERT (with ON CONFLICT ...) of a dialect by name: PostgreSQL's, or SQLite's."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def create_schema(engine: Engine) -> None:
    """Create every missing table (the schema is owned by code; there are no migrations yet)."""
    Base.metadata.create_all(engine)


def drop_schema(engine: Engine) -> None:
    """Drop every domain table (used by `seed --force` and tests)."""
    Base.metadata.drop_all(engine)


_engines: dict[tuple[int, str], Engine] = {}
_lock = threading.Lock()


def engine_for(url: str) -> Engine:
    """The process's engine for `url`, created with its schema on first use.

    Keyed by process id too, so a forked worker never reuses its parent's pooled connections.
    """
    key = (os.getpid(), url)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = make_engine(url)
            create_schema(engine)
            _engines[key] = engine
        return engine


def dispose_engines() -> None:
    """Close and forget every cached engine (tests, shutdown)."""
    with _lock:
        for (pid, _url), engine in list(_engines.items()):
            engine.dispose(close=pid == os.getpid())
        _engines.clear()
        _factory.cache_clear()
        _readonly.cache_clear()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@lru_cache(maxsize=64)
def _readonly(engine: Engine) -> Engine:
    return engine.execution_options(**{READONLY_OPTION: True})


@lru_cache(maxsize=64)
def _factory(engine: Engine, readonly: bool) -> sessionmaker[Session]:
    # A sessionmaker builds a Session subclass and its event tables (~1 ms of CPU): one per engine, not per unit.
    return session_factory(_readonly(engine) if readonly else engine)


@contextmanager
def connection_scope(url_or_engine: str | Engine, *, readonly: bool = False) -> Iterator[Connection]:
    """session_scope's unit of work on a bare Core connection, for Core statements on a hot path (a Session's
    begin, connection and close cost about as much as the statements): same commit, rollback and readonly."""
    engine = engine_for(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    with (_readonly(engine) if readonly else engine).connect() as conn, conn.begin() as transaction:
        yield conn
        if readonly:
            transaction.rollback()


@contextmanager
def session_scope(url_or_engine: str | Engine, *, readonly: bool = False) -> Iterator[Session]:
    """One unit of work: commit when the block ends, roll back if it raises.

    `readonly` sessions (dashboards, reports that only read) never take SQLite's write lock
    and are rolled back rather than committed.
    """
    engine = engine_for(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    session = _factory(engine, readonly)()
    try:
        yield session
        if readonly:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
