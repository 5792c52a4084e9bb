"""Alembic migrations (revisions named by date), and the one call that brings a database up to date."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

FOLDER = Path(__file__).resolve().parent
"""The Alembic script folder: env.py and the revisions."""


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration pointing at these migrations and handing `engine` to env.py."""
    config = Config()
    config.set_main_option("script_location", str(FOLDER))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the database up to the newest schema by running the pending revisions."""
    command.upgrade(alembic_config(engine), "head")
