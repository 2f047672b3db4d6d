"""The last question's answers (« Est-ce que cette conversation vous a été utile ? »), kept with nothing that
identifies the person, for the coordinators' figures.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("flow_version", sa.String(32), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("rating", sa.String(8), nullable=True),
        sa.Column("word", sa.Text, nullable=True),
    )
    op.create_index("ix_feedback_day", "feedback", ["day"])


def downgrade() -> None:
    op.drop_index("ix_feedback_day", "feedback")
    op.drop_table("feedback")
