"""Initial schema: conversations, flow versions, callback requests.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("flow_version", sa.String(32), nullable=False),
        sa.Column("state", sa.String(128), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "flow_versions",
        sa.Column("version", sa.String(32), primary_key=True),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("file", sa.String(512), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "callbacks",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("conversation_key", sa.String(128), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("persona", sa.String(32), nullable=True),
        sa.Column("answers", sa.JSON, nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("moment", sa.String(16), nullable=True),
        sa.Column("contact", sa.String(16), nullable=True),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_text", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_callbacks_status_queue", "callbacks", ["status", "queue"])
    op.create_index("ix_callbacks_conversation", "callbacks", ["conversation_key"])


def downgrade() -> None:
    op.drop_index("ix_callbacks_conversation", "callbacks")
    op.drop_index("ix_callbacks_status_queue", "callbacks")
    op.drop_table("callbacks")
    op.drop_table("flow_versions")
    op.drop_table("conversations")
