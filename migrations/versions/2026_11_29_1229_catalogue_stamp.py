"""Catalogue stamps: a write counter per record kind, so every process can see a change.

Revision ID: 2026_11_29_catalogue_stamp
Revises: 2026_11_29_users_audit_weights
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_11_29_catalogue_stamp"
down_revision = "2026_11_29_users_audit_weights"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    stamp = op.create_table(
        "catalogue_stamp",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_catalogue_stamp")),
    )
    op.bulk_insert(
        stamp, [{"kind": kind, "version": 0} for kind in ("buildings", "enterprises", "scenarios")]
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("catalogue_stamp")
