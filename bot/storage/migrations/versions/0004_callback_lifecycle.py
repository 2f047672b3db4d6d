"""The callback request's life: who holds it, attempts, outcome, the group post; an audit trail of every change;
the runs of scheduled jobs (reminders, daily summaries) so that one process does each.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NEW_COLUMNS = (
    sa.Column("first_name", sa.String(64), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("claimed_by", sa.String(128), nullable=True),
    sa.Column("claimed_name", sa.String(128), nullable=True),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("outcome", sa.String(32), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("post_chat_id", sa.BigInteger, nullable=True),
    sa.Column("post_message_id", sa.BigInteger, nullable=True),
)


def upgrade() -> None:
    for column in NEW_COLUMNS:
        op.add_column("callbacks", column)
    op.create_index("ix_callbacks_queue_created", "callbacks", ["queue", "created_at"])
    op.create_table(
        "callback_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("callback_id", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("actor_name", sa.String(128), nullable=True),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_index("ix_callback_events_callback", "callback_events", ["callback_id", "id"])
    op.create_index("ix_callback_events_at", "callback_events", ["at"])
    op.create_table(
        "scheduled_runs",
        sa.Column("job", sa.String(128), primary_key=True),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("scheduled_runs")
    op.drop_index("ix_callback_events_at", "callback_events")
    op.drop_index("ix_callback_events_callback", "callback_events")
    op.drop_table("callback_events")
    op.drop_index("ix_callbacks_queue_created", "callbacks")
    with op.batch_alter_table("callbacks") as batch:
        for column in reversed(NEW_COLUMNS):
            batch.drop_column(column.name)
