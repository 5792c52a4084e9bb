"""The Alembic migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from migrations import FOLDER, alembic_config, migrate
from models.base import Base
from models.database import make_engine


def test_migrated_schema_matches_the_models(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    migrate(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_migrations_downgrade_to_nothing_and_back(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    migrate(engine)
    command.downgrade(alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert {"building", "enterprise", "scenario"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_revision_files_are_named_by_date() -> None:
    scripts = ScriptDirectory(str(FOLDER))
    for revision in scripts.walk_revisions():
        assert revision.path is not None
        name = revision.path.rsplit("/", 1)[-1]
        assert name[:10].replace("_", "").isdigit(), name
        assert revision.revision.startswith(name[:10]), (revision.revision, name)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert make_url(str(engine.url)).get_backend_name() == "sqlite"
    engine.dispose()
