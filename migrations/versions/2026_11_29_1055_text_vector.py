"""Vector cache: embeddings by content hash (model id + text).

Revision ID: 2026_11_29_text_vector
Revises: 2026_11_29_catalogue
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_11_29_text_vector"
down_revision = "2026_11_29_catalogue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "text_vector",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=200), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_text_vector")),
    )
    with op.batch_alter_table("text_vector", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_text_vector_model_id"), ["model_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("text_vector", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_text_vector_model_id"))

    op.drop_table("text_vector")
