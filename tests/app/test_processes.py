"""Several processes on one database, piece by piece: a chat's updates are handled in order whichever process
recorded them (the inbox decides, not timing); an update acknowledged by a process that then died is handled by
another; outbox rows are sent by the process holding their lease, and those of a dead process are taken over once.
The whole thing with real processes is tests/app/test_multiprocess.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.channels.telegram.limits import Limiter
from bot.channels.telegram.outbox import Outbox
from bot.config import Settings
from bot.storage import Outgoing, ReceivedUpdate, Storage
from tests.support.fake_telegram import FakeTelegram
from tests.support.telegram_harness import (
    SECRET,
    WEBHOOK_BASE,
    WEBHOOK_PATH,
    Person,
    RunningBot,
    bot_settings,
    free_port,
    is_question,
    running_bot,
)

CHANNEL = "telegram:test"


@asynccontextmanager
async def dying_process(database_url: str, channel: str, lease: float = 30.0) -> AsyncIterator[tuple[str, list[int]]]:
    """Another bot process that records each update it is given (and so acknowledges it, leased to itself for
    `lease` seconds) then dies before handling it: a webhook endpoint on loopback writing into the shared inbox,
    answering 200. Yields its URL and the update ids it took."""
    taken: list[int] = []
    storage = await Storage.open(database_url, owner="elsewhere:8080", lease=timedelta(seconds=lease))

    async def record(request: web.Request) -> web.Response:
        assert request.headers.get("X-Telegram-Bot-Api-Secret-Token") == SECRET
        payload: dict[str, Any] = await request.json()
        chat = (payload.get("message") or payload["callback_query"]["message"])["chat"]["id"]
        await storage.record_updates(channel, [ReceivedUpdate(payload["update_id"], chat, payload)])
        taken.append(payload["update_id"])
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/{tail:.*}", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", taken
    finally:
        await runner.cleanup()
        await storage.close()


class Switch:
    """Where the fake Telegram server's webhook posts go: the bot, or the dying process (a load balancer's
    choice, made by the test)."""

    def __init__(self, bot: str) -> None:
        self.bot = bot
        self.target = bot


async def switchboard(switch: Switch) -> tuple[web.AppRunner, int]:
    session = aiohttp.ClientSession()

    async def forward(request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with session.post(switch.target + request.path, data=await request.read(), headers=headers) as answer:
            return web.Response(status=answer.status, body=await answer.read(), content_type=answer.content_type)

    app = web.Application()
    app.router.add_post("/{tail:.*}", forward)
    app.on_cleanup.append(lambda _app: session.close())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


async def through(server: FakeTelegram, port: int) -> None:
    """Put the switchboard between Telegram and the bot: the webhook set again, as a deployment would."""
    server.webhook_rewrite = lambda url: url.replace(WEBHOOK_BASE, f"http://127.0.0.1:{port}")
    async with aiohttp.ClientSession() as http:
        payload = {"url": WEBHOOK_BASE + WEBHOOK_PATH, "secret_token": SECRET}
        async with http.post(f"{server.api_url}{server.token}/setWebhook", json=payload) as answer:
            assert answer.status == 200, await answer.text()


@asynccontextmanager
async def bot_behind_switch(
    server: FakeTelegram, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[RunningBot, Switch]]:
    """The bot in webhook mode, Telegram's posts reaching it through the switchboard (pointed at it)."""
    settings = webhook_settings(server, database_url, tmp_path)
    switch = Switch(f"http://127.0.0.1:{settings.port}")
    runner, port = await switchboard(switch)
    try:
        async with running_bot(server, settings) as bot:
            await through(server, port)
            assert isinstance(bot.app.storage, Storage)
            yield bot, switch
    finally:
        await runner.cleanup()


def channel_of(server: FakeTelegram) -> str:
    return f"telegram:{server.token.partition(':')[0]}"


def webhook_settings(server: FakeTelegram, database_url: str, tmp_path: Path) -> Settings:
    settings = bot_settings(server, tmp_path / "unused.db", webhook=True)
    return Settings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": server.token,
            "TELEGRAM_API_URL": server.api_url,
            "DATABASE_URL": database_url,
            "DATA_KEY": "dGVzdC1rZXktb2YtcGFzc2VyZWxsZS1wcm9jZXNzZXM=",
            "HOST": "127.0.0.1",
            "PORT": str(settings.port),
            "FLOWS_DIR": str(settings.flows_dir),
            "CATALOGUE_DIR": str(settings.catalogue_dir),
            "WEBHOOK_URL": settings.webhook_url or "",
            "WEBHOOK_SECRET": SECRET,
        }
    )


async def test_an_earlier_update_recorded_by_another_process_is_handled_first(
    database_url: str, tmp_path: Path
) -> None:
    """A person types two answers; the first reaches another process, which records it (Telegram sees it
    acknowledged) and dies; the second reaches this one. This process handles the first answer, then the second,
    at once (not after the orphan sweep): the conversation has both answers at the right questions."""
    async with FakeTelegram() as server, bot_behind_switch(server, database_url, tmp_path) as (bot, switch):
        person = Person(server.user(7101, "Odette"), timeout=20)
        await person.play(["/start", "value:self", "value:family_contact"])
        async with dying_process(database_url, channel_of(server)) as (dead_url, taken):
            switch.target = dead_url
            mark = person.user.chat.activity
            await person.user.send("un smartphone")
            for _ in range(100):
                if taken:
                    break
                await asyncio.sleep(0.02)
            assert taken, "the dying process never got the first answer"
            assert person.user.chat.activity == mark  # recorded, acknowledged, not handled
            switch.target = switch.bot
            await person.user.send("tous les jours")
            await person.user.wait_for(
                lambda u: "Comment vous sentez-vous" in (u.last.text or "") and is_question(u), 5.0
            )  # well before the dead process's lease on the first answer runs out (30 s)
        record = await bot.app.storage.load_conversation("telegram:7101")
    assert record is not None
    assert (record.data["answers"]["equipment"], record.data["answers"]["usage_frequency"]) == (["smartphone"], "daily")


async def test_an_update_left_by_a_dead_process_is_handled_by_another(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An answer recorded (acknowledged) by a process that died, and nothing more from that person: once that
    process's lease on it has run out, a living process takes it over and answers it, once."""
    monkeypatch.setattr("bot.channels.telegram.receiving.SWEEP_EVERY", 0.2)
    async with FakeTelegram() as server, bot_behind_switch(server, database_url, tmp_path) as (bot, switch):
        person = Person(server.user(7102, "Paul"), timeout=20)
        await person.play(["/start"])
        async with dying_process(database_url, channel_of(server), lease=1.5) as (dead_url, taken):
            switch.target = dead_url
            mark = person.user.chat.activity
            await person.press_value("self")
            await asyncio.sleep(1.0)
            assert person.user.chat.activity == mark  # its lease still runs: nobody else touches it
            await person.user.wait_for(lambda u: u.chat.activity > mark and is_question(u), 10.0)
            assert taken
        await asyncio.sleep(0.6)  # a few more sweeps: nothing handled twice
        record = await bot.app.storage.load_conversation("telegram:7102")
    assert record is not None
    assert record.data["answers"]["for_whom"] == "self"
    questions = [m.text for m in person.user.messages if m.reply_markup]
    assert len(questions) == len(set(questions)), questions


def message(chat_id: int, text: str) -> Outgoing:
    return Outgoing(chat_id, "sendMessage", {"chat_id": chat_id, "text": text})


async def two_processes(database_url: str, lease: float) -> tuple[Storage, Storage]:
    first = await Storage.open(database_url, owner="host:8081", lease=timedelta(seconds=lease))
    second = await Storage.open(database_url, owner="host:8082", lease=timedelta(seconds=lease))
    return first, second


async def test_a_living_process_keeps_its_messages_and_a_dead_ones_are_adopted_once(database_url: str) -> None:
    """Rows written by one process are its own while its lease runs (another process starting does not send
    them); renewed, they stay its own; once the lease runs out (the process died) one other process adopts them,
    in order, and the first one, if it was only stalled, learns they are no longer its own."""
    first, second = await two_processes(database_url, lease=1.0)
    try:
        rows = await first.queue_outgoing(CHANNEL, [message(1, "A"), message(1, "B"), message(2, "C")])
        assert await second.adopt_outgoing(CHANNEL, own_too=True) == []
        await asyncio.sleep(0.6)
        assert await first.renew_outgoing([r.id for r in rows]) == [r.id for r in rows]
        await asyncio.sleep(0.6)
        assert await second.adopt_outgoing(CHANNEL) == []  # renewed: still held
        await asyncio.sleep(1.1)
        adopted = await second.adopt_outgoing(CHANNEL)
        assert [(r.chat_id, r.params["text"]) for r in adopted] == [(1, "A"), (1, "B"), (2, "C")]
        assert await second.adopt_outgoing(CHANNEL) == []
        assert await first.renew_outgoing([r.id for r in rows]) == []  # not its own any more
        restarted = await Storage.open(database_url, owner="host:8082")
        try:  # the same process restarted takes its rows up at once
            assert len(await restarted.adopt_outgoing(CHANNEL, own_too=True)) == 3
        finally:
            await restarted.close()
    finally:
        await first.close()
        await second.close()


async def test_processes_adopting_at_the_same_moment_share_the_rows_without_overlap(database_url: str) -> None:
    """Orphaned rows (no lease) adopted by four processes at once: every row goes to exactly one of them."""
    writer = await Storage.open(database_url, owner=None)
    adopters = [await Storage.open(database_url, owner=f"host:{9000 + i}") for i in range(4)]
    try:
        async with writer.transaction() as tx:
            tx.owner = None  # rows with no owner: written by an older version, or orphaned
            await tx.queue_outgoing(CHANNEL, [message(i % 7, f"m{i}") for i in range(200)])
        results = await asyncio.gather(*(a.adopt_outgoing(CHANNEL) for a in adopters))
        ids = [row.id for result in results for row in result]
        assert len(ids) == 200
        assert len(set(ids)) == 200
    finally:
        await writer.close()
        for adopter in adopters:
            await adopter.close()


class Sender:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def __call__(self, row: Any) -> None:
        self.sent.append(row.params["text"])


async def test_an_outbox_starting_sends_only_what_no_living_process_holds(database_url: str) -> None:
    """A second process starting its outbox does not send the messages the first one wrote and is sending (they
    would reach the person twice); it sends those of a process that died, once their lease ran out."""
    first, second = await two_processes(database_url, lease=0.5)
    try:
        held = await first.queue_outgoing(CHANNEL, [message(1, "du premier")])
        async with second.transaction() as tx:
            tx.owner = "host:dead"
            await tx.queue_outgoing(CHANNEL, [message(2, "d'un processus arrêté")])
        await asyncio.sleep(0.6)
        await first.renew_outgoing([r.id for r in held])
        sender = Sender()
        outbox = Outbox(second, CHANNEL, sender, Limiter(None), maintenance_every=0.1)
        await outbox.start()
        await outbox.drain(2.0)
        await outbox.close()
        assert sender.sent == ["d'un processus arrêté"]
    finally:
        await first.close()
        await second.close()


async def test_an_update_is_marked_handled_by_one_handling_only(database_url: str) -> None:
    """Two processes handling the same update at once (one caught it up from the inbox): the second to mark it
    handled is told so (and rolls its turn back), so its effects count once."""
    first, second = await two_processes(database_url, lease=30)
    try:
        await first.record_updates(CHANNEL, [ReceivedUpdate(1, 5, {"update_id": 1})])
        async with first.transaction() as tx:
            assert await tx.finish_update(CHANNEL, 1) is True
        async with second.transaction() as tx:
            assert await tx.finish_update(CHANNEL, 1) is False
        assert await second.pending_updates(CHANNEL) == []
    finally:
        await first.close()
        await second.close()


class HeldUp:
    """A sender whose first call waits until released (a slow Telegram, a busy process)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.release = asyncio.Event()

    async def __call__(self, row: Any) -> None:
        if not self.sent:
            await self.release.wait()
        self.sent.append(row.params["text"])


async def test_a_message_held_up_past_its_lease_is_not_sent_once_another_process_took_it(database_url: str) -> None:
    """A process stalls so long that the lease on a message waiting in its queue runs out, and another process
    adopts it: the first one checks its lease before sending and leaves it to the other, instead of both sending
    it. The call it had under way completes."""
    first, second = await two_processes(database_url, lease=0.6)
    try:
        rows = await first.queue_outgoing(CHANNEL, [message(1, "A"), message(1, "B")])
        sender = HeldUp()
        outbox = Outbox(first, CHANNEL, sender, Limiter(None), maintenance_every=60)
        await outbox.start()
        outbox.push(rows)
        await asyncio.sleep(0.8)  # "A" is held up at Telegram; "B" waits behind it, its lease runs out
        adopted = await second.adopt_outgoing(CHANNEL)
        # "A"'s lease ran out too, while its call was under way: the other process sends it again (a call held up
        # longer than the lease is the one case of a message sent twice by two living processes).
        assert [r.params["text"] for r in adopted] == ["A", "B"]
        sender.release.set()
        await outbox.drain(2.0)
        await outbox.close()
        assert sender.sent == ["A"]
    finally:
        await first.close()
        await second.close()
