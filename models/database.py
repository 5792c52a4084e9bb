"""Database engines and sessions (SQLite embedded by default, PostgreSQL supported), and the write lock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

WRITE_OPTION = "xingpei_write"
"""Execution option of a connection whose transaction takes the write lock as it begins."""
LOCK_WAIT_SECONDS = 10
"""How long a write waits for the one before it before giving up (SQLite's busy timeout, PostgreSQL's)."""
WRITE_LOCK_KEY = 0x58_50_57
"""PostgreSQL advisory lock held by every write transaction ("XPW"), so that writes take turns."""


class WriteBusy(Exception):
    """The write lock was not free within LOCK_WAIT_SECONDS: nothing was written, the client may retry."""

    def __init__(self) -> None:
        """The message says what happened and what to do, in Chinese."""
        super().__init__(
            f"数据库正忙：其他修改在 {LOCK_WAIT_SECONDS} 秒内未完成，本次未写入任何内容，请稍后重试"
        )


def _configure_sqlite(engine: Engine) -> None:
    """WAL journal, enforced foreign keys, a busy timeout, and transactions that really begin.

    A write transaction begins IMMEDIATE: it takes SQLite's write lock (waiting for the busy timeout)
    before it reads anything, so its reads are never older than the data it writes over. A deferred
    transaction that reads and then writes fails at once ("database is locked") when another
    connection wrote in between, whatever the busy timeout.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (savepoints work).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={LOCK_WAIT_SECONDS * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writing = connection.get_execution_options().get(WRITE_OPTION)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


def _lock_postgres(connection: Connection) -> None:
    """Wait for the advisory write lock, held until the transaction ends (at most LOCK_WAIT_SECONDS)."""
    connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT_SECONDS}s'"))
    connection.execute(select(func.pg_advisory_xact_lock(WRITE_LOCK_KEY)))


def _json(value: Any) -> str:
    """JSON columns keep Chinese as it is, so that text filters and exports see the real characters."""
    return json.dumps(value, ensure_ascii=False)


POOL_SIZE = 20
"""Connections each engine keeps open, and how many more it may open under a burst."""


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for `url`, creating the folder of a SQLite file if needed."""
    kwargs.setdefault("json_serializer", _json)
    # Room for every request a worker serves at once (the threadpool runs up to 40) without queueing.
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", POOL_SIZE)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def writing(session: Session) -> bool:
    """Whether the session's transaction holds the write lock (begun by `begin_write`)."""
    return session.in_transaction() and bool(session.connection().get_execution_options().get(WRITE_OPTION))


def begin_write(session: Session) -> None:
    """Start the session's next transaction holding the database's write lock; writes then take turns.

    Whatever the session read before is committed first (a write must not build on an older
    snapshot); it must not hold unflushed changes. A session already writing is left as it is.
    Raises WriteBusy when the lock is not free within LOCK_WAIT_SECONDS.
    """
    if writing(session):
        return
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("begin_write: the session holds changes made before the write lock was taken")
    session.commit()
    if isinstance(session.bind, Connection):  # a test's session inside an outer transaction: no new lock
        return
    try:
        connection = session.connection(execution_options={WRITE_OPTION: True})
        if connection.dialect.name == "postgresql":
            _lock_postgres(connection)
    except DBAPIError as exc:
        session.rollback()
        if is_lock_timeout(exc):
            raise WriteBusy from None
        raise


LOCK_TIMEOUT_STATES = frozenset({"55P03", "40P01", "40001"})
"""PostgreSQL: lock not available, deadlock detected, serialisation failure."""


def is_lock_timeout(exc: DBAPIError) -> bool:
    """Whether a database error means another writer held a lock too long (nothing was written)."""
    original = exc.orig
    if getattr(original, "sqlstate", None) in LOCK_TIMEOUT_STATES:
        return True
    return "database is locked" in str(original) or "database is busy" in str(original)
