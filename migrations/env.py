"""Alembic environment: runs migrations on the engine Xingpei hands over, or on XINGPEI_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from models.audit import AuditEntry  # noqa: F401
from models.base import Base
from models.building import Building  # noqa: F401  (registers the table)
from models.catalogue_stamp import CatalogueStamp  # noqa: F401
from models.database import make_engine
from models.enterprise import Enterprise  # noqa: F401
from models.scenario import Scenario  # noqa: F401
from models.shortlist import ShortlistItem  # noqa: F401
from models.text_vector import TextVector  # noqa: F401
from models.user import ApiToken, User  # noqa: F401
from models.weights_version import WeightsVersion  # noqa: F401


def _engine() -> Engine:
    """The engine given by the caller, or one built from the configured URL."""
    given = context.config.attributes.get("engine")
    if isinstance(given, Engine):
        return given
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        from api.config import get_settings

        url = get_settings().database_url
    return make_engine(url)


def run_migrations_online() -> None:
    """Run every pending migration in one transaction."""
    with _engine().connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
