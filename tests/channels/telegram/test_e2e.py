"""The Telegram channel end to end: the real bot (python-telegram-bot inside `bot.app.server.serve`, a real SQLite
file) against the fake Bot API server on loopback, in polling and in webhook mode."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.channels.telegram.channel import TELEGRAM_LIMITS
from bot.channels.telegram.mapping import decode_button
from bot.core.errors import StorageError
from bot.storage import Storage
from tests.support.fake_telegram import FakeTelegram, Fault, Limits
from tests.support.telegram_harness import (
    SECRET,
    Person,
    bot_settings,
    is_question,
    running_bot,
    whole_conversation,
)

MODES = ["polling", "webhook"]


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def outgoing_texts(person: Person) -> list[str]:
    return [m.text or "" for m in person.user.messages]


async def stored_state(storage: object, chat_id: int) -> tuple[str, dict[str, object]]:
    assert isinstance(storage, Storage)
    record = await storage.load_conversation(f"telegram:{chat_id}")
    assert record is not None
    return record.state, record.data


@pytest.mark.parametrize("mode", MODES)
async def test_whole_conversations_of_several_personas(server: FakeTelegram, tmp_path: Path, mode: str) -> None:
    """Six people, one per persona, talk to the bot at once from the first message to a recorded callback
    (buttons, several-choice ticks edited in place, a typed postcode, the phone shared by Telegram's button) and
    « Oui » to the last question: each ends classified right, with one callback request and one rating, and every
    button press was answered."""
    settings = bot_settings(server, tmp_path / "bot.db", webhook=mode == "webhook")
    personas = ["refractaire", "novice_curieux", "sans_reperes", "timide", "melancolique", "modere"]
    async with running_bot(server, settings) as bot:
        people = {p: Person(server.user(2000 + i, "Jeanne")) for i, p in enumerate(personas)}
        plays = (person.play([*whole_conversation(p), "value:yes"], ends=True) for p, person in people.items())
        await asyncio.gather(*plays)  # to the callback, then « Oui » to the last question
        for index, (persona, person) in enumerate(people.items()):
            await person.user.wait_for(lambda u: "Merci d'avoir pris ce temps" in (u.last.text or ""), 10)
            state, data = await stored_state(bot.app.storage, 2000 + index)
            assert state == "ended"
            assert data["persona"]["id"] == persona
            texts = outgoing_texts(person)
            assert "une personne vous appellera" in texts[-3]
            assert "vous a été utile" in texts[-2]
            callbacks = await bot.app.storage.callbacks_for(f"telegram:{2000 + index}")
            assert [(c.phone, c.moment, c.persona, c.first_name) for c in callbacks] == [
                ("+33612345678", "morning", persona, "Jeanne")
            ]
        assert [r.rating for r in await bot.app.storage.feedback()] == ["yes"] * len(personas)
    assert server.unanswered_callback_queries() == []
    assert all(call.status == 200 for call in server.calls if call.method != "getUpdates")
    if mode == "webhook":
        assert server.calls_of("setWebhook")[-1].params["allowed_updates"] == [
            "message",
            "edited_message",
            "callback_query",
        ]
        assert not server.calls_of("getUpdates")


async def test_wrong_webhook_secret_is_refused_and_not_processed(server: FakeTelegram, tmp_path: Path) -> None:
    """A POST to the webhook without the secret header, or with a wrong one, gets 401 and changes nothing; the
    right secret gets 200 and the update is answered."""
    settings = bot_settings(server, tmp_path / "bot.db", webhook=True)
    update = {
        "update_id": 777,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": 4242, "type": "private", "first_name": "Intrus"},
            "from": {"id": 4242, "is_bot": False, "first_name": "Intrus"},
            "text": "bonjour",
        },
    }
    user = server.user(4242, "Intrus")
    async with running_bot(server, settings) as bot, aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{settings.port}/telegram/webhook"
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {"X-Telegram-Bot-Api-Secret-Token": ""}):
            async with http.post(url, json=update, headers=headers) as response:
                assert response.status == 401
        await asyncio.sleep(0.3)
        assert user.messages == []
        assert await bot.app.storage.load_conversation("telegram:4242") is None
        async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
            assert response.status == 200
        await user.wait_for(lambda u: bool(u.messages), 10)


@pytest.mark.parametrize("mode", MODES)
async def test_every_update_delivered_twice_is_answered_once(server: FakeTelegram, tmp_path: Path, mode: str) -> None:
    """Telegram redelivers (same update_id): each message and each press gets exactly one answer."""
    server.duplicate_updates = True
    settings = bot_settings(server, tmp_path / "bot.db", webhook=mode == "webhook")
    async with running_bot(server, settings) as bot:
        person = Person(server.user(3001, "Paul"))
        await person.play(["/start", "value:self", "value:family_contact", "value:basic_phone"])
        await asyncio.sleep(0.5)  # time for the repeats to arrive and be ignored
        state, data = await stored_state(bot.app.storage, 3001)
    assert state == "attitude"
    assert data["answers"]["equipment"] == ["basic_phone"]
    questions = [m.text for m in person.user.messages]
    assert len(questions) == len(set(questions)), questions  # no question asked twice
    if mode == "webhook":
        delivered = [d.update_id for d in server.deliveries if d.status == 200]
        assert len(delivered) > len(set(delivered))  # the fake really did deliver twice


async def test_a_burst_of_messages_is_answered_in_order(server: FakeTelegram, tmp_path: Path) -> None:
    """Three messages typed before the bot answers: handled one after the other, in order, each answer read
    against the question it followed, and the questions come back in the same order."""
    settings = bot_settings(server, tmp_path / "bot.db")
    async with running_bot(server, settings) as bot:
        user = server.user(3101, "Rose")
        await user.send("bonjour")
        await user.send("pour moi")
        await user.send("garder le contact avec mes proches")
        await wait_for_state(bot.app.storage, 3101, "appareils")
        _, data = await stored_state(bot.app.storage, 3101)
        await user.wait_for(lambda u: "Quels appareils" in (u.last.text or ""), 10)
    assert data["answers"]["for_whom"] == "self"
    assert data["answers"]["goals"] == ["family_contact"]
    texts = [m.text or "" for m in user.messages]
    order = [
        next(i for i, t in enumerate(texts) if marker in t)
        for marker in ("pour vous-même", "Pour commencer", "Quels appareils")
    ]
    assert order == sorted(order)


async def wait_for_state(storage: object, chat_id: int, state: str, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while True:
        assert isinstance(storage, Storage)
        record = await storage.load_conversation(f"telegram:{chat_id}")
        if record is not None and record.state == state:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"conversation {chat_id} at {record.state if record else None}, expected {state}")
        await asyncio.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
async def test_two_hundred_people_at_once_all_complete(server: FakeTelegram, tmp_path: Path, mode: str) -> None:
    """200 people start at the same moment and answer five questions each: every one of them gets every answer,
    in order, and their answers are all stored."""
    settings = bot_settings(server, tmp_path / "bot.db", webhook=mode == "webhook")
    script = ["/start", "value:relative", "value:family_contact", "value:smartphone", "value:weekly"]
    async with running_bot(server, settings) as bot:
        people = [Person(server.user(10_000 + i, f"P{i}"), timeout=60) for i in range(200)]
        await asyncio.gather(*(p.play(script) for p in people))
        for i in range(0, 200, 20):
            _, data = await stored_state(bot.app.storage, 10_000 + i)
            assert data["answers"]["usage_frequency"] == "weekly"
            assert data["answers"]["for_whom"] == "relative"
    assert server.unanswered_callback_queries() == []


async def test_restart_mid_conversation_continues_at_the_same_question(server: FakeTelegram, tmp_path: Path) -> None:
    """The bot stops in the middle of a conversation; the person answers while it is away; it starts again on
    the same database: the answer is read against the question it followed, and the person goes on."""
    settings = bot_settings(server, tmp_path / "bot.db")
    person = Person(server.user(3201, "Lucien"))
    async with running_bot(server, settings):
        await person.play(["/start", "value:self", "value:admin_procedures"])
    assert "Quels appareils" in (person.user.last.text or "")
    await person.user.send("un smartphone")
    async with running_bot(server, settings) as bot:
        await person.user.wait_for(lambda u: "internet" in (u.last.text or "") and is_question(u), 15)
        await person.play(["value:daily"])
        state, data = await stored_state(bot.app.storage, 3201)
    assert data["answers"]["goals"] == ["admin_procedures"]
    assert data["answers"]["equipment"] == ["smartphone"]
    assert data["answers"]["usage_frequency"] == "daily"
    assert state == "aisance"


async def test_unreadable_messages_stale_buttons_and_groups(server: FakeTelegram, tmp_path: Path) -> None:
    """A photo, a voice note, a sticker, a document and an edited message each get the kind sentence and the
    question again; a button of an earlier question is recognised as such; the bot stays silent in a group."""
    settings = bot_settings(server, tmp_path / "bot.db")
    async with running_bot(server, settings) as bot:
        person = Person(server.user(3301, "Odette"))
        await person.play(["/start"])
        first_question = person.user.last
        assert first_question is not None
        before = person.user.chat.activity
        typed = await person.user.send("bonjour encore")
        await person.user.wait_for(lambda u: u.chat.activity > before and u.last.reply_markup, 10)

        async def edit_typed() -> object:
            return await person.user.edit(typed["message"]["message_id"], "bonjour, corrigé")

        acts = (person.user.send_photo, person.user.send_voice, person.user.send_sticker, person.user.send_document)
        for act in (*acts, edit_typed):
            before = person.user.chat.activity
            await act()
            await person.user.wait_for(lambda u, b=before: u.chat.activity > b and u.last.reply_markup, 10)
            assert "Je ne sais lire que les messages écrits" in person.user.messages[-2].text
            assert person.user.last.text == first_question.text
        await person.play(["value:self"])
        old = next(
            b["text"]
            for row in first_question.reply_markup["inline_keyboard"]
            for b in row
            if decode_button(b["callback_data"])[1] == "relative"
        )
        before = person.user.chat.activity
        await person.user.press(old, message_id=first_question.message_id)
        await person.user.wait_for(lambda u: u.chat.activity > before and u.last.reply_markup, 10)
        assert any("question précédente" in m.text for m in person.user.messages[-3:])
        _, data = await stored_state(bot.app.storage, 3301)
        assert data["answers"]["for_whom"] == "self"
        group = server.group(-100_500, "Voisins")
        await group.send(3301, "bonjour")
        await asyncio.sleep(0.5)
        assert group.messages == []
    assert server.unanswered_callback_queries() == []


async def test_shared_location_answers_the_place_question(server: FakeTelegram, tmp_path: Path) -> None:
    """At the place question, a share keyboard is shown; the shared position finds places nearby, each with
    a map button that sends the place's location."""
    settings = bot_settings(server, tmp_path / "bot.db")
    async with running_bot(server, settings):
        person = Person(server.user(3401, "Marcel"))
        await person.play(whole_conversation("timide")[:9])
        keyboard = person.user.reply_keyboard()
        assert keyboard is not None
        assert keyboard["keyboard"][0][0]["request_location"] is True
        await person.say("location:45.7578,4.8320")
        offers = [m for m in person.user.messages if "km" in (m.text or "")]
        assert offers
        assert person.user.reply_keyboard() is None  # taken away once answered
        before = len(server.calls_of("sendLocation"))
        await person.user.press("🗺 Voir sur la carte", message_id=offers[0].message_id)
        await person.user.wait_for(lambda u: len(server.calls_of("sendLocation")) > before, 10)


@pytest.mark.slow
async def test_a_429_storm_loses_nothing_and_limits_hold(tmp_path: Path) -> None:
    """With Telegram's limits enforced by the server (bursts of 3 then 1 message/s per chat, 30/s overall) and
    every message refused with 429 for two seconds: every person gets every reply, none twice, and the bot's
    own limiter never exceeds a limit."""
    async with FakeTelegram(limits=Limits()) as server:
        settings = bot_settings(server, tmp_path / "storm.db")
        async with running_bot(server, settings, limits=TELEGRAM_LIMITS) as bot:
            people = [Person(server.user(5000 + i, f"P{i}"), timeout=60) for i in range(12)]
            await asyncio.gather(*(p.play(["/start"]) for p in people))
            server.storm("429", 2.0, method="sendMessage", retry_after=1)
            await asyncio.gather(*(p.play(["value:self", "value:family_contact"]) for p in people))
            for i in range(12):
                state, _ = await stored_state(bot.app.storage, 5000 + i)
                assert state == "appareils"
        assert server.limit_violations == []
        assert any(call.status == 429 for call in server.calls_of("sendMessage"))
        for person in people:
            texts = outgoing_texts(person)
            assert len(texts) == len(set(texts)), texts
            assert "Quels appareils" in texts[-1]


async def test_server_errors_and_dropped_connections_are_retried(server: FakeTelegram, tmp_path: Path) -> None:
    """Telegram answers 500, drops the connection, or is slow for some sends: the bot retries with backoff and
    the person still gets every reply, in order, none missing."""
    settings = bot_settings(server, tmp_path / "bot.db")
    async with running_bot(server, settings):
        person = Person(server.user(3501, "Yvette"), timeout=30)
        await person.play(["/start"])
        server.inject(Fault("sendMessage", "500", count=2))
        server.inject(Fault("sendMessage", "drop", count=1))
        server.inject(Fault("editMessageText", "slow", count=1, delay=0.5))
        await person.play(["value:self", "value:family_contact"])
    statuses = [call.status for call in server.calls_of("sendMessage")]
    assert statuses.count(500) == 2
    assert 0 in statuses  # the dropped one
    texts = outgoing_texts(person)
    assert [t.split()[0] for t in texts if t.endswith("?") or "Valider" in t][-3:] == ["Vous", "Pour", "Quels"]


async def test_the_webhook_refuses_what_is_not_an_update(server: FakeTelegram, tmp_path: Path) -> None:
    """With the right secret, a body that is not JSON, JSON that is not an update, or another content type
    gets a clear 4xx, never a 500, and the bot keeps serving."""
    settings = bot_settings(server, tmp_path / "bot.db", webhook=True)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with running_bot(server, settings), aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{settings.port}/telegram/webhook"
        cases = [
            ({"data": b"{not json", "headers": headers | {"Content-Type": "application/json"}}, 400),
            ({"json": [1, 2, 3], "headers": headers}, 400),
            ({"json": {"update_id": "x"}, "headers": headers}, 400),
            (
                {"json": {"update_id": 9, "message": {"chat": {"type": "private"}, "text": "x"}}, "headers": headers},
                400,
            ),
            (
                {
                    "json": {"update_id": 9, "callback_query": {"message": {"chat": {"type": "private"}}}},
                    "headers": headers,
                },
                400,
            ),
            ({"json": {"update_id": 9, "message": {"text": "sans chat"}}, "headers": headers}, 200),  # ignored
            ({"data": b"update_id=1", "headers": headers | {"Content-Type": "text/plain"}}, 415),
            ({"data": b"x" * (2 * 1024 * 1024), "headers": headers | {"Content-Type": "application/json"}}, 413),
        ]
        for kwargs, status in cases:
            async with http.post(url, **kwargs) as response:
                assert response.status == status, kwargs
        person = Person(server.user(3601, "Henri"))
        await person.play(["/start", "value:self"])


async def test_an_update_the_database_cannot_record_is_refused_then_redelivered(
    server: FakeTelegram, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Webhook mode with the database refusing writes: Telegram's POST gets 503 (not acknowledged, so it is
    delivered again); once the database is back, the redelivered update is answered, once."""
    settings = bot_settings(server, tmp_path / "bot.db", webhook=True)
    async with running_bot(server, settings) as bot:
        person = Person(server.user(3701, "Irène"))
        await person.play(["/start"])
        storage = bot.channel.store
        original = storage.record_updates

        async def unavailable(*_args: object, **_kwargs: object) -> list[object]:
            raise StorageError("database error: OperationalError")

        monkeypatch.setattr(storage, "record_updates", unavailable)
        before = person.user.chat.activity
        await person.user.press("Pour moi")
        await asyncio.sleep(0.5)
        refused = [d for d in server.deliveries if d.status == 503]
        assert refused
        assert person.user.chat.activity == before  # not handled while it could not be recorded
        monkeypatch.setattr(storage, "record_updates", original)
        await person.user.wait_for(lambda u: u.chat.activity > before and is_question(u), 15)
        _, data = await stored_state(bot.app.storage, 3701)
    assert data["answers"]["for_whom"] == "self"
    assert [d.status for d in server.deliveries if d.update_id == refused[0].update_id][-1] == 200


async def test_search_elsewhere_and_keep_the_gathered_list(server: FakeTelegram, tmp_path: Path) -> None:
    """At the results (69003): « Chercher ailleurs » asks where and shows Villeurbanne's places, every other
    answer kept; a postcode typed at the results (38000) searches there too; « Garder la liste » then sends one
    message gathering the three places shown (names, addresses, phones), easy to forward, and the results'
    question comes back."""
    settings = bot_settings(server, tmp_path / "bot.db")
    async with running_bot(server, settings) as bot:
        person = Person(server.user(3501, "Odette"))
        await person.play(whole_conversation("timide")[:10])
        assert {"elsewhere", "keep"} <= set(person.values())
        _, before = await stored_state(bot.app.storage, 3501)

        await person.say("value:elsewhere")
        assert person.user.last is not None
        assert "Où voulez-vous chercher" in (person.user.last.text or "")
        mark = len(person.user.messages)
        await person.say("Villeurbanne")
        shown = outgoing_texts(person)[mark:]
        assert any("69100 Villeurbanne" in text for text in shown), shown
        assert any(text.startswith("Voici 3 lieux") for text in shown), shown
        state, data = await stored_state(bot.app.storage, 3501)
        assert state == "proposition"
        assert data["answers"]["location"] == "Villeurbanne"
        kept = {slot: value for slot, value in data["answers"].items() if slot != "location"}
        assert kept == {slot: value for slot, value in before["answers"].items() if slot != "location"}

        mark = len(person.user.messages)
        await person.say("38000")
        grenoble = outgoing_texts(person)[mark:]
        assert any("38000 Grenoble" in text for text in grenoble), grenoble

        mark = len(person.user.messages)
        await person.say("value:keep")
        new = outgoing_texts(person)[mark:]
        gathered = [text for text in new if text.startswith("Les lieux d'aide au numérique que je vous ai montrés")]
        assert len(gathered) == 1, new
        assert gathered[0].count("📍") == 3
        assert "38000 Grenoble" in gathered[0]
        assert "+33" not in gathered[0]
        assert "Villeurbanne" not in gathered[0]  # the list is of the places of the search in force
        state, _ = await stored_state(bot.app.storage, 3501)
        assert state == "proposition"
        assert "keep" in person.values()
    assert server.unanswered_callback_queries() == []
