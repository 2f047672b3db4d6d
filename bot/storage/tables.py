"""The database schema (SQLAlchemy Core). Changes go through an Alembic migration in migrations/versions."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

# Every moment column is a DateTime(timezone=True) that reads back as an aware UTC datetime on SQLite too.
from bot.storage.types import UtcDateTime as DateTime

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
    # Personal fields (phone, first_name, note) are stored encrypted (bot/storage/crypto.py), hence Text.
    Column("phone", Text, nullable=True),  # personal: erased by /oublier and after RETENTION_CALLBACKS_DAYS
    Column("phone_digest", String(64), nullable=True),  # keyed HMAC of the E.164 number: the search « un numéro »
    Column("moment", String(16), nullable=True),
    Column("contact", String(16), nullable=True),  # who to call: the person or the relative
    Column("consent_at", DateTime(timezone=True), nullable=True),
    Column("consent_text", String(32), nullable=True),  # version of the consent wording shown
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The request's life (bot/callbacks/desk.py): who holds it, how many calls found nobody, how it ended.
    Column("first_name", Text, nullable=True),  # personal: the asker's first name, as the channel gives it
    Column("attempts", Integer, nullable=False, server_default="0"),  # calls that found nobody (injoignable)
    Column("claimed_by", String(128), nullable=True),  # the mediator holding it: "telegram:<user id>", "web:<login>"
    Column("claimed_name", String(128), nullable=True),  # their name, as shown to the other mediators
    Column("claimed_at", DateTime(timezone=True), nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("note", Text, nullable=True),  # personal: the mediators' latest note
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("reminded_at", DateTime(timezone=True), nullable=True),  # last reminder in the mediators' group
    Column("scheduled_at", DateTime(timezone=True), nullable=True),  # the call's time agreed with the person
    Column("post_chat_id", BigInteger, nullable=True),  # the request's message in the mediators' group
    Column("post_message_id", BigInteger, nullable=True),
    # What the mediators' card says (0010): the commune of the place given (never its coordinates), its INSEE
    # code (activity reports), and who the relative who wrote is to the person (child, partner…).
    Column("commune", String(128), nullable=True),  # erased by /oublier; kept, without the rest, for statistics
    Column("code_insee", String(8), nullable=True),
    Column("relation", String(16), nullable=True),  # personal: erased with who to call
    Column("channel", String(16), nullable=True),  # telegram, web: where the request was made (kept)
    # The person's latest Telegram message about the request (0012): its buttons go when a newer one is sent.
    Column("notice_message_id", BigInteger, nullable=True),
    Index("ix_callbacks_status_queue", "status", "queue"),
    Index("ix_callbacks_conversation", "conversation_key"),
    Index("ix_callbacks_queue_created", "queue", "created_at"),
    Index("ix_callbacks_phone_digest", "phone_digest"),
    Index("ix_callbacks_created", "created_at"),  # the retention purge
)

# Every change of a callback request: who, when, from where (the audit trail shown on the request's page).
callback_events = Table(
    "callback_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("callback_id", String(32), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action", String(32), nullable=False),
    Column("from_status", String(16), nullable=True),
    Column("to_status", String(16), nullable=False),
    Column("actor", String(128), nullable=False),  # "person", "system", "telegram:<user id>", "web:<login>"
    Column("actor_name", String(128), nullable=True),
    Column("via", String(16), nullable=False),  # telegram, web, dashboard, system
    Column("note", Text, nullable=True),  # personal: erased with the request's personal fields
    Index("ix_callback_events_callback", "callback_id", "id"),
    Index("ix_callback_events_at", "at"),
)

# The last run of each scheduled job (a reminder round, a queue's daily summary): whichever process claims the
# run first does it, the others skip it.
scheduled_runs = Table(
    "scheduled_runs",
    metadata,
    Column("job", String(128), primary_key=True),
    Column("ran_at", DateTime(timezone=True), nullable=False),
)

places = Table(
    "places",
    metadata,
    Column("source", String(128), nullable=False),  # the import's source name (`catalogue import --source`)
    Column("id", String(255), nullable=False),  # the place's id in that source
    Column("data", JSON, nullable=False),  # the Place (bot/places/catalogue/model.py), Place.to_json()
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
    # Several processes: the one that recorded an update holds it until handled; a dead process's lease runs out.
    Column("leased_by", String(64), nullable=True),
    Column("leased_until", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("channel", "update_id", name="pk_inbox"),
    Index("ix_inbox_pending", "channel", "done_at"),
    Index("ix_inbox_chat", "channel", "chat_id", "update_id"),  # a chat's updates are handled in this order
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
    # Several processes: the one sending a row holds it until then; a lease left by a dead process runs out.
    Column("leased_by", String(64), nullable=True),
    Column("leased_until", DateTime(timezone=True), nullable=True),
    Index("ix_outbox_channel", "channel", "id"),
    Index("ix_outbox_chat", "channel", "chat_id", "id"),
)

# ----- the mediators' dashboard (bot/dashboard) -------------------------------------------------------------
# Accounts. A removed account is kept, disabled (no password, no session): its login, which the audit trail
# names ("web:<login>"), is never handed to someone else by mistake.
mediators = Table(
    "mediators",
    metadata,
    Column("login", String(64), primary_key=True),
    Column("name", String(128), nullable=False),  # shown to the other mediators ("Déjà prise en charge par …")
    Column("password_hash", String(255), nullable=False),  # "scrypt$n$r$p$salt$hash"; "" when disabled
    Column("queues", JSON, nullable=False),  # the queue names whose requests the mediator sees and acts on
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True), nullable=True),
)

# Signed-in browsers. The cookie holds a random token; only its SHA-256 is stored, so a copy of the database
# opens no session.
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("login", String(64), nullable=False),
    Column("csrf_token", String(64), nullable=False),  # the hidden field of every form of the session
    Column("flash", JSON, nullable=True),  # the message for the next page ({"kind", "text"}): Post/Redirect/Get
    Column("created_at", DateTime(timezone=True), nullable=False),  # absolute timeout
    Column("last_seen_at", DateTime(timezone=True), nullable=False),  # idle timeout
    Index("ix_dashboard_sessions_login", "login"),
)

# Failed sign-ins, to slow down password guessing across processes. `key` is a hash of "login:<login>" or
# "ip:<address>" (no login or address in clear); rows older than the counting window are deleted.
login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_login_attempts_key_at", "key", "at"),
)

# Answers the bot did not understand, or understood and had refused (« Si je comprends bien … ? » « non »), for the
# coordinators (`flows misunderstood`). Their personal data is masked before they are written, and nothing links a
# row to its conversation (no key, no chat id); deleted after RETENTION_CONVERSATIONS_DAYS, like conversations.
misunderstood = Table(
    "misunderstood",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("flow", String(64), nullable=False),
    Column("flow_version", String(32), nullable=False),
    Column("question", String(128), nullable=False),  # the step id, or a dialogue's phase ("rappel.who")
    Column("text", Text, nullable=False),  # masked (bot/understanding/masking.py), at most 300 characters
    Column("kind", String(16), nullable=False),  # not_understood, refused
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_misunderstood_created", "created_at"),  # the report's --since, the retention purge
    Index("ix_misunderstood_flow_question", "flow", "question"),
)

# The person's answer to « Est-ce que cette conversation vous a été utile ? » (and the optional word, masked, in a row
# of its own), for the coordinators' figures. No key, no chat id, no phone, and only the day: nothing leads back to
# the person or their conversation. Deleted after RETENTION_CONVERSATIONS_DAYS, like the answers not understood.
feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("flow", String(64), nullable=False),
    Column("flow_version", String(32), nullable=False),
    Column("day", Date, nullable=False),
    Column("rating", String(8), nullable=True),  # yes, some, no; NULL on the row of a word
    Column("word", Text, nullable=True),  # masked (bot/understanding/masking.py), at most 300 characters
    Index("ix_feedback_day", "day"),
)
