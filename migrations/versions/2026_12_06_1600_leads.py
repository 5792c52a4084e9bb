"""Leads (跟进): the follow-up pipeline, its history, capacity and the plan's targets (SPEC §8).

The shortlist becomes a lead's first stage: each kept building becomes a lead at `recommended` for
its firm (a typed-in firm that is not in the catalogue is stored as an enterprise first), with the
score and reasons it was kept with in the lead's first note. A row kept without a firm cannot be a
lead; it is written to the audit log (`shortlist.unmigrated`) so that nothing is lost.

Revision ID: 2026_12_06_leads
Revises: 2026_11_29_shortlist
Create Date: 2026-12-06
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from pydantic import ValidationError

from models.base import UtcDateTime
from models.catalogue import content_hash
from models.enums import District
from models.indicator_target import CITY, PLAN_TARGETS
from models.lead import LeadKind, LostReason, Stage
from models.records import EnterpriseRecord

revision = "2026_12_06_leads"
down_revision = "2026_11_29_shortlist"
branch_labels = None
depends_on = None


def _enum(name: str, values: list[str]) -> sa.Enum:
    """A portable enum column type, as `models.base.enum_column` makes them."""
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


STAGES = [stage.value for stage in Stage]


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "indicator_target",
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("area_used_m2", sa.Double(), nullable=True),
        sa.Column("firms_landed", sa.Double(), nullable=True),
        sa.Column("jobs", sa.Double(), nullable=True),
        sa.Column("scenarios_won", sa.Double(), nullable=True),
        sa.Column("contract_wan_yuan", sa.Double(), nullable=True),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_indicator_target")),
    )
    lead = op.create_table(
        "lead",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("lead_kind", [kind.value for kind in LeadKind]), nullable=False),
        sa.Column("enterprise_id", sa.String(length=64), nullable=False),
        sa.Column("building_id", sa.String(length=64), nullable=True),
        sa.Column("scenario_id", sa.String(length=64), nullable=True),
        sa.Column("enterprise_name", sa.String(length=200), nullable=False),
        sa.Column("offer_name", sa.String(length=300), nullable=False),
        sa.Column("district", sa.String(length=20), nullable=True),
        sa.Column("industry", sa.String(length=32), nullable=True),
        sa.Column("origin", sa.String(length=32), nullable=True),
        sa.Column("stage", _enum("lead_stage", STAGES), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("stage_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("signed_area_m2", sa.Double(), nullable=True),
        sa.Column("rent_yuan_m2_month", sa.Double(), nullable=True),
        sa.Column("expected_headcount", sa.Integer(), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("moved_in_on", sa.Date(), nullable=True),
        sa.Column("actual_headcount", sa.Integer(), nullable=True),
        sa.Column("contract_wan_yuan", sa.Double(), nullable=True),
        sa.Column(
            "lost_reason", _enum("lost_reason", [reason.value for reason in LostReason]), nullable=True
        ),
        sa.Column("match_weights_version", sa.Integer(), nullable=True),
        sa.Column("match_rank", sa.Integer(), nullable=True),
        sa.Column("match_score", sa.Double(), nullable=True),
        sa.Column("match_components", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "(kind = 'building' AND building_id IS NOT NULL AND scenario_id IS NULL)"
            " OR (kind = 'scenario' AND scenario_id IS NOT NULL AND building_id IS NULL)",
            name=op.f("ck_lead_one_offer"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_lead_version_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead")),
    )
    for column in ("building_id", "district", "enterprise_id", "owner", "scenario_id", "stage"):
        op.create_index(op.f(f"ix_lead_{column}"), "lead", [column])
    op.create_index("ix_lead_pair", "lead", ["enterprise_id", "building_id", "scenario_id"])
    event = op.create_table(
        "lead_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("from_stage", _enum("lead_from_stage", STAGES), nullable=True),
        sa.Column("stage", _enum("lead_event_stage", STAGES), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_lead_event_lead_id_lead"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_event")),
    )
    op.create_index(op.f("ix_lead_event_at"), "lead_event", ["at"])
    op.create_index(op.f("ix_lead_event_lead_id"), "lead_event", ["lead_id"])
    # Plain ADD COLUMN, not batch mode: on SQLite batch mode copies and drops the table, and dropping
    # app_user would cascade to its API tokens. SQLite keeps no CHECK on the new column; the app
    # validates districts on the way in either way.
    districts = [district.value for district in District]
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column(
        "app_user", sa.Column("district", sa.String(32) if sqlite else _enum("user_district", districts))
    )
    op.add_column("building", sa.Column("vacancy_as_of", UtcDateTime(timezone=True), nullable=True))
    op.execute("UPDATE building SET vacancy_as_of = updated_at")
    now = datetime.now(UTC)
    op.bulk_insert(
        sa.table(
            "indicator_target",
            *(sa.column(name) for name in ("scope", "updated_at", "updated_by", *PLAN_TARGETS)),
        ),
        [{"scope": CITY, "updated_at": now, "updated_by": "", **PLAN_TARGETS}],
    )
    op.execute("INSERT INTO catalogue_stamp (kind, version) VALUES ('capacity', 0)")
    _shortlist_to_leads(lead, event, now)
    op.drop_table("shortlist_item")


def _shortlist_to_leads(lead: sa.Table, event: sa.Table, now: datetime) -> None:
    """Each kept building becomes a lead at `recommended`; a row without a firm goes to the audit log."""
    connection = op.get_bind()
    rows = (
        connection.execute(
            sa.text(
                "SELECT s.id, s.firm_name, s.firm_profile, s.building_id, s.building_name, s.district,"
                " s.score, s.reasons, s.created_at, u.name AS user_name FROM shortlist_item s"
                " JOIN app_user u ON u.id = s.user_id ORDER BY s.id"
            )
        )
        .mappings()
        .all()
    )
    started: dict[tuple[str, str], int] = {}
    for row in rows:
        firm = _firm_of(connection, row) if row["firm_name"] else None
        if firm is None:
            connection.execute(
                sa.text(
                    "INSERT INTO audit_entry (at, actor, action, target_kind, target_id, before)"
                    " VALUES (:at, 'migration', 'shortlist.unmigrated', 'shortlist', :target, :before)"
                ).bindparams(sa.bindparam("before", type_=sa.JSON), sa.bindparam("at", type_=UtcDateTime())),
                {"at": now, "target": row["building_id"], "before": _plain(row)},
            )
            continue
        pair = (firm.id, row["building_id"])
        reasons = "；".join(_json(row["reasons"]) or [])
        score = "" if row["score"] is None else f"当时得分 {row['score']:.2f}；"
        note = f"由候选清单迁移（{row['user_name']} 保存）：{score}{reasons}"[:2000]
        if pair not in started:
            created = _at(row["created_at"])
            started[pair] = connection.execute(
                lead.insert().returning(lead.c.id),
                {
                    "kind": "building",
                    "enterprise_id": firm.id,
                    "building_id": row["building_id"],
                    "enterprise_name": firm.name,
                    "offer_name": row["building_name"],
                    "district": row["district"],
                    "industry": firm.industries[0].value if firm.industries else None,
                    "origin": firm.origin.value if firm.origin else None,
                    "stage": "recommended",
                    "version": 1,
                    "owner": row["user_name"],
                    "created_at": created,
                    "stage_at": created,
                },
            ).scalar_one()
        connection.execute(
            event.insert(),
            {
                "lead_id": started[pair],
                "at": _at(row["created_at"]),
                "actor": row["user_name"],
                "from_stage": None,
                "stage": "recommended",
                "note": note,
                "facts": {},
            },
        )


def _firm_of(connection: sa.Connection, row: Any) -> EnterpriseRecord | None:
    """The stored enterprise of that name; else the typed-in profile, stored now; else None."""
    stored = connection.execute(
        sa.text("SELECT id FROM enterprise WHERE name = :name ORDER BY id LIMIT 1"),
        {"name": row["firm_name"]},
    ).scalar()
    profile = _json(row["firm_profile"]) or {}
    table = sa.Table("enterprise", sa.MetaData(), autoload_with=connection)
    if stored is not None:
        row_of_firm = connection.execute(sa.select(table).where(table.c.id == stored)).mappings().one()
        return EnterpriseRecord.model_validate(
            {
                key: _json(value) if isinstance(table.c[key].type, sa.JSON) else value
                for key in EnterpriseRecord.model_fields
                if (value := row_of_firm[key]) is not None
            }
        )
    try:
        firm = EnterpriseRecord.model_validate({**profile, "name": row["firm_name"], "id": f"SL-{row['id']}"})
    except ValidationError:
        return None
    values = firm.model_dump(mode="json")
    connection.execute(
        table.insert(),
        {
            **values,
            "content_hash": content_hash(firm),
            "created_at": _at(row["created_at"]),
            "updated_at": _at(row["created_at"]),
        },
    )
    op.execute("UPDATE catalogue_stamp SET version = version + 1 WHERE kind = 'enterprises'")
    return firm


def _json(value: Any) -> Any:
    """A JSON column's value (SQLite may hand back its text)."""
    return json.loads(value) if isinstance(value, str) else value


def _at(value: Any) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite hands back text)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _plain(row: Any) -> dict[str, Any]:
    """A shortlist row as JSON values."""
    return {
        key: (
            value.isoformat()
            if isinstance(value, datetime)
            else _json(value)
            if key in ("firm_profile", "reasons")
            else value
        )
        for key, value in row.items()
    }


def downgrade() -> None:
    """Revert this revision (leads are dropped; the shortlist comes back empty)."""
    op.create_table(
        "shortlist_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("firm_name", sa.String(length=200), nullable=False),
        sa.Column("firm_profile", sa.JSON(), nullable=True),
        sa.Column("building_id", sa.String(length=64), nullable=False),
        sa.Column("building_name", sa.String(length=200), nullable=False),
        sa.Column("district", sa.String(length=20), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("find_query", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_shortlist_item_user_id_app_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shortlist_item")),
        sa.UniqueConstraint("user_id", "firm_name", "building_id", name=op.f("uq_shortlist_item_user_id")),
    )
    op.execute("DELETE FROM catalogue_stamp WHERE kind = 'capacity'")
    if op.get_bind().dialect.name != "sqlite":  # SQLite has no CHECK on the column: see upgrade()
        op.drop_constraint(op.f("ck_app_user_user_district"), "app_user", type_="check")
    op.execute("ALTER TABLE building DROP COLUMN vacancy_as_of")  # not batch mode: see upgrade()
    op.execute("ALTER TABLE app_user DROP COLUMN district")
    op.drop_table("lead_event")
    op.drop_table("lead")
    op.drop_table("indicator_target")
