"""Storage: the one class that owns the SQL. SQLite (default) or PostgreSQL, through SQLAlchemy async."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, delete, event, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from bot.errors import ConflictError, StorageError
from bot.storage.tables import callbacks, conversations, flow_versions

_ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class ConversationRecord:
    """A conversation as stored: where it stands, and what is known (answers and dialogue context)."""

    key: str
    flow: str
    flow_version: str
    state: str
    data: dict[str, Any]
    version: int = 0  # 0: not stored yet


@dataclass(frozen=True, slots=True)
class NewCallback:
    conversation_key: str
    queue: str
    persona: str | None
    answers: dict[str, Any]
    phone: str
    moment: str
    contact: str
    consent_at: datetime
    consent_text: str


@dataclass(frozen=True, slots=True)
class CallbackRow:
    id: str
    conversation_key: str | None
    status: str
    queue: str
    persona: str | None
    answers: dict[str, Any] | None
    phone: str | None
    moment: str | None
    contact: str | None


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_setup(engine: AsyncEngine) -> None:
    """WAL, and BEGIN IMMEDIATE: a deferred transaction that reads then writes fails at once with
    "database is locked" under concurrency, whereas IMMEDIATE waits for the busy timeout."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's begin event issue BEGIN itself
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Storage:
    """Every query of the bot. Each public method is one unit of work; `transaction()` groups a turn's."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @classmethod
    async def open(cls, url: str) -> Storage:
        """Connect and bring the schema up to date (Alembic migrations)."""
        options: dict[str, Any] = {}
        if _is_sqlite(url):
            database = make_url(url).database
            if not database or database == ":memory:":
                options["poolclass"] = StaticPool  # one shared in-memory database
            else:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
        try:
            engine = create_async_engine(url, **options)
        except (SQLAlchemyError, ValueError, ImportError) as exc:
            raise StorageError(f"DATABASE_URL is not usable: {exc}") from exc
        if _is_sqlite(url):
            _sqlite_setup(engine)
        storage = cls(engine)
        try:
            await storage.migrate()
        except (SQLAlchemyError, OSError) as exc:
            await engine.dispose()
            raise StorageError(f"cannot open or migrate the database: {exc.__class__.__name__}: {exc}") from exc
        return storage

    async def migrate(self) -> None:
        def upgrade(connection: Connection) -> None:
            config = Config(str(_ALEMBIC_INI))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

        async with self._engine.begin() as connection:
            await connection.run_sync(upgrade)

    async def close(self) -> None:
        await self._engine.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        try:
            async with self._engine.begin() as connection:
                yield Transaction(connection)
        except SQLAlchemyError as exc:
            raise StorageError(f"database error: {exc.__class__.__name__}") from exc

    async def load_conversation(self, key: str) -> ConversationRecord | None:
        async with self.transaction() as tx:
            return await tx.load_conversation(key)

    async def callbacks_for(self, key: str) -> list[CallbackRow]:
        async with self.transaction() as tx:
            rows = await tx.connection.execute(select(callbacks).where(callbacks.c.conversation_key == key))
            return [_callback_row(r._mapping) for r in rows]

    async def get_callback(self, callback_id: str) -> CallbackRow | None:
        async with self.transaction() as tx:
            row = (await tx.connection.execute(select(callbacks).where(callbacks.c.id == callback_id))).first()
            return _callback_row(row._mapping) if row else None

    async def remember_flow_version(self, flow: str, version: str, file: str, source: str) -> None:
        async with self.transaction() as tx:
            found = await tx.connection.scalar(
                select(flow_versions.c.version).where(flow_versions.c.version == version)
            )
            if found is None:
                await tx.connection.execute(
                    insert(flow_versions).values(version=version, flow=flow, file=file, source=source, created_at=now())
                )


def _callback_row(row: Any) -> CallbackRow:
    return CallbackRow(
        row["id"],
        row["conversation_key"],
        row["status"],
        row["queue"],
        row["persona"],
        row["answers"],
        row["phone"],
        row["moment"],
        row["contact"],
    )


class Transaction:
    """The queries of one unit of work, on one connection, committed together."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def load_conversation(self, key: str) -> ConversationRecord | None:
        row = (
            await self.connection.execute(
                select(
                    conversations.c.flow,
                    conversations.c.flow_version,
                    conversations.c.state,
                    conversations.c.data,
                    conversations.c.version,
                ).where(conversations.c.key == key)
            )
        ).first()
        if row is None:
            return None
        return ConversationRecord(key, row[0], row[1], row[2], dict(row[3]), row[4])

    async def save_conversation(self, record: ConversationRecord) -> None:
        """Insert or update; the version check refuses a write based on a stale read (another process)."""
        stamp = now()
        if record.version == 0:
            await self.connection.execute(
                insert(conversations).values(
                    key=record.key,
                    flow=record.flow,
                    flow_version=record.flow_version,
                    state=record.state,
                    data=record.data,
                    version=1,
                    created_at=stamp,
                    updated_at=stamp,
                )
            )
            record.version = 1
            return
        result = await self.connection.execute(
            update(conversations)
            .where(conversations.c.key == record.key, conversations.c.version == record.version)
            .values(
                flow=record.flow,
                flow_version=record.flow_version,
                state=record.state,
                data=record.data,
                version=record.version + 1,
                updated_at=stamp,
            )
        )
        if result.rowcount != 1:
            raise ConflictError(f"conversation changed meanwhile (version {record.version})")
        record.version += 1

    async def flow_source(self, version: str) -> tuple[str, str] | None:
        """(file, source) of a flow version seen before, so old conversations keep their version."""
        row = (
            await self.connection.execute(
                select(flow_versions.c.file, flow_versions.c.source).where(flow_versions.c.version == version)
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def create_callback(self, new: NewCallback) -> CallbackRow:
        callback_id = secrets.token_hex(6)
        stamp = now()
        await self.connection.execute(
            insert(callbacks).values(
                id=callback_id,
                conversation_key=new.conversation_key,
                status="new",
                queue=new.queue,
                persona=new.persona,
                answers=new.answers,
                phone=new.phone,
                moment=new.moment,
                contact=new.contact,
                consent_at=new.consent_at,
                consent_text=new.consent_text,
                created_at=stamp,
                updated_at=stamp,
            )
        )
        return CallbackRow(
            callback_id,
            new.conversation_key,
            "new",
            new.queue,
            new.persona,
            new.answers,
            new.phone,
            new.moment,
            new.contact,
        )

    async def forget(self, key: str) -> int:
        """Erase a person's conversation and the personal fields of their callback requests. Open requests
        are cancelled (nobody may call a number that no longer exists); anonymous fields stay for statistics."""
        await self.connection.execute(delete(conversations).where(conversations.c.key == key))
        result = await self.connection.execute(
            update(callbacks)
            .where(callbacks.c.conversation_key == key)
            .values(conversation_key=None, phone=None, answers=None, contact=None, updated_at=now())
        )
        await self.connection.execute(
            update(callbacks)
            .where(callbacks.c.conversation_key.is_(None), callbacks.c.phone.is_(None), callbacks.c.status == "new")
            .values(status="cancelled")
        )
        return int(result.rowcount or 0)
