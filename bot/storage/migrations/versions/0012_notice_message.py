"""The person's latest Telegram message about their callback request (« va vous appeler » with « Annuler ma
demande »): when a newer one is sent, or the request is closed, that message's buttons are taken away, so that
nothing stale is left to press.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("callbacks", sa.Column("notice_message_id", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_column("notice_message_id")
