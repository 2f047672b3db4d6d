"""Storage on real databases (SQLite files, PostgreSQL): migrations, WAL, round trips, the version check,
concurrent writers, forgetting, reopening."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

import bot.storage
from bot.app.root import LoadedFlow
from bot.core.errors import ConflictError, StorageError
from bot.engine.engine import Engine
from bot.places.offers import NoCatalogue
from bot.storage import ConversationRecord, NewCallback, Storage
from tests.conftest import Chat, every_storage_path
from tests.support.postgres import PostgresCluster, free_port, raw_sql

KEY = "test:storage"

# SQLite-only tests, on both of its paths: plain aiosqlite, and SQLAlchemy Core.
both_sqlite_paths = pytest.mark.parametrize("fast_sqlite", [True, False], ids=["fast", "core"])


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "data" / "passerelle.db"  # a folder that does not exist yet


@pytest.fixture
def url(db_file: Path) -> str:
    return f"sqlite+aiosqlite:///{db_file}"


@pytest.fixture
async def storage(database_url: str, fast_sqlite: bool) -> AsyncIterator[Storage]:
    """Storage on the engine and path the test is parametrized with (`every_storage_path`)."""
    opened = await Storage.open(database_url, fast_sqlite=fast_sqlite)
    yield opened
    await opened.close()


def raw(db_file: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection on the file: what is really stored, independent of the code under test."""
    return sqlite3.connect(db_file, timeout=10)


def record(data: dict[str, object] | None = None, state: str = "frequence") -> ConversationRecord:
    return ConversationRecord(KEY, "orientation", "abc123", state, data if data is not None else {})


def new_callback(key: str = KEY, phone: str = "+33612345678") -> NewCallback:
    return NewCallback(
        conversation_key=key,
        queue="default",
        persona="timide",
        answers={"for_whom": "self", "location": "69003"},
        phone=phone,
        moment="morning",
        contact="person",
        consent_at=datetime(2026, 1, 2, 10, 0, tzinfo=UTC),
        consent_text="callback-v1",
    )


async def save(storage: Storage, conversation: ConversationRecord) -> None:
    async with storage.transaction() as tx:
        await tx.save_conversation(conversation)


ALEMBIC_INI = Path(bot.storage.__file__).with_name("alembic.ini")


async def schema(url: str) -> dict[str, set[str]]:
    """Table name -> column names, as the database reports them (SQLAlchemy's inspector, not our code)."""

    def tables(connection: Connection) -> dict[str, set[str]]:
        inspector = inspect(connection)
        return {name: {c["name"] for c in inspector.get_columns(name)} for name in inspector.get_table_names()}

    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(tables)
    finally:
        await engine.dispose()


@every_storage_path
async def test_migrations_create_the_schema_in_an_empty_database(database_url: str, fast_sqlite: bool) -> None:
    """Opening an empty database builds every table, with Alembic's version at head; opening it again (an
    up-to-date schema) changes nothing."""
    storage = await Storage.open(database_url, fast_sqlite=fast_sqlite)
    await storage.close()
    head = ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_current_head()
    tables = await schema(database_url)
    assert {"conversations", "flow_versions", "callbacks", "places", "inbox", "outbox", "alembic_version"} <= set(
        tables
    )
    assert head is not None
    assert await raw_sql(database_url, "SELECT version_num FROM alembic_version") == [(head,)]
    assert {"phone", "answers", "status", "queue", "consent_at", "consent_text"} <= tables["callbacks"]
    again = await Storage.open(database_url, fast_sqlite=fast_sqlite)
    await again.close()
    assert await raw_sql(database_url, "SELECT version_num FROM alembic_version") == [(head,)]
    assert await schema(database_url) == tables


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_processes_starting_together_migrate_once(database_url: str) -> None:
    """Several processes opening one empty database at the same moment (a deployment's first start): every one
    opens, the schema is built once, at head."""
    opened = await asyncio.gather(*(Storage.open(database_url, fast_sqlite=False) for _ in range(4)))
    for storage in opened:
        await storage.close()
    head = ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_current_head()
    assert await raw_sql(database_url, "SELECT version_num FROM alembic_version") == [(head,)]


@both_sqlite_paths
async def test_opening_a_sqlite_file_creates_its_folder(url: str, db_file: Path, fast_sqlite: bool) -> None:
    """A SQLite file in a folder not yet created: the folder is made and the file gets the schema."""
    assert not db_file.parent.is_dir()
    storage = await Storage.open(url, fast_sqlite=fast_sqlite)
    await storage.close()
    with raw(db_file) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"conversations", "flow_versions", "callbacks", "alembic_version"} <= tables


@both_sqlite_paths
async def test_wal_mode_is_on(url: str, db_file: Path, fast_sqlite: bool) -> None:
    """The database runs in WAL mode, so readers never block the writer."""
    storage = await Storage.open(url, fast_sqlite=fast_sqlite)
    try:
        await save(storage, record())
        with raw(db_file) as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db_file.with_name(db_file.name + "-wal").exists()
    finally:
        await storage.close()


@every_storage_path
async def test_save_and_load_round_trip(storage: Storage, database_url: str) -> None:
    """A conversation saved is read back identical (unicode and nested data included), its version counting
    the saves; another storage on the same file reads the same."""
    data: dict[str, object] = {
        "answers": {"for_whom": "relative", "goals": ["leisure", "family_contact"], "location": "Saint-Étienne"},
        "misses": 1,
        "note": "émoji 🙂, 中文, عربى, '; DROP TABLE conversations; --",
    }
    conversation = record(data)
    await save(storage, conversation)
    first = conversation.version
    assert first >= 1
    loaded = await storage.load_conversation(KEY)
    assert loaded is not None
    assert (loaded.flow, loaded.flow_version, loaded.state, loaded.data, loaded.version) == (
        "orientation",
        "abc123",
        "frequence",
        data,
        first,
    )
    loaded.state = "aisance"
    loaded.data["answers"]["usage_frequency"] = "daily"
    await save(storage, loaded)
    assert loaded.version == first + 1
    other = await Storage.open(database_url)
    try:
        fresh = await other.load_conversation(KEY)
    finally:
        await other.close()
    assert fresh is not None
    assert (fresh.state, fresh.version, fresh.data["answers"]["usage_frequency"]) == ("aisance", first + 1, "daily")
    assert await storage.load_conversation("test:nobody") is None


@every_storage_path
async def test_loaded_records_are_copies(storage: Storage) -> None:
    """Changing a loaded record without saving it changes nothing stored (no shared cached object)."""
    await save(storage, record({"answers": {"for_whom": "self"}}))
    first = await storage.load_conversation(KEY)
    assert first is not None
    first.data["answers"]["for_whom"] = "relative"
    first.state = "ended"
    second = await storage.load_conversation(KEY)
    assert second is not None
    assert (second.state, second.data["answers"]["for_whom"]) == ("frequence", "self")


@every_storage_path
async def test_stale_write_raises_conflict_error(storage: Storage) -> None:
    """Saving a record read before someone else's save fails with ConflictError and changes nothing."""
    created = record({"answers": {}})
    await save(storage, created)
    mine = await storage.load_conversation(KEY)
    theirs = await storage.load_conversation(KEY)
    assert mine is not None
    assert theirs is not None
    theirs.state = "aisance"
    await save(storage, theirs)
    mine.state = "attitude"
    with pytest.raises(ConflictError):
        await save(storage, mine)
    stored = await storage.load_conversation(KEY)
    assert stored is not None
    assert (stored.state, stored.version) == ("aisance", created.version + 1)


@every_storage_path
async def test_creating_the_same_conversation_twice_is_a_conflict(storage: Storage) -> None:
    """Two first messages racing to create one conversation: the second creation is a ConflictError."""
    await save(storage, record(state="pour_qui"))
    with pytest.raises(ConflictError):
        await save(storage, record(state="envies"))
    stored = await storage.load_conversation(KEY)
    assert stored is not None
    assert stored.state == "pour_qui"


@every_storage_path
async def test_a_failed_unit_of_work_leaves_nothing_behind(storage: Storage, database_url: str) -> None:
    """An error in the middle of a turn rolls everything back: no conversation, no callback, nothing cached."""

    async def failing_turn() -> None:
        async with storage.transaction() as tx:
            await tx.save_conversation(record())
            await tx.create_callback(new_callback())
            raise RuntimeError("the turn failed")

    with pytest.raises(RuntimeError):
        await failing_turn()
    assert await storage.load_conversation(KEY) is None
    assert await storage.callbacks_for(KEY) == []
    assert await raw_sql(database_url, "SELECT count(*) FROM callbacks") == [(0,)]


@every_storage_path
async def test_callback_round_trip(storage: Storage) -> None:
    """A callback request is stored with status new and read back with all its fields."""
    async with storage.transaction() as tx:
        created = await tx.create_callback(new_callback())
    assert created.status == "new"
    row = await storage.get_callback(created.id)
    assert row == created
    assert await storage.callbacks_for(KEY) == [created]
    assert await storage.get_callback("nope") is None


@every_storage_path
async def test_forget_erases_personal_fields_and_cancels_open_requests(storage: Storage, database_url: str) -> None:
    """Forgetting deletes the conversation, blanks phone, answers, contact and key of the person's callbacks,
    cancels those still open, leaves handled ones' status, and touches nobody else's."""
    await save(storage, record({"answers": {"for_whom": "self"}}))
    async with storage.transaction() as tx:
        open_request = await tx.create_callback(new_callback())
        handled = await tx.create_callback(new_callback(phone="+33611111111"))
        someone_else = await tx.create_callback(new_callback(key="test:other", phone="+33622222222"))
    await raw_sql(database_url, f"UPDATE callbacks SET status = 'done' WHERE id = '{handled.id}'")
    async with storage.transaction() as tx:
        erased = await tx.forget(KEY)
    assert erased == 2
    assert await storage.load_conversation(KEY) is None
    assert await storage.callbacks_for(KEY) == []
    for callback_id, status in ((open_request.id, "cancelled"), (handled.id, "done")):
        row = await storage.get_callback(callback_id)
        assert row is not None
        assert (row.conversation_key, row.phone, row.answers, row.contact) == (None, None, None, None)
        assert row.status == status
        assert (row.persona, row.moment, row.queue) == ("timide", "morning", "default")  # anonymous: kept
    assert await storage.get_callback(someone_else.id) == someone_else
    assert await raw_sql(database_url, "SELECT count(*) FROM conversations") == [(0,)]
    assert await raw_sql(database_url, "SELECT phone FROM callbacks WHERE phone IS NOT NULL") == [("+33622222222",)]
    # erased answers are SQL NULL on every path (not the JSON text 'null')
    assert await raw_sql(database_url, "SELECT id FROM callbacks WHERE answers IS NOT NULL") == [(someone_else.id,)]


@every_storage_path
async def test_data_survives_closing_and_reopening(database_url: str, fast_sqlite: bool) -> None:
    """Conversations, callbacks and remembered flow versions are all there after the storage is reopened."""
    storage = await Storage.open(database_url, fast_sqlite=fast_sqlite)
    saved = record({"answers": {"age_band": "80_plus"}})
    await save(storage, saved)
    async with storage.transaction() as tx:
        created = await tx.create_callback(new_callback())
    await storage.remember_flow_version("orientation", "v1", "flows/orientation.yaml", '{"flow": "…"}')
    await storage.remember_flow_version("orientation", "v1", "elsewhere.yaml", "ignored")  # first one is kept
    await storage.close()

    storage = await Storage.open(database_url, fast_sqlite=fast_sqlite)
    try:
        stored = await storage.load_conversation(KEY)
        assert stored is not None
        assert (stored.data, stored.version) == ({"answers": {"age_band": "80_plus"}}, saved.version)
        assert await storage.get_callback(created.id) == created
        async with storage.transaction() as tx:
            assert await tx.flow_source("v1") == ("flows/orientation.yaml", '{"flow": "…"}')
            assert await tx.flow_source("v2") is None
    finally:
        await storage.close()


async def test_unusable_database_url_is_a_storage_error(tmp_path: Path) -> None:
    """A wrong DATABASE_URL fails at start-up with StorageError, not a raw driver exception."""
    with pytest.raises(StorageError):
        await Storage.open("nosuchdriver://x")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises((StorageError, OSError)):
        await Storage.open(f"sqlite+aiosqlite:///{blocker / 'db.sqlite'}")
    not_sqlite = tmp_path / "garbage.db"
    not_sqlite.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError):
        await Storage.open(f"sqlite+aiosqlite:///{not_sqlite}")


async def test_an_unreachable_postgresql_is_a_storage_error_without_the_password(
    postgres_cluster: PostgresCluster,
) -> None:
    """PostgreSQL refusing the connection or lacking the database fails at start-up with StorageError naming
    the server and the reason, never the password; a plain postgresql:// URL means the asyncpg driver."""
    nobody = free_port()
    with pytest.raises(StorageError) as refused:
        await Storage.open(f"postgresql+asyncpg://bot:Sup3rSecret@127.0.0.1:{nobody}/passerelle")
    assert f"127.0.0.1:{nobody}/passerelle" in str(refused.value)
    assert "Sup3rSecret" not in str(refused.value)
    with pytest.raises(StorageError) as missing:
        await Storage.open(f"postgresql://postgres:Sup3rSecret@127.0.0.1:{postgres_cluster.port}/no_such_database")
    assert "no_such_database" in str(missing.value)
    assert "does not exist" in str(missing.value)
    assert "Sup3rSecret" not in str(missing.value)
    with pytest.raises(StorageError) as garbage:
        await Storage.open("not a url, Sup3rSecret")
    assert "Sup3rSecret" not in str(garbage.value)


@every_storage_path
async def test_concurrent_writers_retrying_on_conflict_lose_no_update(database_url: str, fast_sqlite: bool) -> None:
    """Two processes, several writers each, incrementing one conversation by read, change, save: a save based
    on a stale read raises ConflictError and is redone on a fresh read, so every increment counts once."""
    writers, increments = 4, 10
    storages = [await Storage.open(database_url, fast_sqlite=fast_sqlite) for _ in range(2)]
    conflicts = 0

    async def writer(storage: Storage) -> None:
        nonlocal conflicts
        for _ in range(increments):
            while True:
                current = await storage.read_conversation(KEY)
                assert current is not None
                current.data["count"] += 1
                await asyncio.sleep(0)  # let the other writers read the same version
                try:
                    await save(storage, current)
                    break
                except ConflictError:
                    conflicts += 1

    try:
        created = record({"count": 0})
        await save(storages[0], created)
        await asyncio.gather(*(writer(storages[n % 2]) for n in range(writers)))
        stored = await storages[1].load_conversation(KEY)
    finally:
        for storage in storages:
            await storage.close()
    assert stored is not None
    assert stored.data["count"] == writers * increments
    assert stored.version == created.version + writers * increments
    assert conflicts > 0


async def test_on_postgresql_a_concurrent_writer_waits_for_the_row_then_conflicts(postgres_url: str) -> None:
    """PostgreSQL: a save of the same version while another transaction holds the row waits for it (no error
    while it is open), and once that one commits, fails with ConflictError; a creation racing another waits
    likewise and fails with ConflictError."""
    one, two = await Storage.open(postgres_url), await Storage.open(postgres_url)
    try:
        await save(one, record({"n": 1}))
        mine = await one.load_conversation(KEY)
        theirs = await two.load_conversation(KEY)
        assert mine is not None
        assert theirs is not None
        async with one.transaction() as tx:
            mine.state = "aisance"
            await tx.save_conversation(mine)
            late = asyncio.create_task(save(two, theirs))
            await asyncio.sleep(0.3)
            assert not late.done()  # blocked on the row lock, not failed
        with pytest.raises(ConflictError):
            await late

        async with one.transaction() as tx:
            await tx.save_conversation(ConversationRecord("test:new", "orientation", "abc123", "pour_qui", {}))
            racing = asyncio.create_task(save(two, ConversationRecord("test:new", "orientation", "abc123", "x", {})))
            await asyncio.sleep(0.3)
            assert not racing.done()  # waiting for the first creation's outcome
        with pytest.raises(ConflictError):
            await racing
        stored = await two.load_conversation("test:new")
        assert stored is not None
        assert stored.state == "pour_qui"
        final = await two.load_conversation(KEY)
        assert final is not None
        assert final.state == "aisance"
    finally:
        await one.close()
        await two.close()


@every_storage_path
async def test_two_processes_starting_one_conversation_at_once_both_answer(
    database_url: str, fast_sqlite: bool, loaded: LoadedFlow, versions_from_one: None
) -> None:
    """The same first message handled at once by two processes: one creates the conversation, the other's
    creation conflicts and its turn is redone on the stored conversation; both answer, two saves in all."""
    one = await Storage.open(database_url, fast_sqlite=fast_sqlite)
    two = await Storage.open(database_url, fast_sqlite=fast_sqlite)
    try:
        chats = [Chat(Engine(loaded.flow, loaded.personas, s, NoCatalogue()), KEY) for s in (one, two)]
        turns = await asyncio.gather(*(chat.send("bonjour") for chat in chats))
        assert all(turn.replies for turn in turns)
        stored = await one.load_conversation(KEY)
    finally:
        await one.close()
        await two.close()
    assert stored is not None
    assert stored.version == 2


@pytest.mark.slow
@every_storage_path
async def test_forgotten_answers_never_come_back_from_another_process(
    database_url: str, loaded: LoadedFlow, fast_sqlite: bool
) -> None:
    """Two processes on one file: after one erases a conversation (/oublier) and a new one reaches the same
    number of turns, the other process's turn must not write the forgotten answers back (a new conversation
    starts at a random version, so the stale copy's version check fails and the turn is redone fresh)."""
    one = await Storage.open(database_url, fast_sqlite=fast_sqlite)
    two = await Storage.open(database_url, fast_sqlite=fast_sqlite)
    try:
        first = Chat(Engine(loaded.flow, loaded.personas, one, NoCatalogue()), KEY)
        second = Chat(Engine(loaded.flow, loaded.personas, two, NoCatalogue()), KEY)
        await first.script(["bonjour", "value:relative", "value:family_contact", "value:smartphone"])  # version 4
        await second.script(["/oublier", "oui"])
        await second.script(["bonjour", "value:self", "value:leisure", "value:none"])  # version 4 again
        await first.send("value:daily")
        third = await Storage.open(database_url)
        stored = await third.load_conversation(KEY)
        await third.close()
        assert stored is not None
        assert stored.data["answers"].get("for_whom") == "self"
        assert "usage_frequency" not in stored.data["answers"]
    finally:
        await one.close()
        await two.close()


async def test_migrations_build_exactly_the_schema_the_code_declares(database_url: str) -> None:
    """The Alembic migrations and bot/storage/tables.py describe the same schema (no forgotten migration)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bot.storage.tables import metadata

    storage = await Storage.open(database_url)

    def differences(connection: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection), metadata))

    try:
        async with storage._engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await storage.close()
