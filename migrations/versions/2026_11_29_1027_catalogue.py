"""Catalogue tables: buildings, enterprises and scenarios.

Revision ID: 2026_11_29_catalogue
Revises: (none)
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_11_29_catalogue"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "building",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "district",
            sa.Enum(
                "渝中区",
                "大渡口区",
                "江北区",
                "沙坪坝区",
                "九龙坡区",
                "南岸区",
                "北碚区",
                "渝北区",
                "巴南区",
                "两江新区",
                "重庆高新区",
                "重庆经开区",
                name="district",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("vacant_area_m2", sa.Double(), nullable=False),
        sa.Column("min_unit_m2", sa.Double(), nullable=True),
        sa.Column("rent_yuan_m2_month", sa.Double(), nullable=False),
        sa.Column(
            "fit_out",
            sa.Enum(
                "move_in_ready",
                "basic",
                "shell",
                name="fit_out",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "grade",
            sa.Enum("A", "B", "C", name="grade", native_enum=False, create_constraint=True, length=32),
            nullable=True,
        ),
        sa.Column("focus_industries", sa.JSON(), nullable=False),
        sa.Column("amenities", sa.JSON(), nullable=False),
        sa.Column("incentives", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("available_from", sa.Date(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(lat IS NULL) = (lon IS NULL)", name=op.f("ck_building_lat_lon_together")),
        sa.CheckConstraint(
            "min_unit_m2 IS NULL OR (min_unit_m2 > 0 AND min_unit_m2 <= vacant_area_m2)",
            name=op.f("ck_building_min_unit_in_range"),
        ),
        sa.CheckConstraint("rent_yuan_m2_month >= 0", name=op.f("ck_building_rent_not_negative")),
        sa.CheckConstraint("vacant_area_m2 > 0", name=op.f("ck_building_vacant_area_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_building")),
    )
    with op.batch_alter_table("building", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_building_district"), ["district"], unique=False)

    op.create_table(
        "enterprise",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("industries", sa.JSON(), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=True),
        sa.Column("required_area_m2", sa.Double(), nullable=True),
        sa.Column("max_rent_yuan_m2_month", sa.Double(), nullable=True),
        sa.Column("preferred_districts", sa.JSON(), nullable=False),
        sa.Column("needs_move_in_ready", sa.Boolean(), nullable=False),
        sa.Column(
            "origin",
            sa.Enum(
                "outside_city",
                "in_city_relocation",
                "new_startup",
                name="origin",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "headcount IS NULL OR headcount >= 0", name=op.f("ck_enterprise_headcount_not_negative")
        ),
        sa.CheckConstraint(
            "max_rent_yuan_m2_month IS NULL OR max_rent_yuan_m2_month >= 0",
            name=op.f("ck_enterprise_max_rent_not_negative"),
        ),
        sa.CheckConstraint(
            "required_area_m2 IS NULL OR required_area_m2 > 0",
            name=op.f("ck_enterprise_required_area_positive"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprise")),
    )
    op.create_table(
        "scenario",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column(
            "owner_type",
            sa.Enum(
                "government",
                "soe",
                "enterprise",
                name="owner_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "level",
            sa.Enum("city", "district", name="level", native_enum=False, create_constraint=True, length=32),
            nullable=True,
        ),
        sa.Column(
            "district",
            sa.Enum(
                "渝中区",
                "大渡口区",
                "江北区",
                "沙坪坝区",
                "九龙坡区",
                "南岸区",
                "北碚区",
                "渝北区",
                "巴南区",
                "两江新区",
                "重庆高新区",
                "重庆经开区",
                name="district",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "domain",
            sa.Enum(
                "smart_manufacturing",
                "smart_city",
                "other",
                name="domain",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=True),
        sa.Column("industries", sa.JSON(), nullable=False),
        sa.Column("budget_wan_yuan", sa.Double(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column(
            "batch",
            sa.Enum(
                "collect",
                "develop",
                "expand",
                name="batch",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "open",
                "closed",
                "awarded",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status <> 'open' OR (owner IS NOT NULL AND scope IS NOT NULL AND budget_wan_yuan IS NOT NULL)",
            name=op.f("ck_scenario_open_is_publishable"),
        ),
        sa.CheckConstraint(
            "budget_wan_yuan IS NULL OR budget_wan_yuan > 0", name=op.f("ck_scenario_budget_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario")),
    )
    with op.batch_alter_table("scenario", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scenario_status"), ["status"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("scenario", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scenario_status"))

    op.drop_table("scenario")
    op.drop_table("enterprise")
    with op.batch_alter_table("building", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_building_district"))

    op.drop_table("building")
