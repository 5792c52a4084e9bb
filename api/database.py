"""The configured database, migrated to the newest schema before use."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from api.config import Settings
from models.database import make_engine

MIGRATED_ENV = "_XINGPEI_MIGRATED"
"""Set while `serve --workers N` runs its workers: it brought the schema up to date before starting them,
so they skip Alembic (0.2 s of each worker's start-up only to import it)."""


def open_database(settings: Settings) -> Engine:
    """Connect to the configured database and bring its schema up to date (unless `MIGRATED_ENV` says the
    process that started this one has)."""
    engine = make_engine(settings.database_url)
    if os.environ.get(MIGRATED_ENV) != "1":
        from migrations import migrate  # imported only here: see MIGRATED_ENV

        migrate(engine)
    return engine


@contextmanager
def migrated(settings: Settings) -> Iterator[None]:
    """Bring the schema up to date, and tell the processes started meanwhile that it is."""
    open_database(settings).dispose()
    os.environ[MIGRATED_ENV] = "1"
    try:
        yield
    finally:
        os.environ.pop(MIGRATED_ENV, None)
