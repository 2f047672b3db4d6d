"""The last question's answers (« Est-ce que cette conversation vous a été utile ? »): staged by a turn and written
in its transaction on every storage path, with nothing that identifies the person (no key, no phone, only the day),
the optional word masked and apart from the rating; deleted by the retention purge; migration 0009 up and down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text, update
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app.root import LoadedFlow, load_flow_with_personas
from bot.engine.engine import Engine
from bot.places.offers import NoCatalogue
from bot.privacy.purge import Retention, purge
from bot.storage import ConversationRecord, Storage
from bot.storage.memory import MemoryStorage
from bot.storage.records import FeedbackAnswer, TurnWrites
from bot.storage.tables import feedback
from tests.conftest import Chat, every_storage_path
from tests.support.migrations import table_round_trip

FLOWS = Path(__file__).resolve().parents[2] / "flows"
# Up to the end of the results, then no callback: the last question comes next.
TO_LAST_QUESTION = ["bonjour", "value:self", "value:admin_procedures", "value:computer", "value:daily",
                    "value:advanced", "value:pragmatic", "value:none", "value:easy", "33000", "value:no"]  # fmt: skip


@pytest.fixture(scope="module")
def with_last_question() -> LoadedFlow:
    """The shipped flow: the last question comes after « Non merci » to the callback offer, and after the request."""
    return load_flow_with_personas(FLOWS / "orientation.yaml")


@pytest.fixture
async def storage(database_url: str, fast_sqlite: bool) -> AsyncIterator[Storage]:
    opened = await Storage.open(database_url, fast_sqlite=fast_sqlite)
    yield opened
    await opened.close()


@every_storage_path
async def test_staged_answers_are_written_with_the_turn_with_only_the_day(storage: Storage) -> None:
    """A rating and a word noted during a turn are stored when it commits, as given, dated by the day only; nothing
    before the commit."""
    writes = TurnWrites()
    writes.note_feedback(FeedbackAnswer("orientation", "v1", "some", None))
    writes.note_feedback(FeedbackAnswer("orientation", "v1", None, "il manquait les horaires"))
    assert await storage.feedback() == []
    async with storage.transaction() as tx:
        await tx.add_feedback(writes.feedback)
        await tx.save_conversation(ConversationRecord("telegram:42", "orientation", "v1", "un_mot", {"answers": {}}))
    rows = await storage.feedback()
    today = datetime.now(UTC).date()
    assert [(r.flow, r.flow_version, r.day, r.rating, r.word) for r in rows] == [
        ("orientation", "v1", today, "some", None),
        ("orientation", "v1", today, None, "il manquait les horaires"),
    ]
    assert await storage.feedback(since=today + timedelta(days=1)) == []


@every_storage_path
async def test_the_table_holds_nothing_that_leads_to_the_person(storage: Storage, database_url: str) -> None:
    """The table has the flow, its version, the day, the rating and the word: no key, no chat, no phone, no time."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            columns = await connection.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns("feedback")})
        assert columns == {"id", "flow", "flow_version", "day", "rating", "word"}
    finally:
        await engine.dispose()


@every_storage_path
async def test_the_purge_deletes_answers_past_the_conversations_period(storage: Storage) -> None:
    """Answers older than the conversations' retention period are deleted by the purge, newer ones kept."""
    async with storage.transaction() as tx:
        await tx.add_feedback([FeedbackAnswer("orientation", "v1", "yes", None)] * 2)
    first = min(r.id for r in await storage.feedback())
    old = (datetime.now(UTC) - timedelta(days=200)).date()
    async with storage.callback_transaction() as tx:  # the first answer, written long ago
        await tx.connection.execute(update(feedback).where(feedback.c.id == first).values(day=old))
    counts = await purge(storage, Retention(timedelta(days=180), timedelta(days=90)), datetime.now(UTC))
    assert counts is not None
    assert counts.feedback == 1
    assert [r.rating for r in await storage.feedback()] == ["yes"]


@pytest.mark.parametrize("backend", ["sqlite-fast", "sqlite-core", "memory"])
async def test_the_last_question_is_stored_anonymously(
    backend: str, with_last_question: LoadedFlow, sqlite_url: str
) -> None:
    """After the results, « Un peu » then a word with a phone number and a first name: the rating and the masked word
    are stored with the flow's version, and neither the conversation key nor the number is anywhere in the table."""
    storage: Storage | MemoryStorage = (
        MemoryStorage() if backend == "memory" else await Storage.open(sqlite_url, fast_sqlite=backend == "sqlite-fast")
    )
    try:
        loaded = with_last_question
        engine = Engine(loaded.flow, loaded.personas, storage, NoCatalogue())
        await engine.start()
        chat = Chat(engine, "telegram:987654321")
        turns = await chat.script([*TO_LAST_QUESTION, "value:some", "je m'appelle Marie, rappelez au 06 12 34 56 78"])
        assert [t.state for t in turns[-3:]] == ["utile", "un_mot", "ended"]
        rows = await storage.feedback()
        assert [(r.flow, r.flow_version, r.rating) for r in rows] == [
            ("orientation", loaded.flow.version, "some"),
            ("orientation", loaded.flow.version, None),
        ]
        word = rows[1].word
        assert word is not None
        assert word.startswith("je m'appelle [prénom], rappelez")
        assert "06 12 34 56 78" not in word
        assert "Marie" not in word
        if isinstance(storage, Storage):
            async with storage.callback_transaction() as tx:
                rows_read = await tx.connection.execute(text("SELECT * FROM feedback"))
                dump = " ".join(str(value) for row in rows_read for value in row)
            assert "987654321" not in dump
            assert "0612345678" not in dump.replace(" ", "")
    finally:
        await storage.close()


async def test_skipping_the_last_question_stores_nothing(with_last_question: LoadedFlow) -> None:
    """« Passer cette question », or « non » to the word: the conversation ends, and only a rating given is kept;
    « Oui » ends at once."""
    storage = MemoryStorage()
    engine = Engine(with_last_question.flow, with_last_question.personas, storage, NoCatalogue())
    await engine.start()
    skipped = await Chat(engine, "test:skip").script([*TO_LAST_QUESTION, "value:skip"])
    assert skipped[-2].state == "utile"
    assert skipped[-1].done
    assert await storage.feedback() == []
    rated = await Chat(engine, "test:no-word").script([*TO_LAST_QUESTION, "pas vraiment", "non"])
    assert [t.state for t in rated[-2:]] == ["un_mot", "ended"]
    assert [(r.rating, r.word) for r in await storage.feedback()] == [("no", None)]
    glad = await Chat(engine, "test:yes").script([*TO_LAST_QUESTION, "oui merci"])
    assert glad[-1].done  # « Oui »: no word asked, the conversation ends at once
    assert [r.rating for r in await storage.feedback()] == ["no", "yes"]


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_migration_0009_adds_the_table_and_takes_it_away(database_url: str) -> None:
    """A database at revision 0008 gets the table when the bot opens it; downgrading to 0008 removes it, upgrading
    again brings it back."""
    await table_round_trip(database_url, "feedback", "0008")
