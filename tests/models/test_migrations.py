"""The Alembic migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import make_url

from migrations import FOLDER, alembic_config, migrate
from models.audit import AuditEntry
from models.base import Base
from models.catalogue import get_record, import_file
from models.database import make_engine, make_session_factory
from models.lead import Lead, Stage
from models.records import EnterpriseRecord
from tests.files import enterprise, jsonl


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


def test_shortlist_rows_become_leads_and_firmless_rows_go_to_the_audit_log(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    command.upgrade(alembic_config(engine), "2026_11_29_shortlist")
    now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    with make_session_factory(engine).begin() as session:
        import_file(session, "enterprises", jsonl(enterprise(id="E1", name="重庆已入库企业")), "e.jsonl")
        session.execute(
            text("INSERT INTO app_user (name, role, created_at) VALUES ('staff', 'staff', :now)"),
            {"now": now},
        )
        session.execute(
            text("INSERT INTO api_token (user_id, token_hash, created_at) VALUES (1, 'h', :now)"),
            {"now": now},
        )
        typed_in = enterprise(id="adhoc", name="电话咨询企业", credit_code=None)
        rows = [
            ("重庆已入库企业", None, "B1", 0.81),
            ("电话咨询企业", json.dumps(typed_in, ensure_ascii=False), "B2", 0.7),
            ("", None, "B1", 0.5),
        ]
        for firm, profile, building_id, score in rows:
            session.execute(
                text(
                    "INSERT INTO shortlist_item (user_id, firm_name, firm_profile, building_id,"
                    " building_name, district, score, reasons, find_query, created_at)"
                    " VALUES (1, :firm, :profile, :b, '楼宇', '渝中区', :score, '[\"面积匹配\"]', '', :now)"
                ),
                {"firm": firm, "profile": profile, "b": building_id, "score": score, "now": now},
            )
    migrate(engine)
    with make_session_factory(engine)() as session:
        leads = session.scalars(select(Lead).order_by(Lead.id)).all()
        assert [(lead.enterprise_id, lead.building_id, lead.stage) for lead in leads] == [
            ("E1", "B1", Stage.recommended),
            ("SL-2", "B2", Stage.recommended),
        ]
        assert leads[0].owner == "staff"
        assert leads[0].match_rank is None, "a score taken from a form is not the server's match"
        assert "当时得分 0.81" in leads[0].history[0].note
        stored = get_record(session, "enterprises", "SL-2")
        assert isinstance(stored, EnterpriseRecord)
        assert stored.name == "电话咨询企业"
        unmigrated = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "shortlist.unmigrated")
        ).all()
        assert len(unmigrated) == 1
        kept = unmigrated[0].before
        assert isinstance(kept, dict)
        assert (kept["building_id"], kept["score"], kept["firm_name"]) == ("B1", 0.5, "")
        assert "shortlist_item" not in inspect(engine).get_table_names()
        assert session.scalar(text("SELECT count(*) FROM api_token")) == 1, "users keep their API tokens"
    engine.dispose()
