"""Answers not understood, kept for the coordinators: staged by a turn (TurnWrites.note_misunderstood) and written in
its transaction on every storage path, stored exactly as given and with nothing leading back to the conversation,
read back with filters and counted for the report; migration 0008 up and down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, inspect, update
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app.root import LoadedFlow
from bot.engine.dialogue import Dialogue
from bot.engine.engine import Engine
from bot.places.offers import NoCatalogue
from bot.storage import ConversationRecord, Storage
from bot.storage.memory import MemoryStorage
from bot.storage.records import Misunderstood, MisunderstoodRow, TurnWrites
from bot.storage.tables import misunderstood
from tests.conftest import Chat, every_storage_path
from tests.support.migrations import table_round_trip
from tests.support.postgres import raw_sql

NOT_MASKED = "appelez Marie au 06 12 34 56 78"  # storage keeps what it is given: masking is the caller's


@pytest.fixture
async def storage(database_url: str, fast_sqlite: bool) -> AsyncIterator[Storage]:
    opened = await Storage.open(database_url, fast_sqlite=fast_sqlite)
    yield opened
    await opened.close()


def answer(question: str = "attitude", text: str = "elle veut pas en entendre parler", **kw: str) -> Misunderstood:
    fields = {"flow": "orientation", "flow_version": "v1", "kind": "not_understood"} | kw
    return Misunderstood(fields["flow"], fields["flow_version"], question, text, fields["kind"])  # type: ignore[arg-type]


async def commit_turn(storage: Storage | MemoryStorage, writes: TurnWrites, key: str = "telegram:42") -> None:
    """The end of a turn as the engine does it: the staged answers, then the conversation, in one transaction."""
    async with storage.transaction() as tx:
        await tx.add_misunderstood(writes.misunderstood)
        await tx.save_conversation(ConversationRecord(key, "orientation", "v1", "attitude", {"answers": {}}))


@every_storage_path
async def test_staged_answers_are_written_with_the_turn_exactly_as_given(storage: Storage) -> None:
    """Answers noted during a turn are stored when it commits, text and fields exactly as given (even unmasked: the
    caller masks), dated, in order; nothing was written before the commit."""
    writes = TurnWrites()
    writes.note_misunderstood(answer())
    writes.note_misunderstood(answer("rappel.who", NOT_MASKED, kind="refused"))
    assert await storage.misunderstood() == []
    before = datetime.now(UTC)
    await commit_turn(storage, writes)
    rows = await storage.misunderstood()
    assert [(r.flow, r.flow_version, r.question, r.text, r.kind) for r in rows] == [
        ("orientation", "v1", "attitude", "elle veut pas en entendre parler", "not_understood"),
        ("orientation", "v1", "rappel.who", NOT_MASKED, "refused"),
    ]
    assert all(before - timedelta(seconds=1) <= r.created_at <= datetime.now(UTC) for r in rows)
    assert rows[0].id < rows[1].id


@every_storage_path
async def test_a_turn_that_fails_keeps_no_answer(storage: Storage) -> None:
    """A turn whose transaction fails leaves no answer behind (a turn redone after a conflict notes its answers
    again: they count once)."""
    writes = TurnWrites()
    writes.note_misunderstood(answer())

    async def failing_turn() -> None:
        async with storage.transaction() as tx:
            await tx.add_misunderstood(writes.misunderstood)
            raise RuntimeError("the turn failed")

    with pytest.raises(RuntimeError):
        await failing_turn()
    assert await storage.misunderstood() == []


@every_storage_path
async def test_nothing_stored_leads_back_to_the_conversation(storage: Storage, database_url: str) -> None:
    """The table holds the flow, its version, the question, the text, the kind and the date: no conversation key, no
    chat id, nothing that joins it to a person; the key of the turn that wrote the row appears nowhere in it."""
    writes = TurnWrites()
    writes.note_misunderstood(answer())
    await commit_turn(storage, writes, key="telegram:987654321")
    engine = create_async_engine(database_url)

    def columns(connection: Connection) -> set[str]:
        return {c["name"] for c in inspect(connection).get_columns("misunderstood")}

    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(columns) == {
                "id",
                "flow",
                "flow_version",
                "question",
                "text",
                "kind",
                "created_at",
            }
    finally:
        await engine.dispose()
    stored = await raw_sql(database_url, "SELECT * FROM misunderstood")
    assert len(stored) == 1
    assert "987654321" not in repr(stored)


@every_storage_path
async def test_reading_filters_by_date_and_flow_and_counts_alike_answers(storage: Storage) -> None:
    """`misunderstood(since, flow)` gives the answers from that moment on, of that flow, oldest first; the grouped
    query counts the same text of the same kind at the same question of one version, with its last date."""
    writes = TurnWrites()
    for a in (
        answer(),
        answer(),
        answer(kind="refused"),
        answer("age", "quatre vingt trois"),
        answer(flow="autre", flow_version="w1"),
        answer(flow_version="v2"),
    ):
        writes.note_misunderstood(a)
    await commit_turn(storage, writes)
    old = datetime(2026, 1, 10, 12, tzinfo=UTC)
    first = min(r.id for r in await storage.misunderstood())
    async with storage.callback_transaction() as tx:  # the first answer, written long ago
        await tx.connection.execute(update(misunderstood).where(misunderstood.c.id == first).values(created_at=old))

    everything = await storage.misunderstood()
    assert everything[0].created_at == old  # oldest first
    assert len(everything) == 6
    recent = await storage.misunderstood(since=old + timedelta(days=1))
    assert len(recent) == 5
    assert {r.flow for r in await storage.misunderstood(flow="autre")} == {"autre"}
    assert len(await storage.misunderstood(since=old + timedelta(days=1), flow="orientation")) == 4

    groups = await storage.misunderstood_groups(flow="orientation")
    counted = {(g.flow_version, g.question, g.text, g.kind): (g.count, g.last) for g in groups}
    newest = max(r.created_at for r in recent)
    assert counted == {
        ("v1", "attitude", "elle veut pas en entendre parler", "not_understood"): (2, newest),
        ("v1", "attitude", "elle veut pas en entendre parler", "refused"): (1, newest),
        ("v1", "age", "quatre vingt trois", "not_understood"): (1, newest),
        ("v2", "attitude", "elle veut pas en entendre parler", "not_understood"): (1, newest),
    }
    since = await storage.misunderstood_groups(since=old + timedelta(days=1), flow="orientation")
    assert {(g.flow_version, g.kind): g.count for g in since if g.question == "attitude"} == {
        ("v1", "not_understood"): 1,
        ("v1", "refused"): 1,
        ("v2", "not_understood"): 1,
    }


class NotingEngine(Engine):
    """The engine, its dialogue noting one answer not understood per turn, as the understanding's outcome will."""

    def _dialogue(self, bundle: object, record: ConversationRecord, writes: TurnWrites) -> Dialogue:
        writes.note_misunderstood(Misunderstood(record.flow, record.flow_version, record.state, "bla bla", "refused"))
        return super()._dialogue(bundle, record, writes)  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", ["sqlite-fast", "sqlite-core", "memory"])
async def test_the_engine_commits_the_answers_its_turn_noted(backend: str, loaded: LoadedFlow, sqlite_url: str) -> None:
    """A turn of the engine writes the answers its dialogue noted, in the turn's transaction, once per turn (the
    in-memory storage of `flows test` too)."""
    storage: Storage | MemoryStorage = (
        MemoryStorage() if backend == "memory" else await Storage.open(sqlite_url, fast_sqlite=backend == "sqlite-fast")
    )
    try:
        engine = NotingEngine(loaded.flow, loaded.personas, storage, NoCatalogue())
        await engine.start()
        await Chat(engine).script(["/start", "bonjour"])
        rows: list[MisunderstoodRow] = await storage.misunderstood()
        noted = ("bla bla", loaded.flow.name, loaded.flow.version)
        assert [(r.text, r.flow, r.flow_version) for r in rows] == [noted, noted]
    finally:
        await storage.close()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_migration_0008_adds_the_table_and_takes_it_away(database_url: str) -> None:
    """A database at revision 0007 gets the table when the bot opens it; downgrading to 0007 removes it (and its
    indexes), upgrading again brings it back."""
    await table_round_trip(database_url, "misunderstood", "0007")
