"""What every `xingpei` command shares: the configured database and the error console."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker

from api.config import Settings, get_settings
from api.database import open_database
from models.database import make_session_factory

if TYPE_CHECKING:  # the matcher is imported by the commands that match, not by `import api.cli`
    from api.state import AppState

err = Console(stderr=True)
"""Messages for people go to standard error; results go to standard output."""


def sessions(settings: Settings) -> sessionmaker[Session]:
    """Open (and migrate) the configured database."""
    return make_session_factory(open_database(settings))


def loaded_state() -> AppState:
    """The configured catalogue loaded into a recommender, as the web app does at start-up."""
    from api.embedding import cached_encoder
    from api.loading import load_state

    settings = get_settings()
    database = sessions(settings)
    return load_state(settings, database, cached_encoder(settings, database))
