"""Storage: the one class that owns the SQL. SQLite (default) or PostgreSQL, through SQLAlchemy async."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, or_, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from bot.core.clock import now
from bot.core.errors import StorageError
from bot.places.catalogue.model import Place
from bot.storage.core import Transaction, callback_row
from bot.storage.crypto import Keyring
from bot.storage.feedback_queries import FeedbackReads
from bot.storage.misunderstood_queries import MisunderstoodReads
from bot.storage.places import PlaceImportCounts, PlaceStats, count_places, select_places, upsert_places
from bot.storage.records import (
    LEASE,
    CallbackRow,
    ConversationCache,
    ConversationRecord,
    NewCallback,
    Outgoing,
    OutgoingRow,
    ReceivedUpdate,
)
from bot.storage.sqlite import SqliteTransaction, sqlite_setup
from bot.storage.tables import callbacks, flow_versions, inbox, outbox
from bot.storage.urls import engine_url, failure_reason, server_options

__all__ = [
    "CallbackRow",
    "ConversationRecord",
    "NewCallback",
    "Outgoing",
    "OutgoingRow",
    "PlaceImportCounts",
    "PlaceStats",
    "ReceivedUpdate",
    "SqliteTransaction",
    "Storage",
    "Transaction",
    "now",
]

_ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


class _RolledBack(Exception):
    """Ends a dry-run transaction, carrying what it would have done."""

    def __init__(self, counts: PlaceImportCounts) -> None:
        self.counts = counts


_MIGRATION_LOCK = 0x7061_7373  # PostgreSQL advisory lock taken while migrating (any constant unique to the bot)


class Storage(MisunderstoodReads, FeedbackReads):
    """Every query of the bot. Each public method is one unit of work; `transaction()` groups a turn's."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        sqlite: bool,
        fast_sqlite: bool,
        owner: str,
        lease: timedelta = LEASE,
        keyring: Keyring | None = None,
    ) -> None:
        self._engine = engine
        # Seals the personal fields of callback requests as they are written, opens them as they are read.
        self.keyring = keyring or Keyring.none()
        # Which process this is, among those sharing the database: the outbox rows it writes are leased to it.
        self.owner = owner
        self.lease = lease
        # SQLite has one writer at a time: queue this process's writers on an asyncio lock rather than in
        # SQLite's busy handler, which sleeps. BEGIN IMMEDIATE still orders writers of other processes.
        self._write_lock = asyncio.Lock() if sqlite else None
        self._fast = sqlite and fast_sqlite
        self._writer: AsyncConnection | None = None
        self._driver: Any = None
        self._cache = ConversationCache()

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        fast_sqlite: bool = True,
        owner: str | None = None,
        lease: timedelta = LEASE,
        keyring: Keyring | None = None,
    ) -> Storage:
        """Connect and bring the schema up to date (Alembic migrations). `url`: sqlite+aiosqlite:///FILE, or
        postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DATABASE (a database server: a pool of connections).
        A database that cannot be reached or migrated raises StorageError (with the password masked).

        fast_sqlite: on SQLite, run each turn's queries straight on the aiosqlite connection (see sqlite.py);
        False runs them through SQLAlchemy Core, as on PostgreSQL.
        owner: this process among those sharing the database (default: host and process id); the outbox rows it
        writes are leased to it for `lease`, renewed while it runs (renew_outgoing), then adopted by another.
        keyring: the keys of DATA_KEY (`load_keyring`): personal fields are stored encrypted, and a
        key missing for the data already stored stops the opening. None stores them as given: only for tests and
        tools that never write personal data.
        """
        try:
            parsed = engine_url(url)
        except (SQLAlchemyError, ValueError) as exc:
            raise StorageError(f"DATABASE_URL is not usable: {failure_reason(exc)}") from exc
        sqlite = parsed.get_backend_name() == "sqlite"
        options: dict[str, Any] = {} if sqlite else server_options(parsed)
        if sqlite:
            database = parsed.database
            # Every transaction ends in COMMIT or ROLLBACK: no extra rollback when a connection goes back.
            options["pool_reset_on_return"] = None
            if not database or database == ":memory:":
                options["poolclass"] = StaticPool  # one shared in-memory database
            else:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
        # A failed statement's values (phone numbers, answers, notes) stay out of its error, hence out of logs.
        options["hide_parameters"] = True
        try:
            engine = create_async_engine(parsed, **options)
        except (SQLAlchemyError, ValueError, ImportError, TypeError) as exc:
            raise StorageError(f"DATABASE_URL is not usable: {failure_reason(exc, parsed)}") from exc
        if sqlite:
            sqlite_setup(engine)
        owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        storage = cls(engine, sqlite=sqlite, fast_sqlite=fast_sqlite, owner=owner, lease=lease, keyring=keyring)
        try:
            await storage.migrate()
            await storage.check_keyring()
            if storage._fast:
                storage._writer = await engine.connect()
                storage._driver = (await storage._writer.get_raw_connection()).driver_connection
        except (SQLAlchemyError, OSError, sqlite3.Error) as exc:
            await storage.close()
            where = parsed.render_as_string(hide_password=True)
            raise StorageError(f"cannot open or migrate the database {where}: {failure_reason(exc, parsed)}") from exc
        except StorageError:  # the keyring does not fit the data stored
            await storage.close()
            raise
        return storage

    async def migrate(self) -> None:
        # Imported here: Alembic takes a third of a second to import, and only opening a database needs it
        # (`flows check` and the other coordinator commands start faster without it).
        from alembic import command
        from alembic.config import Config

        def upgrade(connection: Connection) -> None:
            config = Config(str(_ALEMBIC_INI))
            config.attributes["connection"] = connection
            config.attributes["keyring"] = self.keyring  # rows stored before encryption are encrypted (0007)
            command.upgrade(config, "head")

        async with self._engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Processes starting together migrate one after the other (held until this transaction ends).
                await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            await connection.run_sync(upgrade)

    async def check_keyring(self) -> None:
        """Refuse to run with a DATA_KEY that cannot read the personal data stored (a key removed too early, a
        wrong key): the most recent request with a phone number must open. Raises UnreadableData."""
        if not self.keyring.encrypts:
            return
        async with self._core_transaction() as tx:
            stored = await tx.connection.scalar(
                select(callbacks.c.phone)
                .where(callbacks.c.phone.is_not(None))
                .order_by(callbacks.c.created_at.desc())
                .limit(1)
            )
        self.keyring.open(stored)

    async def close(self) -> None:
        if self._writer is not None:
            await self._writer.close()
            self._writer = None
        await self._engine.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction | SqliteTransaction]:
        """One unit of work (a turn). Conversations it wrote enter the cache only once committed."""
        if not self._fast:
            async with self._core_transaction() as tx:
                yield tx
            return
        assert self._write_lock is not None
        async with self._write_lock:
            fast = SqliteTransaction(
                self._driver, self._cache, owner=self.owner, lease=self.lease, keyring=self.keyring
            )
            try:
                await self._driver.execute_fetchall("BEGIN IMMEDIATE")
                yield fast
                await self._driver.execute_fetchall("COMMIT")
            except BaseException as exc:
                self._cache.discard(fast.log.touched | fast.log.written.keys())
                if self._driver.in_transaction:
                    # Cancelled while the COMMIT ran in aiosqlite's thread, the transaction may be over by now.
                    with contextlib.suppress(sqlite3.OperationalError):
                        await self._driver.execute_fetchall("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StorageError(f"database error: {exc.__class__.__name__}") from exc
                raise
            self._cache.apply(fast.log.written, fast.log.touched)

    @asynccontextmanager
    async def _core_transaction(self) -> AsyncIterator[Transaction]:
        async with self._write_lock or contextlib.nullcontext():
            tx: Transaction | None = None
            try:
                async with self._engine.begin() as connection:
                    tx = Transaction(connection, self._cache, owner=self.owner, lease=self.lease, keyring=self.keyring)
                    yield tx
            except BaseException as exc:
                if tx is not None:
                    self._cache.discard(tx.log.touched | tx.log.written.keys())
                # OSError: a server that cannot be reached (refused, timed out) fails the pool's connect with the
                # socket's own error, which SQLAlchemy passes through unwrapped.
                if isinstance(exc, SQLAlchemyError | OSError):
                    raise StorageError(f"database error: {exc.__class__.__name__}") from exc
                raise
            self._cache.apply(tx.log.written, tx.log.touched)

    async def read_conversation(self, key: str) -> ConversationRecord | None:
        """The conversation at the start of a turn: this process's cached copy when it has one (the write at the
        end of the turn checks its version), else the database."""
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        async with self.transaction() as tx:
            return await tx.load_conversation(key)

    async def flow_source(self, version: str) -> tuple[str, str] | None:
        """(file, source) of a flow version seen before, so old conversations keep their version."""
        async with self._core_transaction() as tx:
            return await tx.flow_source(version)

    async def load_conversation(self, key: str) -> ConversationRecord | None:
        """The conversation as stored now (read from the database, never from this process's cache)."""
        async with self._core_transaction() as tx:
            tx.cache = ConversationCache(size=0)
            return await tx.load_conversation(key)

    async def callbacks_for(self, key: str) -> list[CallbackRow]:
        async with self._core_transaction() as tx:
            rows = await tx.connection.execute(select(callbacks).where(callbacks.c.conversation_key == key))
            return [callback_row(r._mapping, self.keyring) for r in rows]

    async def get_callback(self, callback_id: str) -> CallbackRow | None:
        async with self._core_transaction() as tx:
            row = (await tx.connection.execute(select(callbacks).where(callbacks.c.id == callback_id))).first()
            return callback_row(row._mapping, self.keyring) if row else None

    def callback_transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A unit of work on callback requests (bot/callbacks/desk.py), through SQLAlchemy Core on every database: its
        connection runs the queries of bot/storage/callback_queries.py, and it queues outbox rows like a turn does."""
        return self._core_transaction()

    async def remember_flow_version(self, flow: str, version: str, file: str, source: str) -> None:
        async with self._core_transaction() as tx:
            found = await tx.connection.scalar(
                select(flow_versions.c.version).where(flow_versions.c.version == version)
            )
            if found is None:
                await tx.connection.execute(
                    insert(flow_versions).values(version=version, flow=flow, file=file, source=source, created_at=now())
                )

    async def import_places(self, source: str, places: Sequence[Place], *, dry_run: bool = False) -> PlaceImportCounts:
        """One import of `source`, in one transaction: new ids inserted, changed ones updated, the ids of that
        source it no longer lists retired (kept, never recommended); an id listed twice: the later one counts.
        `dry_run`: the same work rolled back, for the counts of what it would do."""
        try:
            async with self._core_transaction() as tx:
                counts = await upsert_places(tx.connection, source, places, now())
                if dry_run:
                    raise _RolledBack(counts)
        except _RolledBack as rolled_back:
            return rolled_back.counts
        return counts

    async def load_places(self, include_retired: bool = False) -> list[Place]:
        """Every stored place (by source, then id); retired ones only when asked."""
        async with self._core_transaction() as tx:
            return await select_places(tx.connection, include_retired=include_retired)

    async def place_stats(self) -> PlaceStats:
        async with self._core_transaction() as tx:
            return await count_places(tx.connection)

    # ----- the channels' inbox and outbox ----------------------------------------------------------------
    async def record_updates(self, channel: str, updates: Sequence[ReceivedUpdate]) -> list[ReceivedUpdate]:
        """Record received updates before acknowledging them; returns those not seen before."""
        async with self.transaction() as tx:
            return await tx.record_updates(channel, updates)

    async def pending_updates(self, channel: str) -> list[ReceivedUpdate]:
        """Updates recorded but not handled yet, whoever holds them, oldest first."""
        async with self._core_transaction() as tx:
            rows = await tx.connection.execute(
                select(inbox.c.update_id, inbox.c.chat_id, inbox.c.payload)
                .where(inbox.c.channel == channel, inbox.c.done_at.is_(None))
                .order_by(inbox.c.update_id)
            )
            return [ReceivedUpdate(r[0], r[1], r[2]) for r in rows]

    async def adopt_updates(self, channel: str, *, own_too: bool = False) -> list[ReceivedUpdate]:
        """Lease to this process, and return oldest first, the unhandled updates nobody holds: recorded by a process
        that died (lease run out) or with no lease; with `own_too`, also those leased to this owner (a restart)."""
        moment = now()
        orphan = or_(inbox.c.leased_by.is_(None), inbox.c.leased_until < moment)
        if own_too:
            orphan = or_(orphan, inbox.c.leased_by == self.owner)
        async with self._core_transaction() as tx:
            rows = await tx.connection.execute(
                update(inbox)
                .where(inbox.c.channel == channel, inbox.c.done_at.is_(None), orphan)
                .values(leased_by=self.owner, leased_until=moment + self.lease)
                .returning(inbox.c.update_id, inbox.c.chat_id, inbox.c.payload)
            )
            return sorted((ReceivedUpdate(r[0], r[1], r[2]) for r in rows), key=lambda u: u.update_id)

    async def renew_updates(self, channel: str, update_ids: Sequence[int]) -> list[int]:
        """Extend the lease of the unhandled updates this process still holds; the ids renewed."""
        renewed: list[int] = []
        async with self._core_transaction() as tx:
            for start in range(0, len(update_ids), 500):
                result = await tx.connection.execute(
                    update(inbox)
                    .where(
                        inbox.c.channel == channel,
                        inbox.c.update_id.in_(list(update_ids[start : start + 500])),
                        inbox.c.leased_by == self.owner,
                        inbox.c.done_at.is_(None),
                    )
                    .values(leased_until=now() + self.lease)
                    .returning(inbox.c.update_id)
                )
                renewed += result.scalars()
        return renewed

    async def adopt_outgoing(self, channel: str, *, own_too: bool = False) -> list[OutgoingRow]:
        """Lease to this process, and return in order, the calls nobody is making: rows whose lease ran out (their
        process died) or that have none; with `own_too`, also those leased to this owner (a restart)."""
        moment = now()
        orphan = or_(outbox.c.leased_by.is_(None), outbox.c.leased_until < moment)
        if own_too:
            orphan = or_(orphan, outbox.c.leased_by == self.owner)
        async with self._core_transaction() as tx:
            # On PostgreSQL a row another process adopts at the same moment is skipped here once its lock is released
            # (the WHERE is checked again on the new row): every row is adopted once.
            rows = await tx.connection.execute(
                update(outbox)
                .where(outbox.c.channel == channel, orphan)
                .values(leased_by=self.owner, leased_until=moment + self.lease)
                .returning(outbox.c.id, outbox.c.chat_id, outbox.c.method, outbox.c.params)
            )
            return sorted((OutgoingRow(r[0], r[1], r[2], r[3]) for r in rows), key=lambda row: row.id)

    async def renew_outgoing(self, ids: Sequence[int]) -> list[int]:
        """Extend the lease of the rows this process still holds (called well within the lease); the ids renewed
        (a row missing was sent, or adopted by another process after this one stalled past its lease)."""
        renewed: list[int] = []
        async with self._core_transaction() as tx:
            for start in range(0, len(ids), 500):
                result = await tx.connection.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(list(ids[start : start + 500])), outbox.c.leased_by == self.owner)
                    .values(leased_until=now() + self.lease)
                    .returning(outbox.c.id)
                )
                renewed += result.scalars()
        return renewed

    async def pending_outgoing(self, channel: str) -> list[OutgoingRow]:
        """Calls queued and not made yet, in order, whoever holds them."""
        async with self._core_transaction() as tx:
            rows = await tx.connection.execute(
                select(outbox.c.id, outbox.c.chat_id, outbox.c.method, outbox.c.params)
                .where(outbox.c.channel == channel)
                .order_by(outbox.c.id)
            )
            return [OutgoingRow(r[0], r[1], r[2], r[3]) for r in rows]

    async def pending_outgoing_for(self, channel: str, chat_id: int) -> list[OutgoingRow]:
        """One chat's calls queued and not made yet, in order (the web chat's notices)."""
        async with self._core_transaction() as tx:
            rows = await tx.connection.execute(
                select(outbox.c.id, outbox.c.chat_id, outbox.c.method, outbox.c.params)
                .where(outbox.c.channel == channel, outbox.c.chat_id == chat_id)
                .order_by(outbox.c.id)
            )
            return [OutgoingRow(r[0], r[1], r[2], r[3]) for r in rows]

    async def queue_outgoing(self, channel: str, calls: Sequence[Outgoing]) -> list[OutgoingRow]:
        async with self.transaction() as tx:
            return await tx.queue_outgoing(channel, calls)

    async def delete_outgoing(self, ids: Sequence[int]) -> None:
        async with self.transaction() as tx:
            await tx.delete_outgoing(ids)
