"""The conversation side of privacy: the notice before any answer is kept (and its acceptance recorded), what
/mesdonnees shows, what /oublier leaves behind (only anonymous statistics), and the web chat's own way in:
nothing stored before the person acts, « Mes données » and « Effacer mes données » on the page."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext, Page, expect

from bot.app.root import LoadedFlow
from bot.callbacks.desk import CallbackDesk
from bot.callbacks.queues import QueueSet
from bot.callbacks.rules import Actor
from bot.channels.telegram.channel import COMMANDS as TELEGRAM_MENU
from bot.channels.terminal import COMMANDS_HINT, TerminalChat, wrap
from bot.channels.web.chat import COOKIE
from bot.core.commands import COMMANDS
from bot.engine.engine import Engine
from bot.engine.privacy_dialogue import NOTICE_VERSION, PrivacyTerms, duration
from bot.places.offers import NoCatalogue
from bot.storage import Storage
from bot.storage.memory import MemoryStorage
from tests.conftest import Chat
from tests.support.browser import RunningServer

pytestmark = pytest.mark.asyncio(loop_scope="session")
KEY = "telegram:42"
MARIE = Actor("web:marie", "Marie D.", "dashboard")
# Columns of a callback request that say nothing about the person: what /oublier leaves for the statistics.
ANONYMOUS = {
    "id", "status", "queue", "persona", "moment", "consent_at", "consent_text", "created_at", "updated_at", "attempts",
    "claimed_by", "claimed_name", "claimed_at", "outcome", "resolved_at", "reminded_at", "post_chat_id",
    "post_message_id", "channel",
}  # fmt: skip


def text(turn: Any) -> str:
    return "\n".join(reply.text for reply in turn.replies)


def engine_on(
    loaded: LoadedFlow,
    storage: Storage | MemoryStorage,
    terms: PrivacyTerms | None = None,
    desk: CallbackDesk | None = None,
) -> Engine:
    return Engine(loaded.flow, loaded.personas, storage, NoCatalogue(), privacy=terms, callback_hook=desk)


def desk_on(loaded: LoadedFlow, storage: Storage) -> CallbackDesk:
    return CallbackDesk(
        storage,
        QueueSet.only_default(),
        lambda key, for_whom=None, called=None: loaded.flow.messages[key].pick(for_whom, called),
    )


# ----- the notice -------------------------------------------------------------------------------------------
async def test_the_first_turn_informs_then_asks_for_whom_and_the_first_answer_records_the_acceptance(
    loaded: LoadedFlow,
) -> None:
    """/start: the welcome carries the notice (what is kept, why, the configured periods in words, who sees it,
    /mesdonnees and /oublier) before the for_whom question, which stays the turn's question; nothing is recorded as
    accepted until the person answers, then the acceptance is, with its moment and wording version."""
    storage = MemoryStorage()
    chat = Chat(engine_on(loaded, storage, PrivacyTerms(conversation_days=30, callback_days=14)), KEY)
    first = await chat.send("/start")
    said = text(first)
    assert (first.state, first.slot, [b.value for b in first.buttons]) == ("pour_qui", "for_whom", ["self", "relative"])
    for part in ("Vos réponses servent seulement", "1 mois", "2 semaines", "près de chez vous", "/mesdonnees",
                 "/oublier"):  # fmt: skip
        assert part in said, part
    assert said.index("/mesdonnees") < said.index("pour vous-même ou pour un proche")
    assert len(first.replies) == 2  # added to the welcome message, not one more message to read
    stored = await storage.load_conversation(KEY)
    assert stored is not None
    notice = stored.data["privacy"]["notice"]
    assert notice["version"] == NOTICE_VERSION
    assert "accepted_at" not in notice
    before = datetime.fromisoformat(notice["shown_at"])
    answered = await chat.send("value:self")
    assert answered.state == "envies"
    assert "/mesdonnees" not in text(answered)  # said once
    stored = await storage.load_conversation(KEY)
    assert stored is not None
    accepted = stored.data["privacy"]["notice"]
    assert accepted["version"] == NOTICE_VERSION
    assert datetime.fromisoformat(accepted["accepted_at"]) >= before
    assert stored.data["answers"] == {"for_whom": "self"}


async def test_the_notice_is_said_once_per_conversation_and_again_after_erasure(loaded: LoadedFlow) -> None:
    """Starting again (/start, or a message after /stop) keeps what the person was told and agreed to, so the notice
    is not repeated; once everything is erased (/oublier), the next conversation is informed again."""
    storage = MemoryStorage()
    chat = Chat(engine_on(loaded, storage), KEY)
    await chat.script(["bonjour", "value:self", "value:family_contact"])
    again = await chat.send("/start")
    assert again.state == "pour_qui"
    assert "/mesdonnees" not in text(again)
    stored = await storage.load_conversation(KEY)
    assert stored is not None
    assert "accepted_at" in stored.data["privacy"]["notice"]
    assert not stored.data.get("answers")  # the answers are forgotten, not the acceptance
    await chat.script(["/stop"])
    assert "/mesdonnees" not in text(await chat.send("bonjour"))
    await chat.script(["/oublier", "value:yes"])
    assert await storage.load_conversation(KEY) is None
    assert "/mesdonnees" in text(await chat.send("bonjour"))


async def test_retention_periods_are_said_in_words() -> None:
    """The configured periods as people say them."""
    assert [duration(d) for d in (1, 5, 7, 14, 30, 90, 180, 365, 730, 45)] == [
        "1 jour", "5 jours", "1 semaine", "2 semaines", "1 mois", "3 mois", "6 mois", "1 an", "2 ans", "45 jours",
    ]  # fmt: skip


# ----- /mesdonnees ------------------------------------------------------------------------------------------
async def test_my_data_shows_answers_callback_consent_and_erasure_then_the_same_question(
    loaded: LoadedFlow, sqlite_url: str
) -> None:
    """/mesdonnees: the answers with the words of the buttons chosen, the callback request (its state in words, the
    number, the moment, when consent was given, when it will be erased), when the notice was accepted, when the
    answers will be erased; then the question the person stood on, with nothing changed. After a mediator takes the
    request, its state says so."""
    storage = await Storage.open(sqlite_url)
    try:
        desk = desk_on(loaded, storage)
        engine = engine_on(loaded, storage, PrivacyTerms(conversation_days=180, callback_days=90), desk)
        await engine.start()
        chat = Chat(engine, KEY)
        await chat.script(["bonjour", "value:self", "value:family_contact,leisure", "/humain", "value:yes",
                           "06 47 19 83 52", "value:afternoon", "Rose"])  # fmt: skip
        asked = await chat.send("value:smartphone")
        assert asked.state == "frequence"
        shown = await chat.send("/mesdonnees")
        said = shown.replies[0].text
        for part in ("Voici ce que je garde sur vous", "Pour qui : Pour moi",
                     "Envies : Garder le contact avec la famille, Les loisirs", "Un smartphone",
                     "Information sur vos données acceptée le", "Demande de rappel du", "en attente d'un appel",
                     "06 47 19 83 52", "l'après-midi", "Prénom : Rose.", "Accord pour ce rappel donné le",
                     "/oublier"):  # fmt: skip
            assert part in said, part
        assert said.count("seront effacées le") == 2  # the request (90 days), the answers (180 days)
        assert (shown.state, shown.slot) == ("frequence", "usage_frequency")
        assert shown.replies[-1].text == asked.replies[-1].text
        stored = await storage.load_conversation(KEY)
        assert stored is not None
        assert stored.data["answers"]["equipment"] == ["smartphone"]
        [row] = await storage.callbacks_for(KEY)
        consent = stored.data["privacy"]["callbacks"][row.id]
        assert consent["version"] == "callback-v1"
        await desk.claim(row.id, MARIE)
        assert "une personne va vous appeler" in (await chat.send("/mesdonnees")).replies[0].text
        assert (await chat.send("value:daily")).state == "aisance"  # the conversation simply goes on
    finally:
        await storage.close()


async def test_my_data_before_anything_is_kept_says_so_and_begins(loaded: LoadedFlow) -> None:
    """/mesdonnees as the very first message: nothing is kept, said plainly, then the conversation begins (with the
    notice and the first question)."""
    turn = await Chat(engine_on(loaded, MemoryStorage()), KEY).send("/mesdonnees")
    assert turn.replies[0].text == loaded.flow.messages["my_data_nothing"].pick(None)
    assert turn.state == "pour_qui"
    assert "/oublier" in text(turn)


async def test_every_command_list_names_my_data(loaded: LoadedFlow) -> None:
    """/mesdonnees is a command of the engine (so the web API accepts it), of Telegram's menu, of the help and of
    the unknown-command answer."""
    assert "/mesdonnees" in COMMANDS
    assert "mesdonnees" in [name for name, _ in TELEGRAM_MENU]
    for key in ("help", "unknown_command", "privacy_notice"):
        assert "/mesdonnees" in loaded.flow.messages[key].pick(None), key


async def test_the_terminal_chat_names_my_data_and_answers_it(loaded: LoadedFlow) -> None:
    """`python -m bot chat` lists /mesdonnees among the commands when it opens, and answers it."""
    out = io.StringIO()
    chat = TerminalChat(engine_on(loaded, MemoryStorage()), io.StringIO("/mesdonnees\n"), out)
    await chat.run_human()
    shown = out.getvalue()
    assert shown.startswith(wrap(COMMANDS_HINT, chat.width))
    assert "/mesdonnees" in COMMANDS_HINT
    assert loaded.flow.messages["my_data_nothing"].pick(None) in shown


# ----- /oublier ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fast_sqlite", [True, False], ids=["sqlite-fast", "sqlite-core"])
async def test_forget_leaves_only_anonymous_statistics(loaded: LoadedFlow, tmp_path: Path, fast_sqlite: bool) -> None:
    """/oublier after a callback a mediator took and annotated: the conversation is gone; the request stays, cancelled,
    with only anonymous columns filled (queue, profile, state, moments…): every other column, today's and any added
    later, is empty; the audit trail keeps no note; /mesdonnees then finds nothing."""
    database = tmp_path / "forget.db"
    storage = await Storage.open(f"sqlite+aiosqlite:///{database}", fast_sqlite=fast_sqlite)
    try:
        desk = desk_on(loaded, storage)
        engine = engine_on(loaded, storage, desk=desk)
        await engine.start()
        chat = Chat(engine, KEY)
        await chat.script(["bonjour", "value:relative", "value:admin_procedures", "value:basic_phone", "value:refuses",
                           "value:health,money", "value:80_plus", "value:yes", "/humain", "value:yes", "value:relative",
                           "value:child", "+33612345678", "value:morning", "Zéphirine"])  # fmt: skip
        [row] = await storage.callbacks_for(KEY)
        await desk.claim(row.id, MARIE)
        await desk.add_note(row.id, MARIE, "Rappeler Mme Zéphirine au 06 12 34 56 78")
        await chat.script(["/oublier", "value:yes"])
        assert (await chat.send("/mesdonnees")).replies[0].text == loaded.flow.messages["my_data_nothing"].pick(None)
    finally:
        await storage.close()
    with sqlite3.connect(database) as db:
        db.row_factory = sqlite3.Row
        conversations = db.execute("SELECT key, data FROM conversations").fetchall()
        # /mesdonnees began a new conversation, with nothing in it yet
        assert [(r["key"], json.loads(r["data"]).get("answers")) for r in conversations] == [(KEY, {})]
        [kept] = [dict(r) for r in db.execute("SELECT * FROM callbacks WHERE id = ?", (row.id,))]
        notes = [r[0] for r in db.execute("SELECT note FROM callback_events WHERE callback_id = ?", (row.id,))]
    assert {name: value for name, value in kept.items() if name not in ANONYMOUS and value is not None} == {}
    statistics = (kept["status"], kept["queue"], kept["persona"], kept["moment"])
    assert statistics == ("cancelled", "default", "refractaire", "morning")
    assert kept["claimed_by"] == MARIE.id  # who worked on it: the mediators' activity, not the person's data
    assert notes
    assert all(note is None for note in notes)


# ----- the web chat ---------------------------------------------------------------------------------------------
@pytest_asyncio.fixture(loop_scope="session")
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


def stored_keys(server: RunningServer) -> list[str]:
    database = server.app.settings.database_url.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(database) as db:
        return [r[0] for r in db.execute("SELECT key FROM conversations")]


async def post(client: aiohttp.ClientSession, server: RunningServer, body: dict[str, Any]) -> dict[str, Any]:
    async with client.post(f"{server.url}/api/chat", json=body) as response:
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer


async def test_web_arrival_stores_nothing_and_the_first_answer_begins_the_conversation(
    client: aiohttp.ClientSession, web_server: RunningServer
) -> None:
    """GET /api/chat without a cookie shows the welcome with the notice and the first question, but stores no
    conversation and sets no cookie; answering its question (a button, or typed text) sets the cookie and begins the
    conversation there, the notice counted as read."""
    for _ in range(2):  # reloading changes nothing either
        async with client.get(f"{web_server.url}/api/chat") as response:
            assert response.status == 200
            assert COOKIE not in response.cookies
            welcome = await response.json()
    # The notice comes apart from the welcome's text (the page folds it), naming the page's buttons.
    [notice] = [r["notice"] for r in welcome["replies"] if r["notice"]]
    assert "« Mes données »" in notice
    assert "« Mes données »" not in "\n".join(r["text"] for r in welcome["replies"])
    assert welcome["state"] == "pour_qui"
    assert stored_keys(web_server) == []
    answered = await post(client, web_server, {"value": "self", "context": welcome["question"]})
    assert answered["state"] == "envies"
    assert not [r for r in answered["replies"] if r["notice"] or "« Mes données »" in r["text"]]  # said once
    assert [key.startswith("web:") for key in stored_keys(web_server)] == [True]
    storage = web_server.app.storage
    stored = await storage.load_conversation(stored_keys(web_server)[0])
    assert stored is not None
    assert stored.data["answers"] == {"for_whom": "self"}
    assert "accepted_at" in stored.data["privacy"]["notice"]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        async with other.get(f"{web_server.url}/api/chat") as response:
            shown = await response.json()
        typed = await post(other, web_server, {"text": "pour ma mère", "context": shown["question"]})
        assert typed["state"] == "envies"
        assert "votre proche" in typed["replies"][-1]["text"]
        stale = await post(other, web_server, {"text": "bonjour", "context": "000000"})
        assert stale["state"] == "envies"  # typed text is read against the current question, whatever the page
    assert len(stored_keys(web_server)) == 2


async def test_web_my_data_then_erase_then_nothing_is_stored(
    client: aiohttp.ClientSession, web_server: RunningServer
) -> None:
    """The page's « Mes données » and « Effacer mes données » send /mesdonnees and /oublier through the JSON API:
    the answers are shown, then erased after confirmation (the page is told so), the conversation row is gone,
    and coming back shows the welcome without storing anything."""
    async with client.get(f"{web_server.url}/") as response:
        page = await response.text()
    assert 'data-command="/mesdonnees">Mes données</button>' in page
    assert 'data-command="/oublier">Effacer mes données</button>' in page
    async with client.get(f"{web_server.url}/api/chat") as response:
        welcome = await response.json()
    await post(client, web_server, {"value": "relative", "context": welcome["question"]})
    mine = await post(client, web_server, {"command": "/mesdonnees"})
    assert "Pour un proche" in mine["replies"][0]["text"]
    confirm = await post(client, web_server, {"command": "/oublier"})
    assert [b["value"] for b in confirm["replies"][-1]["buttons"]] == ["yes", "no"]
    erased = await post(client, web_server, {"value": "yes", "context": confirm["question"]})
    assert erased["done"] is True
    assert "effacées" in erased["replies"][0]["text"]
    assert stored_keys(web_server) == []
    async with client.get(f"{web_server.url}/api/chat") as response:
        again = await response.json()
    assert again["state"] == "pour_qui"
    assert stored_keys(web_server) == []


async def test_the_page_shows_my_data_and_erases_it(page: Page, browser_context: BrowserContext) -> None:
    """In Chromium: after an answer, « Mes données » shows it in words, and « Effacer mes données », confirmed,
    says everything was erased."""
    await page.goto("/")
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    # The notice, folded under « Ce que nous gardons », names the page's buttons rather than the commands.
    await expect(page.locator(".message.bot .kept").first).to_contain_text("« Mes données »")
    await page.locator('#choices button[data-value="self"]').click()
    await expect(page.locator("#choices button.toggle").first).to_be_visible()
    await page.get_by_role("button", name="Mes données", exact=True).click()
    await expect(page.locator(".message.bot", has_text="Voici ce que je garde sur vous")).to_contain_text("Pour moi")
    await page.get_by_role("button", name="Effacer mes données", exact=True).click()
    await page.locator('#choices button[data-value="yes"]').click()
    await expect(page.locator(".message.bot").last).to_contain_text("ont été effacées")
    assert [c for c in await browser_context.cookies() if c["name"] == COOKIE]  # the page goes on working
