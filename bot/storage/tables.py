"""The database schema (SQLAlchemy Core). Changes go through an Alembic migration in migrations/versions."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

metadata = MetaData()

conversations = Table(
    "conversations",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("flow", String(64), nullable=False),
    Column("flow_version", String(32), nullable=False),
    Column("state", String(128), nullable=False),
    Column("data", JSON, nullable=False),  # answers and dialogue context: personal data, erased by /oublier
    Column("version", Integer, nullable=False),  # optimistic check across processes
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

flow_versions = Table(
    "flow_versions",
    metadata,
    Column("version", String(32), primary_key=True),
    Column("flow", String(64), nullable=False),
    Column("file", String(512), nullable=False),
    Column("source", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

callbacks = Table(
    "callbacks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("conversation_key", String(128), nullable=True),
    Column("status", String(16), nullable=False),
    Column("queue", String(64), nullable=False),
    Column("persona", String(32), nullable=True),
    Column("answers", JSON, nullable=True),  # personal: erased by /oublier
    Column("phone", String(32), nullable=True),  # personal: erased by /oublier
    Column("moment", String(16), nullable=True),
    Column("contact", String(16), nullable=True),  # who to call: the person or the relative
    Column("consent_at", DateTime(timezone=True), nullable=True),
    Column("consent_text", String(32), nullable=True),  # version of the consent wording shown
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_callbacks_status_queue", "status", "queue"),
    Index("ix_callbacks_conversation", "conversation_key"),
)

places = Table(
    "places",
    metadata,
    Column("source", String(128), nullable=False),  # the import's source name (`catalogue import --source`)
    Column("id", String(255), nullable=False),  # the place's id in that source
    Column("data", JSON, nullable=False),  # the Place (bot/catalogue/model.py), Place.to_json()
    Column("latitude", Float, nullable=True),
    Column("longitude", Float, nullable=True),
    Column("precision", String(16), nullable=True),  # exact, commune, postcode, department; null: not placed
    Column("postcode", String(5), nullable=True),
    Column("insee", String(5), nullable=True),
    Column("has_services", Boolean, nullable=False),  # false: stored, never recommended
    Column("retired", Boolean, nullable=False),  # absent from the latest import of its source: never recommended
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),  # last change of the data or of `retired`
    Column("retired_at", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("source", "id", name="pk_places"),
    Index("ix_places_retired", "retired"),
)

# Updates a channel received, recorded before they are acknowledged (webhook 2xx, next getUpdates offset), so an
# acknowledged update is never lost and a repeated one is handled once. The payload (personal) is erased once
# the update is handled; the row stays a while to recognise a repeat.
inbox = Table(
    "inbox",
    metadata,
    Column("channel", String(64), nullable=False),  # e.g. "telegram:123456" (the bot's id)
    Column("update_id", BigInteger, nullable=False),
    Column("chat_id", BigInteger, nullable=False),
    Column("payload", JSON, nullable=True),  # personal: null once handled
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("done_at", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("channel", "update_id", name="pk_inbox"),
    Index("ix_inbox_pending", "channel", "done_at"),
)

# Calls a channel must make (messages to send or edit), written in the same transaction as the turn that
# produced them and deleted once sent: a reply that could not be sent yet is sent later, never dropped.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # also the sending order within a chat
    Column("channel", String(64), nullable=False),
    Column("chat_id", BigInteger, nullable=False),
    Column("method", String(32), nullable=False),
    Column("params", JSON, nullable=False),  # personal (message texts): deleted once sent
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_outbox_channel", "channel", "id"),
)
