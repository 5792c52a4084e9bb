"""Alembic environment: runs on the engine Xingpei hands over, or on the URL given as `-x url=…`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from models.audit import AuditEntry  # noqa: F401
from models.base import Base
from models.building import Building  # noqa: F401  (registers the table)
from models.catalogue_stamp import CatalogueStamp  # noqa: F401
from models.database import make_engine
from models.enterprise import Enterprise  # noqa: F401
from models.indicator_target import IndicatorTarget  # noqa: F401
from models.lead import Lead, LeadEvent  # noqa: F401
from models.scenario import Scenario  # noqa: F401
from models.text_vector import TextVector  # noqa: F401
from models.user import ApiToken, User  # noqa: F401
from models.weights_version import WeightsVersion  # noqa: F401


def _engine() -> Engine:
    """The engine given by the caller (`migrations.migrate`), or one for the command line's `-x url=…`."""
    given = context.config.attributes.get("engine")
    if isinstance(given, Engine):
        return given
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit(
            "请用 -x url=… 指定要迁移的数据库，例如 alembic -x url=sqlite:///var/xingpei.db upgrade head"
        )
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
