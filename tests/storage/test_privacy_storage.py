"""Personal data at rest: phone numbers, first names and notes encrypted in the database on every
storage path, read back in clear by the bot; DATA_KEY checked, the key file of a SQLite deployment, key rotation,
rows of an older version encrypted by the upgrade, the search by number."""

from __future__ import annotations

import logging
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.callbacks.desk import CallbackDesk
from bot.callbacks.queues import Queue, QueueSet
from bot.callbacks.rules import Actor
from bot.config import Settings
from bot.core.errors import ConfigError, StorageError
from bot.privacy.keys import rotate
from bot.storage import ConversationRecord, NewCallback, Storage
from bot.storage.crypto import TOKEN_PREFIX, Keyring, UnreadableData, key_file_for, load_keyring
from bot.storage.records import CallbackRow
from tests.conftest import every_storage_path
from tests.support.browser import RunningServer
from tests.support.dashboard import DashboardClient, add_mediator, create_request

PHONE = "+33612345678"
NAME = "Germaine"
NOTE = "Rappeler chez sa fille Odette"
# Every way the number could leak in clear: E.164, national, without the leading zero.
CLEAR = (PHONE, "0612345678", "612345678", NAME, "Odette")
MARIE = Actor("web:marie", "Marie", "dashboard")


def queues() -> QueueSet:
    return QueueSet(Queue("default", "l'équipe Passerelle"), (Queue("lyon", "la Maison de Lyon"),))


def new_callback(key: str = "telegram:42", phone: str = PHONE, queue: str = "default") -> NewCallback:
    return NewCallback(
        key, queue, "timide", {"for_whom": "self"}, phone, "morning", "person", datetime.now(UTC), "v1", NAME
    )


@asynccontextmanager
async def opened(url: str, keyring: Keyring | None, *, fast_sqlite: bool = True) -> AsyncIterator[Storage]:
    storage = await Storage.open(url, keyring=keyring, fast_sqlite=fast_sqlite)
    try:
        yield storage
    finally:
        await storage.close()


async def with_note(storage: Storage, key: str = "telegram:42") -> CallbackRow:
    """A request recorded by a turn (the per-turn path), then a mediator's note (the desk's path)."""
    async with storage.transaction() as tx:
        row = await tx.create_callback(new_callback(key))
    desk = CallbackDesk(storage, queues(), lambda _key, *_who: "")
    await desk.claim(row.id, MARIE)
    await desk.add_note(row.id, MARIE, NOTE)
    return row


async def raw(url: str, sql: str) -> list[tuple[object, ...]]:
    """What the database holds, read without the bot's keyring."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return [tuple(r) for r in await connection.execute(text(sql))]
    finally:
        await engine.dispose()


def file_bytes(url: str) -> bytes:
    database = Path(url.partition(":///")[2])
    return b"".join(p.read_bytes() for p in (database, Path(f"{database}-wal")) if p.exists())


@every_storage_path
async def test_phone_first_name_and_notes_are_stored_encrypted_and_read_back_in_clear(
    database_url: str, fast_sqlite: bool
) -> None:
    """No phone number (in any form), first name or note in clear in the database, on every storage path; the
    bot reads them back in clear (the request, the desk's listing, the history)."""
    keyring = Keyring.from_text(Keyring.new_key())
    async with opened(database_url, keyring, fast_sqlite=fast_sqlite) as storage:
        row = await with_note(storage)
        stored = await storage.get_callback(row.id)
        assert stored is not None
        assert (stored.phone, stored.first_name, stored.note) == (PHONE, NAME, NOTE)
        assert await storage.callbacks_for("telegram:42") == [stored]
        desk = CallbackDesk(storage, queues(), lambda _key, *_who: "")
        assert [r.phone for r in await desk.listing(None)] == [PHONE]
        assert [e.note for e in await desk.history(row.id) if e.note] == [NOTE]
    cells = await raw(database_url, "SELECT phone, first_name, note, phone_digest FROM callbacks")
    cells += await raw(database_url, "SELECT note, NULL, NULL, NULL FROM callback_events WHERE note IS NOT NULL")
    assert len(cells) == 2
    for phone, first_name, note, _digest in cells[:1]:
        assert all(isinstance(v, str) and v.startswith(TOKEN_PREFIX) for v in (phone, first_name, note))
    assert str(cells[1][0]).startswith(TOKEN_PREFIX)
    everything = repr(cells)
    assert not [value for value in CLEAR if value in everything]
    if database_url.startswith("sqlite"):
        on_disk = file_bytes(database_url)
        assert not [value for value in CLEAR if value.encode() in on_disk]


@every_storage_path
async def test_a_number_typed_before_the_request_is_complete_is_stored_encrypted_too(
    database_url: str, fast_sqlite: bool
) -> None:
    """Between the phone question and the moment question the number waits in the conversation: stored encrypted
    there too (on every storage path), read back in clear; once its key is dropped, the conversation still loads,
    without the number (the person is asked again)."""
    keyring = Keyring.from_text(Keyring.new_key())
    draft = {"consent_at": "2026-11-23T09:00:00+00:00", "phone": PHONE}
    async with opened(database_url, keyring, fast_sqlite=fast_sqlite) as storage:
        async with storage.transaction() as tx:
            record = ConversationRecord("telegram:43", "orientation", "v1", "rappel.moment", {"callback_draft": draft})
            await tx.save_conversation(record)
        loaded = await storage.load_conversation("telegram:43")
        assert loaded is not None
        assert loaded.data["callback_draft"] == draft
    (stored,) = await raw(database_url, "SELECT data FROM conversations")
    assert not [value for value in CLEAR if value in repr(stored)]
    if database_url.startswith("sqlite"):
        assert not [value for value in CLEAR if value.encode() in file_bytes(database_url)]
    async with opened(database_url, Keyring.from_text(Keyring.new_key()), fast_sqlite=fast_sqlite) as storage:
        loaded = await storage.load_conversation("telegram:43")
        assert loaded is not None
        assert loaded.data["callback_draft"] == {"consent_at": draft["consent_at"]}


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_rotation_re_encrypts_everything_so_the_old_key_can_be_dropped(database_url: str) -> None:
    """New key first, old key after: both read; `rotate` rewrites every value and phone digest with the new key;
    the old key can then be dropped. Dropping it before the rotation stops the opening, naming DATA_KEY."""
    old, new = Keyring.new_key(), Keyring.new_key()
    async with opened(database_url, Keyring.from_text(old)) as storage:
        row = await with_note(storage)
    before = await raw(database_url, "SELECT phone, first_name, note, phone_digest FROM callbacks")

    with pytest.raises(StorageError, match="DATA_KEY"):
        await Storage.open(database_url, keyring=Keyring.from_text(new))

    async with opened(database_url, Keyring.from_text(f"{new},{old}")) as storage:
        desk = CallbackDesk(storage, queues(), lambda _key, *_who: "")
        assert [r.id for r in await desk.find_by_phone(["default"], PHONE)] == [row.id]  # digest of the old key
        assert await rotate(storage, batch=1) == (1, 1)
    after = await raw(database_url, "SELECT phone, first_name, note, phone_digest FROM callbacks")
    assert all(a != b for a, b in zip(after[0], before[0], strict=True))  # every value rewritten, digest too

    async with opened(database_url, Keyring.from_text(new)) as storage:
        stored = await storage.get_callback(row.id)
        assert stored is not None
        assert (stored.phone, stored.first_name, stored.note) == (PHONE, NAME, NOTE)
        desk = CallbackDesk(storage, queues(), lambda _key, *_who: "")
        assert [e.note for e in await desk.history(row.id) if e.note] == [NOTE]
        assert [r.id for r in await desk.find_by_phone(["default"], PHONE)] == [row.id]


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_search_by_number_finds_only_that_number_in_the_queues_asked(database_url: str) -> None:
    """find_by_phone: the requests with that number in the queues given, newest first; not another number, not
    another queue, not a request erased by /oublier."""
    async with opened(database_url, Keyring.from_text(Keyring.new_key())) as storage:
        async with storage.transaction() as tx:
            first = await tx.create_callback(new_callback("telegram:1"))
            await tx.create_callback(new_callback("telegram:2", phone="+33698765432"))
            await tx.create_callback(new_callback("telegram:3", queue="lyon"))
            erased = await tx.create_callback(new_callback("telegram:4"))
        async with storage.transaction() as tx:
            second = await tx.create_callback(new_callback("telegram:1"))
            await tx.forget("telegram:4")
        desk = CallbackDesk(storage, queues(), lambda _key, *_who: "")
        found = await desk.find_by_phone(["default"], PHONE)
        assert [r.id for r in found] == [second.id, first.id]
        assert erased.id not in {r.id for r in found}
        assert found[0].phone == PHONE
        assert await desk.find_by_phone(["default"], "+33700000000") == []
    assert await raw(database_url, "SELECT count(*) FROM callbacks WHERE phone_digest IS NULL") == [(1,)]


async def test_without_a_keyring_the_storage_cannot_read_encrypted_data(sqlite_url: str) -> None:
    """A process without DATA_KEY on encrypted data gets an error, never tokens shown as phone numbers."""
    async with opened(sqlite_url, Keyring.from_text(Keyring.new_key())) as storage:
        row = await with_note(storage)
    async with opened(sqlite_url, None) as storage:
        with pytest.raises(UnreadableData, match="DATA_KEY"):
            await storage.get_callback(row.id)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_requests_stored_before_encryption_are_encrypted_by_the_upgrade(database_url: str) -> None:
    """A database at revision 0006 with a request in clear: upgrading without a key refuses (nothing changed);
    with the key, the phone, first name and note (history too) are encrypted and the number becomes searchable."""
    await migrate_to(database_url, "0006")
    await execute(
        database_url,
        "INSERT INTO callbacks (id, conversation_key, status, queue, persona, answers, phone, moment, contact, "
        "consent_at, consent_text, created_at, updated_at, first_name, attempts, note) VALUES ('old1', 'telegram:9', "
        f"'new', 'default', 'timide', '{{}}', '{PHONE}', 'morning', 'person', '2026-01-02 10:00:00', 'v1', "
        f"'2026-01-02 10:00:00', '2026-01-02 10:00:00', '{NAME}', 0, '{NOTE}')",
        "INSERT INTO callback_events (callback_id, at, action, from_status, to_status, actor, via, note) VALUES "
        f"('old1', '2026-01-02 10:00:00', 'note', 'new', 'new', 'web:marie', 'dashboard', '{NOTE}')",
    )
    with pytest.raises(StorageError, match="DATA_KEY"):
        await Storage.open(database_url)
    assert PHONE in repr(await raw(database_url, "SELECT phone FROM callbacks"))

    keyring = Keyring.from_text(Keyring.new_key())
    async with opened(database_url, keyring) as storage:
        stored = await storage.get_callback("old1")
        assert stored is not None
        assert (stored.phone, stored.first_name, stored.note) == (PHONE, NAME, NOTE)
        desk = CallbackDesk(storage, queues(), lambda _key, *_who: "")
        assert [r.id for r in await desk.find_by_phone(["default"], PHONE)] == ["old1"]
    cells = repr(await raw(database_url, "SELECT phone, first_name, note FROM callbacks"))
    cells += repr(await raw(database_url, "SELECT note FROM callback_events"))
    assert not [value for value in CLEAR if value in cells]


async def migrate_to(url: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    def upgrade(connection: Connection) -> None:
        config = Config(str(Path(__file__).resolve().parents[2] / "bot" / "storage" / "alembic.ini"))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade)
    finally:
        await engine.dispose()


async def execute(url: str, *statements: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


# ----- the dashboard's « Rechercher un numéro » ---------------------------------------------------------------
@pytest.mark.asyncio(loop_scope="session")
async def test_dashboard_search_finds_a_number_only_in_the_mediators_queues(web_server: RunningServer) -> None:
    """Typed in any usual form, a number finds the request of the mediator's queue (linked), never the same
    number's request in another queue; an unknown number says so, a malformed one asks again; the search is a
    POST (the number stays out of URLs) with the CSRF token (without it: 403)."""
    await add_mediator(web_server, "marie", ["lyon"])
    mine = await create_request(web_server, queue="lyon", phone=PHONE, first_name="Jeanne", key="web:1")
    other = await create_request(web_server, queue="isere", phone=PHONE, first_name="Odette", key="web:2")
    async with DashboardClient(web_server) as marie:
        _, text = await marie.sign_in("marie")
        assert 'action="/mediateurs/recherche"' in text  # the form is on the list page
        for typed in ("06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678"):
            response, text = await marie.post("/mediateurs/recherche", {"numero": typed})
            assert response.status == 200
            assert f"/mediateurs/demandes/{mine.id}" in text, typed
            assert "Jeanne" in text
            assert other.id not in text, typed
            assert "Odette" not in text
        _, text = await marie.post("/mediateurs/recherche", {"numero": "06 98 76 54 32"})
        assert "Aucune demande avec ce numéro" in text
        assert mine.id not in text
        _, text = await marie.post("/mediateurs/recherche", {"numero": "12"})
        assert "Ce numéro n'est pas reconnu" in text
        assert mine.id not in text
        response, text = await marie.post("/mediateurs/recherche", {"numero": "0612345678"}, csrf=False)
        assert response.status == 403
        assert mine.id not in text
        response, text = await marie.page("/mediateurs/recherche")
        assert response.status == 200
        assert 'name="numero"' in text


# ----- DATA_KEY and the key file ------------------------------------------------------------------------------
def test_without_data_key_a_sqlite_file_gets_a_private_key_file_with_a_warning_reused_next_time(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No DATA_KEY on a SQLite file: a key is generated into passerelle.key beside it (mode 0600) with a warning
    (naming the file, never the key), and the next start reuses it (what it sealed, the next one opens)."""
    settings = Settings.from_env({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'data' / 'passerelle.db'}"})
    with caplog.at_level(logging.WARNING, logger="bot.storage.crypto"):
        first = load_keyring(settings)
    path = tmp_path / "data" / "passerelle.key"
    assert key_file_for(tmp_path / "data" / "passerelle.db") == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text().strip()
    [warning] = caplog.records
    assert warning.levelno == logging.WARNING
    assert "generated" in warning.getMessage()
    assert str(path) in warning.getMessage()
    assert "production should set DATA_KEY" in warning.getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.storage.crypto"):
        second = load_keyring(settings)
    assert path.read_text().strip() == key
    assert second.open(first.seal("secret")) == "secret"
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert all(key not in r.getMessage() for r in caplog.records)
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_data_key_wins_over_the_key_file_and_every_key_decrypts(tmp_path: Path) -> None:
    """DATA_KEY set: no key file is made; "new,old" encrypts with the new key and opens what either sealed."""
    old, new = Keyring.new_key(), Keyring.new_key()
    url = f"sqlite+aiosqlite:///{tmp_path / 'passerelle.db'}"
    ring = load_keyring(Settings.from_env({"DATABASE_URL": url, "DATA_KEY": f"{new}, {old}"}))
    assert not (tmp_path / "passerelle.key").exists()
    sealed_by_old = Keyring.from_text(old).seal(PHONE)
    assert ring.open(sealed_by_old) == PHONE
    assert Keyring.from_text(new).open(ring.seal(PHONE)) == PHONE
    with pytest.raises(UnreadableData):
        Keyring.from_text(old).open(ring.seal(PHONE))
    assert ring.phone_digests(PHONE)[1] == Keyring.from_text(old).phone_digest(PHONE)
    assert new not in repr(ring)
    assert old not in repr(ring)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"DATA_KEY": "not a key"}, "DATA_KEY must be one or more Fernet keys .* keys generate"),
        ({"DATA_KEY": "A" * 43 + "=,"}, "DATA_KEY .* key 2 is not one"),
        ({"DATABASE_URL": "postgresql+asyncpg://bot@127.0.0.1/passerelle"}, "DATA_KEY is required"),
    ],
)
def test_a_wrong_or_missing_data_key_stops_the_start(environ: dict[str, str], message: str) -> None:
    """A malformed DATA_KEY, or none on PostgreSQL (every process needs the same key): ConfigError saying what to do."""
    with pytest.raises(ConfigError, match=message):
        load_keyring(Settings.from_env(environ))


def test_a_damaged_key_file_stops_the_start_naming_it(tmp_path: Path) -> None:
    """A key file that holds no key is never replaced by a new one (the data would be lost): ConfigError."""
    (tmp_path / "passerelle.key").write_text("abimé\n")
    settings = Settings.from_env({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'passerelle.db'}"})
    with pytest.raises(ConfigError, match=r"passerelle\.key"):
        load_keyring(settings)
    assert (tmp_path / "passerelle.key").read_text() == "abimé\n"
