"""The SQLite fast path for the per-turn unit of work.

SQLAlchemy's async adapter costs several thread hops per statement (cursor, execute, fetch, close): about
0.5 ms for BEGIN IMMEDIATE + UPDATE + COMMIT, where the same three statements straight on the aiosqlite
connection cost 0.17 ms (benchmarks/engine.py). So, on SQLite only, the queries of a turn run as plain SQL
on one dedicated aiosqlite connection that SQLAlchemy opened (same pragmas, same schema from the Alembic
migrations); everything else, and every other database, goes through SQLAlchemy Core (`core.py`). The test
suite runs the engine on both paths, so they cannot drift apart.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.clock import now
from bot.core.errors import ConflictError
from bot.storage.crypto import Keyring
from bot.storage.records import (
    LEASE,
    CallbackEvent,
    CallbackRow,
    ConversationCache,
    ConversationRecord,
    FeedbackAnswer,
    Misunderstood,
    NewCallback,
    Outgoing,
    OutgoingRow,
    ReceivedUpdate,
    WriteLog,
    first_of_each,
    first_version,
)

BATCH = 100  # rows per multi-row INSERT (5 parameters each: far below SQLite's limit)


def sqlite_setup(engine: AsyncEngine) -> None:
    """WAL, and BEGIN IMMEDIATE: a deferred transaction that reads then writes fails at once with
    "database is locked" under concurrency, whereas IMMEDIATE waits for the busy timeout."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun explicitly, below and in the fast path
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _stamp(moment: datetime) -> str:
    """The text form SQLAlchemy's SQLite DateTime reads back (UTC, no offset)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class SqliteTransaction:
    """The same unit of work as core.Transaction, as plain SQL on the aiosqlite connection (one hop each)."""

    def __init__(
        self,
        driver: Any,
        cache: ConversationCache,
        *,
        owner: str | None = None,
        lease: timedelta = LEASE,
        keyring: Keyring | None = None,
    ) -> None:
        self.driver = driver  # an aiosqlite.Connection, in a transaction begun with BEGIN IMMEDIATE
        self.keyring = keyring or Keyring.none()  # personal fields are sealed on the way in
        self.cache = cache
        self.log = WriteLog()
        self.owner = owner  # this process: the inbox and outbox rows it writes are leased to it
        self.lease = lease

    async def _rows(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        return list(await self.driver.execute_fetchall(sql, params))

    async def load_conversation(self, key: str) -> ConversationRecord | None:
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        rows = await self._rows(
            "SELECT flow, flow_version, state, data, version FROM conversations WHERE key = ?", (key,)
        )
        if not rows:
            return None
        flow, flow_version, state, data, version = rows[0]
        opened = self.keyring.open_conversation(json.loads(data))
        return ConversationRecord(key, flow, flow_version, state, opened, version)

    async def save_conversation(self, record: ConversationRecord) -> None:
        stamp = _stamp(now())
        data = json.dumps(self.keyring.seal_conversation(record.data))
        if record.version == 0:
            start = first_version()
            try:
                await self._rows(
                    "INSERT INTO conversations (key, flow, flow_version, state, data, version, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (record.key, record.flow, record.flow_version, record.state, data, start, stamp, stamp),
                )
            except sqlite3.IntegrityError:
                self.log.stale(record.key)
                raise ConflictError("conversation created meanwhile by another writer") from None
            record.version = start
        else:
            updated = await self._rows(
                "UPDATE conversations SET flow = ?, flow_version = ?, state = ?, data = ?, version = version + 1, "
                "updated_at = ? WHERE key = ? AND version = ? RETURNING version",
                (record.flow, record.flow_version, record.state, data, stamp, record.key, record.version),
            )
            if len(updated) != 1:
                self.log.stale(record.key)
                raise ConflictError(f"conversation changed meanwhile (version {record.version})")
            record.version += 1
        self.log.saved(record)

    async def flow_source(self, version: str) -> tuple[str, str] | None:
        rows = await self._rows("SELECT file, source FROM flow_versions WHERE version = ?", (version,))
        return (rows[0][0], rows[0][1]) if rows else None

    async def create_callback(self, new: NewCallback, callback_id: str | None = None) -> CallbackRow:
        callback_id = callback_id or secrets.token_hex(6)
        moment = now()
        stamp = _stamp(moment)
        await self._rows(
            "INSERT INTO callbacks (id, conversation_key, status, queue, persona, answers, phone, phone_digest, "
            "moment, contact, consent_at, consent_text, first_name, commune, code_insee, relation, channel, "
            "created_at, updated_at) VALUES (?, ?, 'new', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                callback_id,
                new.conversation_key,
                new.queue,
                new.persona,
                json.dumps(new.answers),
                self.keyring.seal(new.phone),
                self.keyring.phone_digest(new.phone),
                new.moment,
                new.contact,
                _stamp(new.consent_at),
                new.consent_text,
                self.keyring.seal(new.first_name),
                new.commune,
                new.code_insee,
                new.relation,
                new.channel,
                stamp,
                stamp,
            ),
        )
        return new.stored_as(callback_id, moment)

    async def cancel_open_callbacks(self, key: str) -> list[CallbackRow]:
        """As core.Transaction.cancel_open_callbacks: the open requests, as they were, now cancelled."""
        rows = await self._rows(
            "SELECT id, status, queue, persona, moment, claimed_by, claimed_name FROM callbacks "
            "WHERE conversation_key = ? AND status IN ('new', 'claimed') ORDER BY created_at",
            (key,),
        )
        if rows:
            stamp = _stamp(now())
            await self._rows(
                "UPDATE callbacks SET status = 'cancelled', resolved_at = ?, updated_at = ?, scheduled_at = NULL "
                "WHERE conversation_key = ? AND status IN ('new', 'claimed')",
                (stamp, stamp, key),
            )
        return [
            CallbackRow(r[0], key, r[1], r[2], r[3], None, None, r[4], None, claimed_by=r[5], claimed_name=r[6])
            for r in rows
        ]

    async def add_callback_events(self, events: Sequence[CallbackEvent]) -> None:
        await self._insert_many(
            "callback_events (callback_id, at, action, from_status, to_status, actor, actor_name, via, note)",
            [
                (
                    e.callback_id,
                    _stamp(e.at),
                    e.action,
                    e.from_status,
                    e.to_status,
                    e.actor,
                    e.actor_name,
                    e.via,
                    self.keyring.seal(e.note),
                )
                for e in events
            ],
            "",
        )

    async def add_feedback(self, answers: Sequence[FeedbackAnswer]) -> None:
        day = now().date().isoformat()
        await self._insert_many(
            "feedback (flow, flow_version, day, rating, word)",
            [(a.flow, a.flow_version, day, a.rating, a.word) for a in answers],
            "",
        )

    async def add_misunderstood(self, answers: Sequence[Misunderstood]) -> None:
        stamp = _stamp(now())
        await self._insert_many(
            "misunderstood (flow, flow_version, question, text, kind, created_at)",
            [(a.flow, a.flow_version, a.question, a.text, a.kind, stamp) for a in answers],
            "",
        )

    async def forget(self, key: str) -> int:
        self.log.deleted(key)
        await self._rows("DELETE FROM conversations WHERE key = ?", (key,))
        await self._rows(
            "UPDATE callbacks SET status = 'cancelled', scheduled_at = NULL "
            "WHERE conversation_key = ? AND status IN ('new', 'claimed')",
            (key,),
        )
        await self._rows(
            "UPDATE callback_events SET note = NULL "
            "WHERE callback_id IN (SELECT id FROM callbacks WHERE conversation_key = ?)",
            (key,),
        )
        erased = await self._rows(
            "UPDATE callbacks SET conversation_key = NULL, phone = NULL, phone_digest = NULL, answers = NULL, "
            "contact = NULL, first_name = NULL, note = NULL, commune = NULL, code_insee = NULL, relation = NULL, "
            "updated_at = ? WHERE conversation_key = ? RETURNING id",
            (_stamp(now()), key),
        )
        return len(erased)

    # ----- the channels' inbox and outbox (as core.Transaction) ------------------------------------------
    async def _insert_many(self, into: str, rows: Sequence[tuple[Any, ...]], tail: str) -> list[Any]:
        """Multi-row INSERTs (each statement is a hop to aiosqlite's thread): `into` is "table (columns)",
        `tail` what follows the VALUES (ON CONFLICT…, RETURNING…); the rows RETURNING gave back."""
        returned: list[Any] = []
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            marks = ", ".join(["(" + ", ".join("?" * len(batch[0])) + ")"] * len(batch))
            returned += await self._rows(
                f"INSERT INTO {into} VALUES {marks} {tail}", tuple(v for r in batch for v in r)
            )
        return returned

    async def record_updates(self, channel: str, updates: Sequence[ReceivedUpdate]) -> list[ReceivedUpdate]:
        moment = now()
        stamp, until = _stamp(moment), _stamp(moment + self.lease) if self.owner else None
        inserted = await self._insert_many(
            "inbox (channel, update_id, chat_id, payload, received_at, leased_by, leased_until)",
            [(channel, u.update_id, u.chat_id, json.dumps(u.payload), stamp, self.owner, until) for u in updates],
            "ON CONFLICT DO NOTHING RETURNING update_id",
        )
        return first_of_each(updates, among={row[0] for row in inserted})  # a repeat in the batch counts once

    async def earlier_update(self, channel: str, chat_id: int, update_id: int) -> ReceivedUpdate | None:
        rows = await self._rows(
            "SELECT update_id, chat_id, payload FROM inbox WHERE channel = ? AND chat_id = ? AND update_id < ? "
            "AND done_at IS NULL ORDER BY update_id LIMIT 1",
            (channel, chat_id, update_id),
        )
        return ReceivedUpdate(rows[0][0], rows[0][1], json.loads(rows[0][2])) if rows else None

    async def finish_update(self, channel: str, update_id: int) -> bool:
        finished = await self._rows(
            "UPDATE inbox SET done_at = ?, payload = NULL WHERE channel = ? AND update_id = ? AND done_at IS NULL "
            "RETURNING update_id",
            (_stamp(now()), channel, update_id),
        )
        return bool(finished)

    async def queue_outgoing(self, channel: str, calls: Sequence[Outgoing]) -> list[OutgoingRow]:
        """Their ids ascend in the order given (the sending order)."""
        moment = now()
        stamp, until = _stamp(moment), _stamp(moment + self.lease) if self.owner else None
        inserted = await self._insert_many(
            "outbox (channel, chat_id, method, params, created_at, leased_by, leased_until)",
            [(channel, c.chat_id, c.method, json.dumps(c.params), stamp, self.owner, until) for c in calls],
            "RETURNING id",
        )
        ids = sorted(row[0] for row in inserted)
        return [OutgoingRow(i, c.chat_id, c.method, c.params) for i, c in zip(ids, calls, strict=True)]

    async def delete_outgoing(self, ids: Sequence[int]) -> None:
        if ids:
            marks = ", ".join("?" * len(ids))
            await self._rows(f"DELETE FROM outbox WHERE id IN ({marks})", tuple(ids))
