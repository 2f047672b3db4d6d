"""Several processes on one database: inbox and outbox rows leased by the process handling or sending them (another
takes them over once the lease runs out: the process died); the inbox read per chat.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("leased_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("leased_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_outbox_chat", "outbox", ["channel", "chat_id", "id"])
    op.create_index("ix_inbox_chat", "inbox", ["channel", "chat_id", "update_id"])


def downgrade() -> None:
    op.drop_index("ix_inbox_chat", "inbox")
    op.drop_index("ix_outbox_chat", "outbox")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("leased_until")
        batch.drop_column("leased_by")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("leased_until")
        batch.drop_column("leased_by")
