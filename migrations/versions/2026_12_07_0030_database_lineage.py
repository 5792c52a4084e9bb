"""Database lineage: a random id drawn once, so that a snapshot of one database is never served for another.

Revision ID: 2026_12_07_database_lineage
Revises: 2026_12_06_leads
Create Date: 2026-12-07
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "2026_12_07_database_lineage"
down_revision = "2026_12_06_leads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    lineage = op.create_table(
        "database_lineage",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_database_lineage")),
    )
    op.bulk_insert(lineage, [{"id": uuid.uuid4().hex}])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("database_lineage")
