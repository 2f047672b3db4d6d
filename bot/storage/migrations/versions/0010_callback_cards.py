"""What a mediator's card says about a request: the commune of the place the person gave (never coordinates),
with its INSEE code for the activity reports, the channel the request came from, and, when a relative wrote, who
they are to the person.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

NEW_COLUMNS = (
    sa.Column("commune", sa.String(128), nullable=True),
    sa.Column("code_insee", sa.String(8), nullable=True),
    sa.Column("relation", sa.String(16), nullable=True),
    sa.Column("channel", sa.String(16), nullable=True),
)


def upgrade() -> None:
    for column in NEW_COLUMNS:
        op.add_column("callbacks", column)


def downgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:  # SQLite drops columns by copying the table
        for column in reversed(NEW_COLUMNS):
            batch.drop_column(column.name)
