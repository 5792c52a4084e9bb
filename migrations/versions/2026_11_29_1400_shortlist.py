"""Shortlists: buildings a staff user keeps for a firm.

Revision ID: 2026_11_29_shortlist
Revises: 2026_11_29_catalogue_stamp
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_11_29_shortlist"
down_revision = "2026_11_29_catalogue_stamp"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
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


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("shortlist_item")
