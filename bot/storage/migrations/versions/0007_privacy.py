"""Privacy at rest: callback requests' phone, first name and notes encrypted (wider columns for the tokens), a keyed
digest of the phone number to find a request by number, an index for the retention purge.

Rows written before this revision are encrypted here, with the keyring Storage.open hands over
(`config.attributes["keyring"]`); without one (alembic run from the shell) and with such rows, the migration stops
and says to start the bot instead.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from bot.core.errors import StorageError
from bot.storage.crypto import Keyring

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_callbacks = sa.table(
    "callbacks",
    sa.column("id", sa.String),
    sa.column("phone", sa.Text),
    sa.column("phone_digest", sa.String),
    sa.column("first_name", sa.Text),
    sa.column("note", sa.Text),
)
_events = sa.table("callback_events", sa.column("id", sa.Integer), sa.column("note", sa.Text))


def upgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.alter_column("phone", type_=sa.Text(), existing_type=sa.String(32), existing_nullable=True)
        batch.alter_column("first_name", type_=sa.Text(), existing_type=sa.String(64), existing_nullable=True)
        batch.add_column(sa.Column("phone_digest", sa.String(64), nullable=True))
    op.create_index("ix_callbacks_phone_digest", "callbacks", ["phone_digest"])
    op.create_index("ix_callbacks_created", "callbacks", ["created_at"])
    _encrypt_existing_rows()


def _encrypt_existing_rows() -> None:
    connection = op.get_bind()
    config = op.get_context().config
    keyring: Keyring | None = config.attributes.get("keyring") if config is not None else None
    personal = (_callbacks.c.phone, _callbacks.c.first_name, _callbacks.c.note)
    rows = connection.execute(sa.select(_callbacks).where(sa.or_(*(c.is_not(None) for c in personal)))).all()
    notes = connection.execute(sa.select(_events).where(_events.c.note.is_not(None))).all()
    if not rows and not notes:
        return
    if keyring is None or not keyring.encrypts:
        raise StorageError(
            "callback requests stored before this version must be encrypted with DATA_KEY: start the bot "
            "(`python -m bot run`), which upgrades the database with its key, instead of running alembic by hand"
        )
    for row in rows:
        values: dict[str, Any] = {
            "phone": keyring.seal(row.phone),
            "first_name": keyring.seal(row.first_name),
            "note": keyring.seal(row.note),
            "phone_digest": keyring.phone_digest(row.phone),
        }
        connection.execute(sa.update(_callbacks).where(_callbacks.c.id == row.id).values(**values))
    for event in notes:
        connection.execute(sa.update(_events).where(_events.c.id == event.id).values(note=keyring.seal(event.note)))


def downgrade() -> None:
    # Encrypted values stay encrypted: downgrading below 0007 needs the data erased or decrypted by hand first.
    op.drop_index("ix_callbacks_created", "callbacks")
    op.drop_index("ix_callbacks_phone_digest", "callbacks")
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_column("phone_digest")
        batch.alter_column("first_name", type_=sa.String(64), existing_type=sa.Text(), existing_nullable=True)
        batch.alter_column("phone", type_=sa.String(32), existing_type=sa.Text(), existing_nullable=True)
