"""The write lock: writes take turns and read what the one before wrote; a lock held too long is WriteBusy."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, text

from models import database
from models.database import WriteBusy, begin_write, make_engine, make_session_factory

THREADS = 4
INCREMENTS = 25


def _counter(url: str) -> Engine:
    """An engine on a database holding one counter at 0."""
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
        connection.execute(text("INSERT INTO counter VALUES (1, 0)"))
    return engine


def test_read_modify_writes_from_many_threads_lose_no_update(fresh_database_url: str) -> None:
    engine = _counter(fresh_database_url)
    sessions = make_session_factory(engine)
    failures: list[BaseException] = []

    def add_one_at_a_time() -> None:
        for _ in range(INCREMENTS):
            with sessions() as session:
                session.execute(text("SELECT n FROM counter"))  # a read first, as every request makes
                try:
                    begin_write(session)
                    n = session.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()
                    session.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})
                    session.commit()
                except Exception as exc:
                    failures.append(exc)

    threads = [threading.Thread(target=add_one_at_a_time) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as connection:
        total = connection.execute(text("SELECT n FROM counter")).scalar_one()
    engine.dispose()
    assert failures == []
    assert total == THREADS * INCREMENTS


def test_a_lock_held_too_long_is_write_busy_and_leaves_the_session_usable(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "LOCK_WAIT_SECONDS", 1)
    engine = _counter(fresh_database_url)
    sessions = make_session_factory(engine)
    with sessions() as holder, sessions() as waiter:
        begin_write(holder)
        holder.execute(text("UPDATE counter SET n = 7 WHERE id = 1"))
        with pytest.raises(WriteBusy, match="数据库正忙"):
            begin_write(waiter)
        holder.commit()
        begin_write(waiter)
        assert waiter.execute(text("SELECT n FROM counter")).scalar_one() == 7
        waiter.commit()
    engine.dispose()


def test_a_session_with_unflushed_changes_may_not_take_the_lock(fresh_database_url: str) -> None:
    from migrations import migrate
    from models.audit import AuditEntry

    engine = make_engine(fresh_database_url)
    migrate(engine)
    with make_session_factory(engine)() as session:
        session.add(AuditEntry(actor="t", action="t", target_kind="t"))
        with pytest.raises(RuntimeError, match="before the write lock"):
            begin_write(session)
    engine.dispose()
