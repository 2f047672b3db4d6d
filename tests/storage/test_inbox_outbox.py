"""The channels' inbox (updates recorded before they are acknowledged) and outbox (calls kept until made), on
both SQLite paths (the fast per-turn one and SQLAlchemy Core), on PostgreSQL and in memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from bot.storage import Storage
from bot.storage.memory import MemoryStorage
from bot.storage.records import Outgoing, ReceivedUpdate
from bot.storage.tables import inbox
from tests.conftest import every_storage_path

CHANNEL = "telegram:123456"
OTHER = "telegram:654321"

# Known bugs of the SQLAlchemy Core path (bot/storage/core.py), outside this change: see each test.

Store = Storage | MemoryStorage


@pytest.fixture(params=["sqlite-fast", "sqlite-core", "postgresql", "memory"])
def store_kind(request: pytest.FixtureRequest, sqlite_url: str) -> tuple[str, str]:
    """Which store, and its database URL (a fresh PostgreSQL database, or a SQLite file)."""
    if request.param == "postgresql":
        return request.param, str(request.getfixturevalue("postgres_url"))
    return request.param, sqlite_url


@pytest.fixture
async def store(store_kind: tuple[str, str]) -> AsyncIterator[Store]:
    """SQLite through the fast path and through Core, PostgreSQL (Core), and MemoryStorage."""
    kind, url = store_kind
    if kind == "memory":
        yield MemoryStorage()
        return
    storage = await Storage.open(url, fast_sqlite=kind == "sqlite-fast")
    yield storage
    await storage.close()


def received(update_id: int, chat_id: int = 42, text: str = "bonjour") -> ReceivedUpdate:
    payload = {
        "update_id": update_id,
        "message": {"message_id": update_id, "chat": {"id": chat_id, "type": "private"}, "text": text},
    }
    return ReceivedUpdate(update_id, chat_id, payload)


async def test_record_updates_returns_only_updates_not_seen_before(store: Store) -> None:
    """An update recorded earlier is not returned again (a redelivery), while new ones are, in the given order."""
    assert await store.record_updates(CHANNEL, [received(10), received(11)]) == [received(10), received(11)]
    assert await store.record_updates(CHANNEL, [received(11), received(12), received(10)]) == [received(12)]
    assert await store.record_updates(CHANNEL, [received(12)]) == []
    assert await store.record_updates(CHANNEL, []) == []


async def test_an_update_repeated_within_one_call_is_returned_once(
    store: Store,
) -> None:
    """The same update_id twice in one batch (a redelivery inside one getUpdates answer) is new only once."""
    assert await store.record_updates(CHANNEL, [received(20), received(21), received(20)]) == [
        received(20),
        received(21),
    ]


async def test_update_ids_are_per_channel(store: Store) -> None:
    """The same update_id from another bot (channel) is a different update: new, and pending on its own."""
    await store.record_updates(CHANNEL, [received(30)])
    assert await store.record_updates(OTHER, [received(30, chat_id=7)]) == [received(30, chat_id=7)]
    assert await store.pending_updates(CHANNEL) == [received(30)]
    assert await store.pending_updates(OTHER) == [received(30, chat_id=7)]


async def test_pending_updates_are_recorded_but_unfinished_in_update_id_order(store: Store) -> None:
    """pending_updates lists what was recorded and not finished, by update_id whatever the recording order,
    payloads intact (unicode included); a finished update is no longer listed."""
    await store.record_updates(CHANNEL, [received(7, text="Où est l'atelier ? 😊"), received(3)])
    await store.record_updates(CHANNEL, [received(5), received(9)])
    async with store.transaction() as tx:
        await tx.finish_update(CHANNEL, 5)
    assert await store.pending_updates(CHANNEL) == [received(3), received(7, text="Où est l'atelier ? 😊"), received(9)]
    async with store.transaction() as tx:
        await tx.finish_update(CHANNEL, 3)
        await tx.finish_update(CHANNEL, 9)
    assert [u.update_id for u in await store.pending_updates(CHANNEL)] == [7]


async def test_a_finished_update_is_still_recognised_as_a_repeat(store: Store) -> None:
    """A finished update stays known: delivered once more, it is not handled again."""
    await store.record_updates(CHANNEL, [received(40)])
    async with store.transaction() as tx:
        await tx.finish_update(CHANNEL, 40)
    assert await store.record_updates(CHANNEL, [received(40)]) == []
    assert await store.pending_updates(CHANNEL) == []


@every_storage_path
async def test_finish_update_erases_the_payload_in_the_table(database_url: str, fast_sqlite: bool) -> None:
    """Finishing an update erases its (personal) payload in the table itself: SQL NULL, with done_at set; an
    unfinished update keeps its payload."""
    storage = await Storage.open(database_url, fast_sqlite=fast_sqlite)
    try:
        await storage.record_updates(CHANNEL, [received(50, text="06 12 34 56 78"), received(51)])
        async with storage.transaction() as tx:
            await tx.finish_update(CHANNEL, 50)
    finally:
        await storage.close()
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            erased = (
                await connection.execute(
                    select(inbox.c.update_id).where(
                        inbox.c.channel == CHANNEL, inbox.c.payload.is_(None), inbox.c.done_at.is_not(None)
                    )
                )
            ).scalars()
            assert list(erased) == [50]
            kept = (await connection.execute(select(inbox.c.payload).where(inbox.c.update_id == 51))).scalar_one()
            assert kept == received(51).payload
    finally:
        await engine.dispose()


@every_storage_path
async def test_an_update_recorded_by_two_processes_at_once_is_new_for_one(database_url: str, fast_sqlite: bool) -> None:
    """Two processes recording overlapping batches at the same moment (a webhook redelivery reaching another
    process): each update is new for exactly one of them, and recorded once."""
    storages = [await Storage.open(database_url, fast_sqlite=fast_sqlite) for _ in range(2)]
    try:
        for start in range(0, 100, 10):
            batches = [
                [received(n) for n in range(start, start + 10)],
                [received(n) for n in range(start + 9, start - 1, -1)],
            ]
            new = await asyncio.gather(*(s.record_updates(CHANNEL, b) for s, b in zip(storages, batches, strict=True)))
            ids = [u.update_id for u in new[0]] + [u.update_id for u in new[1]]
            assert sorted(ids) == list(range(start, start + 10))
        assert [u.update_id for u in await storages[1].pending_updates(CHANNEL)] == list(range(100))
    finally:
        for storage in storages:
            await storage.close()


async def test_finish_update_forgets_the_payload_in_memory() -> None:
    """In memory, a finished update keeps no payload either (only that it was seen)."""
    store = MemoryStorage()
    await store.record_updates(CHANNEL, [received(60, text="06 12 34 56 78")])
    async with store.transaction() as tx:
        await tx.finish_update(CHANNEL, 60)
    assert store.inbox == {(CHANNEL, 60): None}


PARAMS: list[dict[str, Any]] = [
    {"chat_id": 42, "text": "Bonjour « Jeanne » — ça va ? 😊 &lt;b&gt;", "parse_mode": "HTML"},
    {
        "chat_id": 42,
        "text": "Où habitez-vous ?",
        "reply_markup": {
            "keyboard": [[{"text": "📍 Envoyer ma position", "request_location": True}], [{"text": "Je ne sais pas"}]],
            "one_time_keyboard": True,
        },
        "link_preview_options": {"is_disabled": True},
    },
    {"chat_id": -1001234567890, "latitude": 45.76012, "longitude": -4.8, "extra": [1, 2.5, None, False, "é", []]},
]


async def test_queued_calls_come_back_in_order_with_their_params(store: Store) -> None:
    """queue_outgoing gives increasing ids (across calls too); pending_outgoing lists the channel's rows by id,
    with params round-tripping through JSON unchanged (nested objects, lists, unicode, null, booleans)."""
    first = await store.queue_outgoing(CHANNEL, [Outgoing(p["chat_id"], "sendMessage", p) for p in PARAMS[:2]])
    await store.queue_outgoing(OTHER, [Outgoing(1, "sendMessage", {"chat_id": 1, "text": "autre bot"})])
    second = await store.queue_outgoing(CHANNEL, [Outgoing(PARAMS[2]["chat_id"], "sendLocation", PARAMS[2])])
    rows = [*first, *second]
    ids = [row.id for row in rows]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3
    pending = await store.pending_outgoing(CHANNEL)
    assert pending == rows
    assert [(r.chat_id, r.method, r.params) for r in pending] == [
        (42, "sendMessage", PARAMS[0]),
        (42, "sendMessage", PARAMS[1]),
        (-1001234567890, "sendLocation", PARAMS[2]),
    ]
    assert [r.params["text"] for r in await store.pending_outgoing(OTHER)] == ["autre bot"]


async def test_delete_outgoing_removes_exactly_the_given_rows(store: Store) -> None:
    """delete_outgoing removes the rows given (sent ones) and keeps the others; an empty list does nothing."""
    rows = await store.queue_outgoing(CHANNEL, [Outgoing(42, "sendMessage", {"text": str(n)}) for n in range(5)])
    await store.delete_outgoing([rows[0].id, rows[3].id])
    assert await store.pending_outgoing(CHANNEL) == [rows[1], rows[2], rows[4]]
    await store.delete_outgoing([])
    assert len(await store.pending_outgoing(CHANNEL)) == 3
    await store.delete_outgoing([r.id for r in rows])
    assert await store.pending_outgoing(CHANNEL) == []


class TurnFailed(Exception):
    pass


async def failed_turn(store: Store, work: Callable[[Any], Awaitable[None]]) -> None:
    """A transaction doing `work`, then failing."""
    async with store.transaction() as tx:
        await work(tx)
        raise TurnFailed


async def test_a_failed_transaction_leaves_neither_replies_nor_a_finished_update(store: Store) -> None:
    """A turn that fails after queueing its replies and finishing its update leaves neither: no rows to send,
    and the update still pending with its payload (to be handled again)."""
    await store.record_updates(CHANNEL, [received(70, text="Lyon")])

    async def reply_and_finish(tx: Any) -> None:
        await tx.queue_outgoing(CHANNEL, [Outgoing(42, "sendMessage", {"text": "Voici des lieux"})])
        await tx.finish_update(CHANNEL, 70)

    with pytest.raises(TurnFailed):
        await failed_turn(store, reply_and_finish)
    assert await store.pending_outgoing(CHANNEL) == []
    assert await store.pending_updates(CHANNEL) == [received(70, text="Lyon")]
    # and the same work committed goes through whole
    async with store.transaction() as tx:
        queued = await tx.queue_outgoing(CHANNEL, [Outgoing(42, "sendMessage", {"text": "Voici des lieux"})])
        await tx.finish_update(CHANNEL, 70)
    assert await store.pending_outgoing(CHANNEL) == queued
    assert await store.pending_updates(CHANNEL) == []


async def test_updates_recorded_in_a_failed_transaction_are_new_again(store: Store) -> None:
    """An update recorded in a transaction that then failed was never recorded: it is new the next time."""
    recorded: list[ReceivedUpdate] = []

    async def record(tx: Any) -> None:
        recorded.extend(await tx.record_updates(CHANNEL, [received(80)]))

    with pytest.raises(TurnFailed):
        await failed_turn(store, record)
    assert recorded == [received(80)]
    assert await store.pending_updates(CHANNEL) == []
    assert await store.record_updates(CHANNEL, [received(80)]) == [received(80)]
