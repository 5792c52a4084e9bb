"""Shared fixtures: a database built by the real migrations, one rolled-back transaction per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api.config import get_settings
from migrations import migrate
from models.database import make_engine

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
"""PostgreSQL (or other) URL to run the suite against; empty means a temporary SQLite file."""


def pytest_report_header() -> str:
    """Say which database the suite runs against."""
    where = make_url(TEST_DATABASE_URL).render_as_string() if TEST_DATABASE_URL else "SQLite (temporary file)"
    return f"database: {where}"


@pytest.fixture(autouse=True)
def no_start_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps and servers started by tests build from their database and keep no snapshot in var/cache
    (tests that exercise the snapshot turn it on with a temporary `cache_dir`)."""
    monkeypatch.setenv("XINGPEI_SNAPSHOT", "false")


@pytest.fixture(scope="session")
def backend() -> str:
    """`sqlite` or `postgresql`."""
    return make_url(TEST_DATABASE_URL).get_backend_name() if TEST_DATABASE_URL else "sqlite"


def create_postgres_database(base_url: str) -> tuple[str, str]:
    """Create an empty database beside `base_url`'s; return its URL and name."""
    url = make_url(base_url)
    name = f"xingpei_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def drop_postgres_database(base_url: str, name: str) -> None:
    """Drop a database made by `create_postgres_database`."""
    admin = create_engine(make_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database of the backend under test (for commands and subprocesses)."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'xingpei.db'}"
        return
    url, name = create_postgres_database(TEST_DATABASE_URL)
    yield url
    drop_postgres_database(TEST_DATABASE_URL, name)


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One migrated database for the whole session."""
    if TEST_DATABASE_URL:
        url, name = create_postgres_database(TEST_DATABASE_URL)
    else:
        url, name = f"sqlite:///{tmp_path_factory.mktemp('db') / 'session.db'}", ""
    engine = make_engine(url)
    migrate(engine)
    yield engine
    engine.dispose()
    if name:
        drop_postgres_database(TEST_DATABASE_URL, name)


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    """A session whose commits become savepoints inside a transaction rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        yield session
        session.close()
        transaction.rollback()


@pytest.fixture
def configured(fresh_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the settings (and so the `xingpei` command) at a fresh database."""
    monkeypatch.setenv("XINGPEI_DATABASE_URL", fresh_database_url)
    get_settings.cache_clear()
    yield fresh_database_url
    get_settings.cache_clear()
