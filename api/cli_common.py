"""What every `xingpei` command shares: the configured database and the error console."""

from __future__ import annotations

from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker

from api.config import Settings
from api.database import open_database
from models.database import make_session_factory

err = Console(stderr=True)
"""Messages for people go to standard error; results go to standard output."""


def sessions(settings: Settings) -> sessionmaker[Session]:
    """Open (and migrate) the configured database."""
    return make_session_factory(open_database(settings))
