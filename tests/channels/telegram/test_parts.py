"""The Telegram channel's moving parts, each alone: the rate limiter (on a fake clock), the per-key ordered
queues, and the outbox sending stored rows through a recording fake `send` on a real SQLite storage."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import types
from collections import defaultdict

import pytest

import bot.channels.telegram.limits as limits_module
import bot.channels.telegram.outbox as outbox_module
from bot.channels.ordered import KeyedQueues
from bot.channels.telegram.limits import Limiter, RateLimits
from bot.channels.telegram.outbox import Outbox, RetryLater, Undeliverable
from bot.core.backoff import Backoff
from bot.storage import Storage
from bot.storage.records import Outgoing, OutgoingRow

REAL_SLEEP = asyncio.sleep


# ----- the limiter, on a fake clock ---------------------------------------------------------------------------
class FakeClock:
    """Time that passes only when the limiter sleeps. A sleeper wakes no earlier than it asked (sleepers that
    started together wake together, not one after the other)."""

    def __init__(self) -> None:
        self.now = 10_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        wake_at = self.now + delay
        await REAL_SLEEP(0)  # let the other tasks run (and start their own sleeps) first
        self.now = max(self.now, wake_at)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A fake clock for the limiter, whose sleeps advance it instead of waiting."""
    fake = FakeClock()
    monkeypatch.setattr(limits_module, "asyncio", types.SimpleNamespace(sleep=fake.sleep, Lock=asyncio.Lock))
    return fake


def most_in_a_window(times: list[float], period: float) -> int:
    """The largest number of events within any `period` (an event at t + period is in the next window, as
    Telegram counts and as the limiter's windows do)."""
    ordered = sorted(times)
    start, best = 0, 0
    for end, moment in enumerate(ordered):
        while ordered[start] <= moment - period:
            start += 1
        best = max(best, end - start + 1)
    return best


async def acquire_in_turn(limiter: Limiter, clock: FakeClock, chat_id: int, count: int) -> list[float]:
    """One chat's sender: its messages one after the other, as the outbox sends them."""
    times = []
    for _ in range(count):
        await limiter.acquire(chat_id)
        times.append(clock())
    return times


async def test_limiter_windows_hold_for_chats_groups_and_overall(clock: FakeClock) -> None:
    """240 acquisitions across 50 chats (48 private, 2 groups), concurrently: never more than 3 in any 3 s for
    a private chat, 20 in any 60 s for a group, 30 in any second overall; and each limit did bind."""
    limiter = Limiter(RateLimits(), clock=clock)
    chats = {chat_id: 4 for chat_id in range(1, 49)} | {-1001: 24, -1002: 24}  # 192 + 48 = 240
    results = await asyncio.gather(*(acquire_in_turn(limiter, clock, c, n) for c, n in chats.items()))
    times = dict(zip(chats, results, strict=True))
    assert sum(len(t) for t in times.values()) == 240
    for chat_id, moments in times.items():
        if chat_id > 0:
            assert most_in_a_window(moments, 3.0) <= 3
        else:
            assert most_in_a_window(moments, 60.0) == 20
            assert max(moments) - min(moments) >= 60.0  # 24 messages into a group take more than a minute
    assert max(most_in_a_window(times[chat_id], 3.0) for chat_id in range(1, 49)) == 3
    every = [t for moments in times.values() for t in moments]
    assert most_in_a_window(every, 1.0) == 30  # full speed, never more


async def test_limiter_per_chat_burst_then_waits_for_the_window(clock: FakeClock) -> None:
    """A chat sends 3 messages at once (spaced by 1/30 s, the overall pace); a 4th asked 2.6 s later waits
    until the first leaves the 3-second window (0.4 s more); a 5th then waits for the second one, a 6th for
    the third."""
    limiter = Limiter(RateLimits(), clock=clock)
    times = await acquire_in_turn(limiter, clock, 42, 3)
    clock.now += 2.6
    times += await acquire_in_turn(limiter, clock, 42, 3)
    step = 1 / 30
    assert times == pytest.approx([10_000 + d for d in (0, step, 2 * step, 3, 3 + step, 3 + 2 * step)])
    assert clock.sleeps == pytest.approx([step, step, 3 - 2.6 - 2 * step, step, step])


async def test_a_group_gets_20_messages_a_minute(clock: FakeClock) -> None:
    """A negative chat id (a group) takes 20 messages at once, then the 21st waits a minute; a private chat
    with the same number is not held."""
    limiter = Limiter(RateLimits(per_chat=(100, 3.0), overall=(1000, 1.0)), clock=clock)
    group = await acquire_in_turn(limiter, clock, -4001, 21)
    assert group[:20] == pytest.approx([10_000.0] * 20, abs=0.05)  # spaced by the overall pace of 1 ms
    assert group[20] == pytest.approx(10_060.0)
    private = await acquire_in_turn(limiter, clock, 4001, 21)
    assert private == pytest.approx([10_060.0] * 21, abs=0.05)


async def test_limiter_holds_across_many_chats_and_forgetting_idle_ones(clock: FakeClock) -> None:
    """Past 1000 acquisitions the limiter forgets idle chats' windows: with 1200 acquisitions across 300 chats
    waiting on one another, no chat ever exceeds 3 in 3 s and the bot 30 in 1 s."""
    limiter = Limiter(RateLimits(), clock=clock)
    chats = list(range(1, 301))
    results = await asyncio.gather(*(acquire_in_turn(limiter, clock, c, 4) for c in chats))
    assert all(most_in_a_window(moments, 3.0) <= 3 for moments in results)
    assert most_in_a_window([t for moments in results for t in moments], 1.0) <= 30


async def test_a_chat_waiting_while_its_window_is_forgotten_keeps_its_limit(clock: FakeClock) -> None:
    """A chat queued behind a pause while the limiter forgets idle windows (every 1000th acquisition) must not
    lose the message it then sends: 3 more at once right after would make 4 in 3 s."""
    limiter = Limiter(RateLimits(per_chat=(3, 3.0), overall=(100_000, 1.0)), clock=clock)
    chat = 7
    await limiter.acquire(chat)  # acquisition 1
    for other in range(1000, 1998):  # acquisitions 2 to 999, on other chats
        await limiter.acquire(other)
    limiter.pause(10.0)  # a 429: everyone waits at the gate behind the first one in
    first_in = asyncio.create_task(limiter.acquire(5000))  # acquisition 1000, then idle windows are forgotten
    waiting = asyncio.create_task(acquire_in_turn(limiter, clock, chat, 4))  # its window idle for 10 s by then
    await first_in
    moments = await waiting
    assert most_in_a_window(moments, 3.0) <= 3
    assert moments[0] >= 10_010.0


async def test_pause_delays_every_chat(clock: FakeClock) -> None:
    """After pause(s) (Telegram's retry_after), no chat, private or group, gets through before s seconds."""
    limiter = Limiter(RateLimits(), clock=clock)
    await limiter.acquire(1)
    limiter.pause(5.0)
    results = await asyncio.gather(*(acquire_in_turn(limiter, clock, c, 1) for c in (1, 2, 3, -100)))
    assert all(moments[0] >= 10_005.0 for moments in results)


async def test_no_limits_never_wait_except_for_pauses(clock: FakeClock) -> None:
    """Limiter(None) lets 500 messages into one chat at once without sleeping; a pause still holds it."""
    limiter = Limiter(None, clock=clock)
    moments = await acquire_in_turn(limiter, clock, 1, 500)
    assert moments == [10_000.0] * 500
    assert clock.sleeps == []
    limiter.pause(2.5)
    assert await acquire_in_turn(limiter, clock, 2, 1) == [10_002.5]
    assert clock.sleeps == [2.5]


# ----- KeyedQueues ----------------------------------------------------------------------------------------------
async def test_items_of_one_key_are_handled_strictly_in_order() -> None:
    """Items of a key are handled one at a time, in the order put, even when each takes a random time; keys
    interleave freely."""
    rng = random.Random(7)
    handled: dict[str, list[int]] = defaultdict(list)
    busy: dict[str, int] = defaultdict(int)
    overlaps = 0

    async def handle(item: tuple[str, int]) -> None:
        nonlocal overlaps
        key, n = item
        busy[key] += 1
        overlaps += busy[key] > 1
        await asyncio.sleep(rng.uniform(0, 0.002))
        handled[key].append(n)
        busy[key] -= 1

    queues: KeyedQueues[tuple[str, int]] = KeyedQueues(handle, name="test")
    for n in range(20):
        for key in ("a", "b", "c", "d", "e"):
            queues.put(key, (key, n))
    assert len(queues) == 100
    assert await queues.join(5.0)
    assert dict(handled) == {key: list(range(20)) for key in "abcde"}
    assert overlaps == 0
    assert len(queues) == 0
    assert queues.active_keys == 0


async def test_different_keys_run_concurrently() -> None:
    """20 keys with one item of 50 ms each take far less than the 1 s they would take one after the other."""

    async def handle(item: int) -> None:
        await asyncio.sleep(0.05)

    queues: KeyedQueues[int] = KeyedQueues(handle, name="test")
    started = time.perf_counter()
    for key in range(20):
        queues.put(key, key)
    assert queues.active_keys == 20
    assert await queues.join(2.0)
    assert time.perf_counter() - started < 0.4


async def test_the_concurrency_cap_holds() -> None:
    """With concurrency=4, never more than 4 handlers run at once (and 4 do, so the cap is what limits)."""
    running = 0
    most = 0

    async def handle(item: int) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.005)
        running -= 1

    queues: KeyedQueues[int] = KeyedQueues(handle, concurrency=4, name="test")
    for key in range(20):
        queues.put(key, key)
        queues.put(key, key + 100)
    assert await queues.join(2.0)
    assert most == 4


async def test_a_failing_item_is_logged_and_the_next_one_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    """An exception from the handler is logged (with the queue's name) and the key's next item is handled."""
    handled: list[str] = []

    async def handle(item: str) -> None:
        if item == "bad":
            raise ValueError("boom")
        handled.append(item)

    queues: KeyedQueues[str] = KeyedQueues(handle, name="test queue")
    with caplog.at_level(logging.ERROR, logger="bot.channels.ordered"):
        for item in ("first", "bad", "after"):
            queues.put("chat", item)
        assert await queues.join(1.0)
    assert handled == ["first", "after"]
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "test queue" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)


async def test_join_returns_false_on_timeout_then_true_when_done() -> None:
    """join(within) is False while an item is still in hand after `within` seconds, True once all are done;
    with nothing queued it returns True at once."""
    release = asyncio.Event()

    async def handle(item: int) -> None:
        await release.wait()

    queues: KeyedQueues[int] = KeyedQueues(handle, name="test")
    assert await queues.join(0.01)
    queues.put(1, 1)
    assert not await queues.join(0.02)
    assert len(queues) == 1
    release.set()
    assert await queues.join(1.0)
    assert len(queues) == 0


async def test_close_cancels_workers_and_refuses_new_items() -> None:
    """close() cancels the handlers in progress at once and forgets the queued items; put() then fails."""
    cancelled: list[int] = []
    started = asyncio.Event()

    async def handle(item: int) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(item)
            raise

    queues: KeyedQueues[int] = KeyedQueues(handle, name="test")
    queues.put("k", 1)
    queues.put("k", 2)
    await asyncio.wait_for(started.wait(), 1.0)
    await asyncio.wait_for(queues.close(), 1.0)
    assert cancelled == [1]
    assert queues.active_keys == 0
    assert len(queues) == 0
    assert await queues.join(0.01)
    with pytest.raises(RuntimeError, match="closed"):
        queues.put("k", 3)


# ----- the outbox -----------------------------------------------------------------------------------------------
CHANNEL = "test:1"


class Sender:
    """A fake `send`: records each attempt (chat, text, time) and fails as planned for given texts."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.attempts: list[tuple[int, str, float]] = []
        self.sent: list[tuple[int, str, float]] = []
        self.plans: dict[str, list[Exception]] = {}
        self.always_fail: set[str] = set()
        self.rng = rng
        self.attempted = asyncio.Event()

    async def __call__(self, row: OutgoingRow) -> None:
        text = row.params["text"]
        self.attempts.append((row.chat_id, text, time.monotonic()))
        self.attempted.set()
        if self.rng is not None:
            await asyncio.sleep(self.rng.uniform(0, 0.002))
        if text in self.always_fail:
            raise RetryLater("HTTP 502")
        plan = self.plans.get(text)
        if plan:
            raise plan.pop(0)
        self.sent.append((row.chat_id, text, time.monotonic()))

    def texts(self, chat_id: int) -> list[str]:
        return [text for chat, text, _ in self.sent if chat == chat_id]

    def times(self, text: str) -> list[float]:
        return [moment for _, t, moment in self.attempts if t == text]


def message(chat_id: int, text: str) -> Outgoing:
    return Outgoing(chat_id, "sendMessage", {"chat_id": chat_id, "text": text})


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(outbox_module, "SEND_BACKOFF", Backoff(0.02, outbox_module.SEND_BACKOFF.cap))
    monkeypatch.setattr(outbox_module, "FLUSH_BACKOFF", Backoff(0.02, outbox_module.FLUSH_BACKOFF.cap))
    return 0.02


async def test_outbox_sends_each_chat_in_order_and_deletes_sent_rows(sqlite_storage: Storage) -> None:
    """Rows of 3 chats, interleaved, are each chat's in id order (sends taking random times), and are gone
    from the database once drained."""
    calls = [message(chat, f"{chat}-{n}") for n in range(6) for chat in (1, 2, 3)]
    rows = await sqlite_storage.queue_outgoing(CHANNEL, calls)
    assert len(await sqlite_storage.pending_outgoing(CHANNEL)) == 18
    sender = Sender(random.Random(3))
    outbox = Outbox(sqlite_storage, CHANNEL, sender, Limiter(None))
    outbox.push(rows)
    assert await outbox.drain(5.0)
    for chat in (1, 2, 3):
        assert sender.texts(chat) == [f"{chat}-{n}" for n in range(6)]
    assert outbox.sent == 18
    assert await sqlite_storage.pending_outgoing(CHANNEL) == []
    await outbox.close()


async def test_retry_later_is_retried_with_backoff_keeping_the_chat_order(
    sqlite_storage: Storage, fast_backoff: float
) -> None:
    """A send failing twice with RetryLater is retried after growing waits and sent once; the chat's next row
    waits for it, while another chat goes on meanwhile."""
    rows = await sqlite_storage.queue_outgoing(CHANNEL, [message(1, "A"), message(1, "B"), message(2, "C")])
    sender = Sender()
    sender.plans["A"] = [RetryLater("HTTP 502"), RetryLater("timeout")]
    outbox = Outbox(sqlite_storage, CHANNEL, sender, Limiter(None))
    outbox.push(rows)
    assert await outbox.drain(5.0)
    assert sender.texts(1) == ["A", "B"]
    assert [t for _, t, _ in sender.sent].count("A") == 1
    first, second, third = sender.times("A")
    assert second - first >= fast_backoff * 0.9
    assert third - second >= 2 * fast_backoff * 0.9  # the wait doubles
    assert min(sender.times("B")) >= third  # B only after A went through
    assert sender.times("C")[0] < third  # the other chat did not wait for A
    assert (outbox.retries, outbox.sent, outbox.dropped) == (2, 3, 0)
    assert await sqlite_storage.pending_outgoing(CHANNEL) == []
    await outbox.close()


async def test_a_flood_limit_pauses_every_chat(sqlite_storage: Storage) -> None:
    """RetryLater(everything=True, delay) pauses the other chats too: nothing is sent before the delay."""
    [row_a] = await sqlite_storage.queue_outgoing(CHANNEL, [message(1, "A")])
    sender = Sender()
    sender.plans["A"] = [RetryLater("429", 0.15, everything=True)]
    outbox = Outbox(sqlite_storage, CHANNEL, sender, Limiter(None))
    outbox.push([row_a])
    await asyncio.wait_for(sender.attempted.wait(), 1.0)
    refused_at = sender.times("A")[0]
    await REAL_SLEEP(0.01)  # the 429 has been handled: the limiter is paused
    outbox.push(await sqlite_storage.queue_outgoing(CHANNEL, [message(2, "C")]))
    assert await outbox.drain(5.0)
    assert sender.times("C")[0] - refused_at >= 0.15 * 0.9
    assert sender.times("A")[1] - refused_at >= 0.15 * 0.9
    assert sorted(t for _, t, _ in sender.sent) == ["A", "C"]
    await outbox.close()


async def test_an_undeliverable_row_is_dropped_and_the_next_goes_on(sqlite_storage: Storage) -> None:
    """Undeliverable (blocked by the person): the row is dropped (counted, deleted) and the chat's next row is
    sent."""
    rows = await sqlite_storage.queue_outgoing(CHANNEL, [message(1, "A"), message(1, "B")])
    sender = Sender()
    sender.plans["A"] = [Undeliverable("Forbidden: bot was blocked by the user")]
    outbox = Outbox(sqlite_storage, CHANNEL, sender, Limiter(None))
    outbox.push(rows)
    assert await outbox.drain(5.0)
    assert sender.texts(1) == ["B"]
    assert len(sender.times("A")) == 1  # not retried
    assert (outbox.sent, outbox.dropped) == (1, 1)
    assert await sqlite_storage.pending_outgoing(CHANNEL) == []
    await outbox.close()


async def test_start_sends_rows_left_by_a_previous_run(sqlite_storage: Storage) -> None:
    """Rows left in the database by an earlier run (of this channel only) are sent by start(), in order, then
    deleted."""
    await sqlite_storage.queue_outgoing(CHANNEL, [message(1, "old 1"), message(2, "old 2"), message(1, "old 3")])
    await sqlite_storage.queue_outgoing("other:9", [message(1, "not ours")])
    sender = Sender()
    outbox = Outbox(sqlite_storage, CHANNEL, sender, Limiter(None))
    await outbox.start()
    assert await outbox.drain(5.0)
    assert sender.texts(1) == ["old 1", "old 3"]
    assert sender.texts(2) == ["old 2"]
    assert await sqlite_storage.pending_outgoing(CHANNEL) == []
    assert len(await sqlite_storage.pending_outgoing("other:9")) == 1
    await outbox.close()


async def test_close_while_sends_fail_keeps_unsent_rows(sqlite_storage: Storage, fast_backoff: float) -> None:
    """close() while a chat's sends keep failing: its rows stay in the database for the next start, while a row
    sent before closing is deleted."""
    sender = Sender()
    sender.always_fail.add("A")
    outbox = Outbox(sqlite_storage, CHANNEL, sender, Limiter(None))
    await outbox.start()  # nothing left from before; deletes sent rows in the background
    outbox.push(await sqlite_storage.queue_outgoing(CHANNEL, [message(1, "A"), message(1, "B"), message(2, "C")]))
    assert not await outbox.drain(0.1)
    assert len(sender.times("A")) >= 2  # retried meanwhile
    await asyncio.wait_for(outbox.close(), 1.0)
    assert sender.texts(1) == []
    assert sender.texts(2) == ["C"]
    assert [(r.chat_id, r.params["text"]) for r in await sqlite_storage.pending_outgoing(CHANNEL)] == [
        (1, "A"),
        (1, "B"),
    ]


class StuckFirstDeletion:
    """A storage whose first deletion of sent rows hangs (a busy database) until cancelled; later ones work."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.lease = storage.lease
        self.deleting = asyncio.Event()
        self.deletions = 0

    async def adopt_outgoing(self, channel: str, *, own_too: bool = False) -> list[OutgoingRow]:
        return await self.storage.adopt_outgoing(channel, own_too=own_too)

    async def renew_outgoing(self, ids: list[int]) -> list[int]:
        return await self.storage.renew_outgoing(ids)

    async def delete_outgoing(self, ids: list[int]) -> None:
        self.deletions += 1
        if self.deletions == 1:
            self.deleting.set()
            await asyncio.Event().wait()
        await self.storage.delete_outgoing(ids)


async def test_close_during_a_deletion_still_deletes_sent_rows(
    sqlite_storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """close() while the background deletion of sent rows hangs on the database: after a short grace it is
    cancelled, and the rows sent are still deleted by close's last flush, not sent again at the next start."""
    store = StuckFirstDeletion(sqlite_storage)
    sender = Sender()
    outbox = Outbox(store, CHANNEL, sender, Limiter(None))
    await outbox.start()
    outbox.push(await sqlite_storage.queue_outgoing(CHANNEL, [message(1, "A"), message(2, "B")]))
    await asyncio.wait_for(store.deleting.wait(), 1.0)  # the flusher is stuck in its deletion
    monkeypatch.setattr("bot.channels.telegram.outbox.CLOSE_GRACE", 0.2)
    await asyncio.wait_for(outbox.close(), 1.0)
    assert sorted(t for _, t, _ in sender.sent) == ["A", "B"]
    assert await sqlite_storage.pending_outgoing(CHANNEL) == []
