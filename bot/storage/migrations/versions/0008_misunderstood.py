"""Answers not understood, or understood and then refused, kept masked and unlinked from their conversation for the
coordinators (`python -m bot flows misunderstood`).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "misunderstood",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("flow_version", sa.String(32), nullable=False),
        sa.Column("question", sa.String(128), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_misunderstood_created", "misunderstood", ["created_at"])
    op.create_index("ix_misunderstood_flow_question", "misunderstood", ["flow", "question"])


def downgrade() -> None:
    op.drop_index("ix_misunderstood_flow_question", "misunderstood")
    op.drop_index("ix_misunderstood_created", "misunderstood")
    op.drop_table("misunderstood")
