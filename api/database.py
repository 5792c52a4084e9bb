"""The configured database, migrated to the newest schema before use."""

from __future__ import annotations

from sqlalchemy import Engine

from api.config import Settings
from migrations import migrate
from models.database import make_engine


def open_database(settings: Settings) -> Engine:
    """Connect to the configured database and bring its schema up to date."""
    engine = make_engine(settings.database_url)
    migrate(engine)
    return engine
