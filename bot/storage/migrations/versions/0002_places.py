"""The places of digital help (the offer catalogue), imported from files in the national standard.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "places",
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("latitude", sa.Float, nullable=True),
        sa.Column("longitude", sa.Float, nullable=True),
        sa.Column("precision", sa.String(16), nullable=True),
        sa.Column("postcode", sa.String(5), nullable=True),
        sa.Column("insee", sa.String(5), nullable=True),
        sa.Column("has_services", sa.Boolean, nullable=False),
        sa.Column("retired", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("source", "id", name="pk_places"),
    )
    op.create_index("ix_places_retired", "places", ["retired"])


def downgrade() -> None:
    op.drop_index("ix_places_retired", "places")
    op.drop_table("places")
