"""Storage on real SQLite files: migrations, WAL, round trips, the version check, forgetting, reopening."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

import bot.storage
from bot.app import LoadedFlow
from bot.engine.engine import Engine
from bot.errors import ConflictError, StorageError
from bot.offers import NoCatalogue
from bot.storage import ConversationRecord, NewCallback, Storage
from tests.conftest import Chat

KEY = "test:storage"


@pytest.fixture(params=["fast", "core"])
def fast_sqlite(request: pytest.FixtureRequest) -> bool:
    """Both ways the storage runs a turn on SQLite: plain aiosqlite, and SQLAlchemy Core."""
    return bool(request.param == "fast")


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "data" / "passerelle.db"  # a folder that does not exist yet


@pytest.fixture
def url(db_file: Path) -> str:
    return f"sqlite+aiosqlite:///{db_file}"


@pytest.fixture
async def storage(url: str, fast_sqlite: bool) -> AsyncIterator[Storage]:
    opened = await Storage.open(url, fast_sqlite=fast_sqlite)
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


async def test_migrations_create_the_schema_on_a_fresh_file(url: str, db_file: Path, fast_sqlite: bool) -> None:
    """Opening a new file (in a folder not yet created) builds every table, with Alembic's version at head."""
    assert not db_file.parent.is_dir()
    storage = await Storage.open(url, fast_sqlite=fast_sqlite)
    await storage.close()
    head = ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_current_head()
    with raw(db_file) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        versions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        columns = {row[1] for row in connection.execute("PRAGMA table_info(callbacks)")}
    assert {"conversations", "flow_versions", "callbacks", "alembic_version"} <= tables
    assert head is not None
    assert versions == [(head,)]
    assert {"phone", "answers", "status", "queue", "consent_at", "consent_text"} <= columns
    again = await Storage.open(url, fast_sqlite=fast_sqlite)  # migrating an up-to-date file changes nothing
    await again.close()
    with raw(db_file) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]


async def test_wal_mode_is_on(storage: Storage, db_file: Path) -> None:
    """The database runs in WAL mode, so readers never block the writer."""
    await save(storage, record())
    with raw(db_file) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db_file.with_name(db_file.name + "-wal").exists()


async def test_save_and_load_round_trip(storage: Storage, url: str) -> None:
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
    other = await Storage.open(url)
    try:
        fresh = await other.load_conversation(KEY)
    finally:
        await other.close()
    assert fresh is not None
    assert (fresh.state, fresh.version, fresh.data["answers"]["usage_frequency"]) == ("aisance", first + 1, "daily")
    assert await storage.load_conversation("test:nobody") is None


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


async def test_creating_the_same_conversation_twice_is_a_conflict(storage: Storage) -> None:
    """Two first messages racing to create one conversation: the second creation is a ConflictError."""
    await save(storage, record(state="pour_qui"))
    with pytest.raises(ConflictError):
        await save(storage, record(state="envies"))
    stored = await storage.load_conversation(KEY)
    assert stored is not None
    assert stored.state == "pour_qui"


async def test_a_failed_unit_of_work_leaves_nothing_behind(storage: Storage, db_file: Path) -> None:
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
    with raw(db_file) as connection:
        assert connection.execute("SELECT count(*) FROM callbacks").fetchone() == (0,)


async def test_callback_round_trip(storage: Storage) -> None:
    """A callback request is stored with status new and read back with all its fields."""
    async with storage.transaction() as tx:
        created = await tx.create_callback(new_callback())
    assert created.status == "new"
    row = await storage.get_callback(created.id)
    assert row == created
    assert await storage.callbacks_for(KEY) == [created]
    assert await storage.get_callback("nope") is None


async def test_forget_erases_personal_fields_and_cancels_open_requests(storage: Storage, db_file: Path) -> None:
    """Forgetting deletes the conversation, blanks phone, answers, contact and key of the person's callbacks,
    cancels those still open, leaves handled ones' status, and touches nobody else's."""
    await save(storage, record({"answers": {"for_whom": "self"}}))
    async with storage.transaction() as tx:
        open_request = await tx.create_callback(new_callback())
        handled = await tx.create_callback(new_callback(phone="+33611111111"))
        someone_else = await tx.create_callback(new_callback(key="test:other", phone="+33622222222"))
    with raw(db_file) as connection:
        connection.execute("UPDATE callbacks SET status = 'done' WHERE id = ?", (handled.id,))
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
    with raw(db_file) as connection:
        assert connection.execute("SELECT count(*) FROM conversations").fetchone() == (0,)
        phones = [row[0] for row in connection.execute("SELECT phone FROM callbacks WHERE phone IS NOT NULL")]
    assert phones == ["+33622222222"]


async def test_data_survives_closing_and_reopening(url: str, fast_sqlite: bool) -> None:
    """Conversations, callbacks and remembered flow versions are all there after the storage is reopened."""
    storage = await Storage.open(url, fast_sqlite=fast_sqlite)
    saved = record({"answers": {"age_band": "80_plus"}})
    await save(storage, saved)
    async with storage.transaction() as tx:
        created = await tx.create_callback(new_callback())
    await storage.remember_flow_version("orientation", "v1", "flows/orientation.yaml", '{"flow": "…"}')
    await storage.remember_flow_version("orientation", "v1", "elsewhere.yaml", "ignored")  # first one is kept
    await storage.close()

    storage = await Storage.open(url, fast_sqlite=fast_sqlite)
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


async def test_forgotten_answers_never_come_back_from_another_process(
    url: str, loaded: LoadedFlow, fast_sqlite: bool
) -> None:
    """Two processes on one file: after one erases a conversation (/oublier) and a new one reaches the same
    number of turns, the other process's turn must not write the forgotten answers back (a new conversation
    starts at a random version, so the stale copy's version check fails and the turn is redone fresh)."""
    one = await Storage.open(url, fast_sqlite=fast_sqlite)
    two = await Storage.open(url, fast_sqlite=fast_sqlite)
    try:
        first = Chat(Engine(loaded.flow, loaded.personas, one, NoCatalogue()), KEY)
        second = Chat(Engine(loaded.flow, loaded.personas, two, NoCatalogue()), KEY)
        await first.script(["bonjour", "value:relative", "value:family_contact", "value:smartphone"])  # version 4
        await second.script(["/oublier", "oui"])
        await second.script(["bonjour", "value:self", "value:leisure", "value:none"])  # version 4 again
        await first.send("value:daily")
        third = await Storage.open(url)
        stored = await third.load_conversation(KEY)
        await third.close()
        assert stored is not None
        assert stored.data["answers"].get("for_whom") == "self"
        assert "usage_frequency" not in stored.data["answers"]
    finally:
        await one.close()
        await two.close()


async def test_migrations_build_exactly_the_schema_the_code_declares(url: str) -> None:
    """The Alembic migrations and bot/storage/tables.py describe the same schema (no forgotten migration)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import Connection

    from bot.storage.tables import metadata

    storage = await Storage.open(url)

    def differences(connection: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection), metadata))

    try:
        async with storage._engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await storage.close()
