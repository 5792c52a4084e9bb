"""Opening the database: migrated unless the process that started this one already did."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import inspect

from api.config import Settings
from api.database import MIGRATED_ENV, migrated, open_database
from models.database import make_engine


def _tables(url: str) -> set[str]:
    """The tables a database holds (read with an engine of its own, which migrates nothing)."""
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_database_is_migrated_when_opened(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    open_database(Settings(database_url=url)).dispose()
    assert "building" in _tables(url)


def test_processes_started_by_serve_skip_the_migration_their_supervisor_ran(tmp_path: Path) -> None:
    supervised, other = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    with migrated(Settings(database_url=supervised)):
        assert os.environ[MIGRATED_ENV] == "1"
        open_database(Settings(database_url=other)).dispose()  # as a worker would: no migration
    assert "building" in _tables(supervised)
    assert "building" not in _tables(other)
    assert MIGRATED_ENV not in os.environ
    open_database(Settings(database_url=other)).dispose()
    assert "building" in _tables(other)
