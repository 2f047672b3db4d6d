"""The fake Telegram server behaves like the real Bot API, as seen by the real python-telegram-bot over HTTP."""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
import telegram
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.support.fake_telegram import FakeTelegram, Fault, Limits
from tests.support.fake_telegram.html import HtmlError, parse_html

YES_NO = InlineKeyboardMarkup(
    [[InlineKeyboardButton("Oui", callback_data="yes"), InlineKeyboardButton("Non merci", callback_data="no")]]
)


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    client = telegram.Bot(server.token, base_url=server.api_url, base_file_url=server.file_url)
    async with client:
        yield client


async def raw(server: FakeTelegram, method: str, *, token: str | None = None, http: str = "POST", **kwargs: Any) -> Any:
    """One HTTP call without PTB: (status, decoded JSON body)."""
    url = f"{server.base_url}/bot{token or server.token}/{method}"
    async with aiohttp.ClientSession() as session, session.request(http, url, **kwargs) as response:
        return response.status, await response.json()


async def eventually(predicate: Any, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


# -- transport, routing, decoding ------------------------------------------------------------------------------


async def test_get_me_returns_the_bot_user(server: FakeTelegram, bot: telegram.Bot) -> None:
    """getMe answers the bot's User object, which PTB parses; every call is recorded."""
    me = await bot.get_me()
    assert me.is_bot
    assert me.username == "passerelle_test_bot"
    assert me.id == 123456
    assert server.api_url.startswith("http://127.0.0.1:")
    assert [call.status for call in server.calls_of("getme")] == [200, 200]  # Bot.initialize() called it too


async def test_wrong_token_is_401_and_unknown_method_404(server: FakeTelegram) -> None:
    """A wrong token gets 401 Unauthorized, an unknown method 404 Not Found, with the real API's bodies."""
    assert await raw(server, "getMe", token="999:wrong") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert await raw(server, "sendTeleportation") == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    wrong = telegram.Bot("999:wrong", base_url=server.api_url)
    try:
        with pytest.raises(InvalidToken):
            await wrong.initialize()
    finally:
        await wrong.shutdown()


async def test_parameters_decode_from_json_query_string_and_multipart(server: FakeTelegram) -> None:
    """JSON bodies, query strings and multipart forms all decode to typed parameters; method names ignore case."""
    server.user(1001)
    markup = {"inline_keyboard": [[{"text": "Oui", "callback_data": "yes"}]]}
    status, body = await raw(server, "SENDMESSAGE", json={"chat_id": 1001, "text": "json", "reply_markup": markup})
    assert status == 200
    assert body["result"]["reply_markup"] == markup
    status, body = await raw(server, "sendMessage", http="GET", params={"chat_id": "1001", "text": "true"})
    assert status == 200
    assert body["result"]["text"] == "true"
    form = aiohttp.FormData({"chat_id": "1001", "text": "multi", "disable_notification": "true"})
    form.add_field("document", b"%PDF", filename="a.pdf", content_type="application/pdf")
    status, _ = await raw(server, "sendMessage", data=form)
    assert status == 200
    json_call, query_call, multipart_call = server.calls_of("sendMessage")
    assert json_call.params["reply_markup"] == markup
    assert json_call.chat_id == 1001
    assert query_call.params == {"chat_id": 1001, "text": "true"}
    assert multipart_call.params["disable_notification"] is True
    assert multipart_call.params["document"]["size"] == 4


async def test_everything_ptb_sends_decodes_to_typed_values(server: FakeTelegram, bot: telegram.Bot) -> None:
    """PTB's url-encoded strings come back as ints, floats, bools and JSON objects."""
    user = server.user(1001)
    first = await bot.send_message(1001, "Bonjour")
    await bot.send_message(
        1001,
        "Suite",
        disable_notification=True,
        reply_markup=YES_NO,
        link_preview_options=telegram.LinkPreviewOptions(is_disabled=True),
        reply_parameters=telegram.ReplyParameters(first.message_id),
    )
    await bot.send_location(1001, 45.76, 4.83)
    params = server.calls_of("sendMessage")[-1].params
    assert params["chat_id"] == 1001
    assert params["disable_notification"] is True
    assert params["reply_markup"]["inline_keyboard"][0][0] == {"text": "Oui", "callback_data": "yes"}
    assert params["link_preview_options"] == {"is_disabled": True}
    assert params["reply_parameters"] == {"message_id": first.message_id}
    assert server.calls_of("sendLocation")[0].params == {"chat_id": 1001, "latitude": 45.76, "longitude": 4.83}
    assert user.last is not None
    assert user.last.location == {"latitude": 45.76, "longitude": 4.83}


# -- sending and validation --------------------------------------------------------------------------------------


async def test_send_message_with_html_and_inline_keyboard_is_recorded(server: FakeTelegram, bot: telegram.Bot) -> None:
    """An HTML message with an inline keyboard is stored as plain text + raw HTML, with its buttons and entities."""
    user = server.user(1001, first_name="Jeanne")
    sent = await bot.send_message(1001, "<b>Bonjour</b> Jeanne &amp; 👋 <i>ça va ?</i>", "HTML", reply_markup=YES_NO)
    assert sent.text == "Bonjour Jeanne & 👋 ça va ?"
    assert sent.chat.first_name == "Jeanne"
    assert sent.from_user is not None
    assert sent.from_user.is_bot
    assert [(entity.type, entity.offset, entity.length) for entity in sent.entities] == [
        ("bold", 0, 7),
        ("italic", 20, 7),  # 👋 counts as two UTF-16 code units
    ]
    assert sent.reply_markup == YES_NO
    message = user.last
    assert message is not None
    assert message.html is not None
    assert message.html.startswith("<b>Bonjour")
    assert user.buttons() == ["Oui", "Non merci"]
    assert message.message_id == 1
    second = await bot.send_message(1001, "Encore")
    assert second.message_id == 2
    assert [m.text for m in user.messages] == [sent.text, "Encore"]


@pytest.mark.parametrize(
    ("kwargs", "description"),
    [
        ({"text": "x" * 4097}, "Bad Request: message is too long"),
        ({"text": "👍" * 2049}, "Bad Request: message is too long"),  # 4098 UTF-16 code units
        ({"text": "   \n "}, "Bad Request: message text is empty"),
        ({"text": "<b> </b>", "parse_mode": "HTML"}, "Bad Request: message text is empty"),
        ({"text": "<x>hi</x>", "parse_mode": "HTML"}, 'Unsupported start tag "x" at byte offset 0'),
        ({"text": "é <x>", "parse_mode": "HTML"}, 'Unsupported start tag "x" at byte offset 3'),
        ({"text": "<b>gras", "parse_mode": "HTML"}, 'Can\'t find end tag corresponding to start tag "b"'),
        ({"text": "<b><i>x</b></i>", "parse_mode": "HTML"}, 'expected "</i>", found "</b>"'),
        ({"text": "1 < 2", "parse_mode": "HTML"}, 'Unsupported start tag "" at byte offset 2'),
        ({"text": "Tom & Jerry", "parse_mode": "HTML"}, "can't parse entities: Character '&'"),
        ({"text": '<span class="x">s</span>', "parse_mode": "HTML"}, 'Tag "span" must have class "tg-spoiler"'),
        (
            {"text": "ok", "reply_markup": InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="é" * 33)]])},
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        (
            {"text": "ok", "reply_markup": {"inline_keyboard": [[{"text": "Sans action"}]]}},
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
        ),
        (
            {"text": "ok", "reply_markup": {"inline_keyboard": [{"text": "pas une rangée"}]}},
            'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays',
        ),
    ],
)
async def test_send_message_is_refused_like_the_real_api(
    server: FakeTelegram, bot: telegram.Bot, kwargs: dict[str, Any], description: str
) -> None:
    """Invalid texts, HTML and keyboards raise BadRequest with Telegram's description; nothing is stored."""
    user = server.user(1001)
    with pytest.raises(BadRequest):
        await bot.send_message(1001, **kwargs)
    call = server.calls_of("sendMessage")[-1]
    assert call.status == 400
    assert call.description is not None
    assert description in call.description
    assert user.messages == []


async def test_text_of_exactly_4096_code_units_is_accepted(server: FakeTelegram, bot: telegram.Bot) -> None:
    """The length limit is 4096 UTF-16 code units after entity parsing (tags do not count)."""
    server.user(1001)
    await bot.send_message(1001, "👍" * 2048)
    await bot.send_message(1001, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")


async def test_unknown_chat_and_blocked_user(server: FakeTelegram, bot: telegram.Bot) -> None:
    """A chat the server does not know is "chat not found"; a user who blocked the bot gives 403 Forbidden."""
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(4242, "Allô ?")
    server.user(1001).block()
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(1001, "Allô ?")


async def test_reply_keyboards_are_tracked_and_checked(server: FakeTelegram, bot: telegram.Bot) -> None:
    """A reply keyboard stays shown until removed; location/contact requests are refused outside private chats."""
    user = server.user(1001)
    keyboard = ReplyKeyboardMarkup([[KeyboardButton("Ma position", request_location=True)], ["Annuler"]])
    await bot.send_message(1001, "Où êtes-vous ?", reply_markup=keyboard)
    shown = user.reply_keyboard()
    assert shown is not None
    assert shown["keyboard"][0][0] == {"text": "Ma position", "request_location": True}
    assert user.last is not None
    assert user.last.reply_markup is None
    await bot.send_message(1001, "Merci", reply_markup=ReplyKeyboardRemove())
    assert user.reply_keyboard() is None
    server.group(-100200, title="Médiateurs")
    contact = ReplyKeyboardMarkup([[KeyboardButton("Mon numéro", request_contact=True)]])
    with pytest.raises(BadRequest, match=r"(?i)phone number can be requested in private chats only"):
        await bot.send_message(-100200, "Numéro ?", reply_markup=contact)


async def test_locations_and_venues_are_validated(server: FakeTelegram, bot: telegram.Bot) -> None:
    """sendLocation checks coordinate ranges; sendVenue also needs a title and an address."""
    user = server.user(1001)
    venue = await bot.send_venue(1001, 45.76, 4.83, "Médiathèque", "1 rue de la Paix")
    assert venue.venue is not None
    assert venue.venue.title == "Médiathèque"
    assert user.last is not None
    assert user.last.kind == "venue"
    with pytest.raises(BadRequest):
        await bot.send_location(1001, 91.0, 4.83)
    with pytest.raises(BadRequest):
        await bot.send_location(1001, 45.0, -180.5)
    venue_params = {"chat_id": 1001, "latitude": 45.76, "longitude": 4.83, "address": "1 rue de la Paix"}
    status, body = await raw(server, "sendVenue", json={**venue_params, "title": " "})
    assert (status, body["description"]) == (400, "Bad Request: invalid venue title specified")
    assert [message.kind for message in user.messages] == ["venue"]


async def test_commands_chat_actions_menu_button_close(server: FakeTelegram, bot: telegram.Bot) -> None:
    """setMyCommands / getMyCommands / deleteMyCommands round-trip; chat actions are recorded; close works."""
    server.user(1001)
    assert await bot.set_my_commands([("start", "Commencer"), ("aide", "Obtenir de l'aide")])
    assert [command.command for command in await bot.get_my_commands()] == ["start", "aide"]
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest):
        await bot.set_my_commands([("Pas Valide!", "x")])
    assert await bot.send_chat_action(1001, "typing")
    with pytest.raises(BadRequest):
        await bot.send_chat_action(1001, "dancing")
    assert server.chats[1001].actions == ["typing"]
    assert await bot.set_chat_menu_button(chat_id=1001, menu_button=telegram.MenuButtonCommands())
    assert await bot.log_out()
    assert await bot.close()


# -- edits and callback queries ----------------------------------------------------------------------------------


async def test_edits_update_the_message_and_refuse_no_op_edits(server: FakeTelegram, bot: telegram.Bot) -> None:
    """Edits change the stored message and are counted; an identical edit is "message is not modified"."""
    user = server.user(1001)
    sent = await bot.send_message(1001, "Question ?", reply_markup=YES_NO)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Question ?", chat_id=1001, message_id=sent.message_id, reply_markup=YES_NO)
    edited = await bot.edit_message_text("<i>Réponse</i>", chat_id=1001, message_id=sent.message_id, parse_mode="HTML")
    assert isinstance(edited, telegram.Message)
    assert edited.edit_date is not None
    message = user.message(sent.message_id)
    assert (message.text, message.edits, message.history) == ("Réponse", 1, ["Question ?"])
    assert message.reply_markup is None  # editMessageText without reply_markup removes the inline keyboard
    await bot.edit_message_reply_markup(chat_id=1001, message_id=sent.message_id, reply_markup=YES_NO)
    assert user.buttons() == ["Oui", "Non merci"]
    assert message.edits == 2
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(chat_id=1001, message_id=sent.message_id, reply_markup=YES_NO)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=1001, message_id=99)
    own = await user.send("mon message")
    with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
        await bot.edit_message_text("x", chat_id=1001, message_id=own["message"]["message_id"])
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.edit_message_text("<b>x", chat_id=1001, message_id=sent.message_id, parse_mode="HTML")


async def test_answer_callback_query_once(server: FakeTelegram, bot: telegram.Bot) -> None:
    """A callback query can be answered once; a second answer or an unknown id is refused."""
    user = server.user(1001)
    await bot.send_message(1001, "Continuer ?", reply_markup=YES_NO)
    query_id = await user.press("Oui")
    assert server.unanswered_callback_queries() == [query_id]
    assert await bot.answer_callback_query(query_id, text="C'est noté")
    assert server.unanswered_callback_queries() == []
    assert server.callback_queries[query_id].answer == {"callback_query_id": query_id, "text": "C'est noté"}
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(BadRequest, match=r"(?i)query id is invalid"):
        await bot.answer_callback_query("123")


async def test_press_finds_buttons_and_reports_mistakes(server: FakeTelegram, bot: telegram.Bot) -> None:
    """press() takes the latest keyboard with the label (exact, else a unique partial match) and explains failures."""
    user = server.user(1001)
    old = await bot.send_message(
        1001,
        "Ancien",
        reply_markup=InlineKeyboardMarkup.from_button(InlineKeyboardButton("Oui", callback_data="old-yes")),
    )
    await bot.send_message(1001, "Nouveau", reply_markup=YES_NO)
    await user.press("Oui")
    await user.press("merci")  # unique partial match: "Non merci"
    await user.press("Oui", message_id=old.message_id)
    data = [update["callback_query"]["data"] for update in server.update_history]
    assert data == ["yes", "no", "old-yes"]
    with pytest.raises(AssertionError, match="no inline button 'Peut-être'"):
        await user.press("Peut-être")
    await bot.send_message(
        1001,
        "Choix",
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("Lyon 1er", callback_data="1"), InlineKeyboardButton("Lyon 2e", callback_data="2")]]
        ),
    )
    with pytest.raises(AssertionError, match="ambiguous"):
        await user.press("Lyon")


# -- faults, latency, limits --------------------------------------------------------------------------------------


async def test_429_fault_raises_retry_after(
    server: FakeTelegram, bot: telegram.Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An injected 429 raises RetryAfter with the given retry_after, and the message is not stored."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    user = server.user(1001)
    server.inject(Fault("sendMessage", "429", retry_after=2))
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(1001, "Bonjour")
    assert raised.value.retry_after == timedelta(seconds=2)
    assert user.messages == []
    assert server.calls_of("sendMessage")[-1].status == 429
    await bot.send_message(1001, "Bonjour")  # the fault was used up
    assert len(user.messages) == 1


async def test_500_drop_and_timeout_faults_are_network_errors(server: FakeTelegram, bot: telegram.Bot) -> None:
    """500 and a dropped connection raise NetworkError (not BadRequest), no answer raises TimedOut; nothing applied."""
    user = server.user(1001)
    server.inject(Fault("sendMessage", "500"))
    with pytest.raises(NetworkError, match="Internal Server Error") as raised:
        await bot.send_message(1001, "un")
    assert type(raised.value) is NetworkError
    server.inject(Fault("sendMessage", "drop"))
    with pytest.raises(NetworkError, match="disconnected") as raised:
        await bot.send_message(1001, "deux")
    assert type(raised.value) is NetworkError
    server.inject(Fault(None, "timeout"))
    with pytest.raises(TimedOut):
        await bot.send_message(1001, "trois", read_timeout=0.3)
    assert [call.status for call in server.calls_of("sendMessage")] == [500, 0, 0]
    assert user.messages == []


async def test_slow_fault_latency_and_storm(server: FakeTelegram, bot: telegram.Bot) -> None:
    """ "slow" delays one answer, latency delays every answer, a storm fails every matching call for a while."""
    server.user(1001)
    server.inject(Fault("getMe", "slow", delay=0.2))
    started = time.monotonic()
    await bot.get_me()
    assert time.monotonic() - started >= 0.2
    server.latency = 0.1
    started = time.monotonic()
    await bot.get_my_commands()
    assert time.monotonic() - started >= 0.1
    server.latency = 0.0
    server.storm("500", 0.3, method="sendMessage")
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(1001, "orage")
    await bot.get_me()  # other methods are not hit
    await asyncio.sleep(0.3)
    await bot.send_message(1001, "accalmie")


async def test_overall_limit_refuses_the_31st_quick_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """With Limits(), 31 quick messages to 31 chats give exactly one 429, recorded as a violation."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    async with FakeTelegram(limits=Limits()) as server:
        users = [server.user(2000 + index) for index in range(31)]
        async with telegram.Bot(server.token, base_url=server.api_url) as bot:
            refused = 0
            for user in users:
                try:
                    await bot.send_message(user.id, "Bonjour")
                except RetryAfter:
                    refused += 1
        assert refused == 1
        assert len(server.limit_violations) == 1
        assert server.limit_violations[0].status == 429
        assert server.limit_violations[0].method == "sendMessage"
        assert sum(len(user.messages) for user in users) == 30


async def test_per_chat_limit_and_runtime_switch(
    server: FakeTelegram, bot: telegram.Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Per private chat, the 4th message within the window is refused; limits can be turned on and off at runtime."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    server.user(1001)
    for _ in range(4):
        await bot.send_message(1001, "avant")  # not enforced
    server.limits = Limits()
    for _ in range(3):
        await bot.send_message(1001, "ok")
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(1001, "de trop")
    retry_after = raised.value.retry_after
    assert isinstance(retry_after, timedelta)
    assert timedelta(seconds=1) <= retry_after <= timedelta(seconds=3)
    await bot.send_chat_action(1001, "typing")  # not a message: not limited
    assert [call.params["text"] for call in server.limit_violations] == ["de trop"]
    server.limits = None
    await bot.send_message(1001, "libre")


# -- getUpdates ---------------------------------------------------------------------------------------------------


async def test_get_updates_offsets_and_limit(server: FakeTelegram, bot: telegram.Bot) -> None:
    """Without offset unconfirmed updates come back again; an offset confirms everything below it; limit caps."""
    user = server.user(1001)
    for text in ("un", "deux", "trois"):
        await user.send(text)
    first = await bot.get_updates()
    assert [update.message.text for update in first if update.message] == ["un", "deux", "trois"]
    assert [update.update_id for update in first] == [100_000, 100_001, 100_002]
    again = await bot.get_updates()  # a restarted client gets them again
    assert [update.update_id for update in again] == [100_000, 100_001, 100_002]
    limited = await bot.get_updates(offset=100_001, limit=1)
    assert [update.update_id for update in limited] == [100_001]
    assert await bot.get_updates(offset=100_003) == ()
    assert list(server.updates.pending) == []


async def test_long_poll_waits_and_wakes_on_new_update(server: FakeTelegram, bot: telegram.Bot) -> None:
    """A long poll waits for an update and returns as soon as one arrives; without one it returns [] on time."""
    user = server.user(1001)
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done()
    started = time.monotonic()
    await user.send("réveil")
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 0.5
    assert updates[0].message is not None
    started = time.monotonic()
    status, body = await raw(server, "getUpdates", json={"offset": updates[0].update_id + 1, "timeout": 0.2})
    assert (status, body["result"]) == (200, [])
    assert 0.2 <= time.monotonic() - started < 1.0


async def test_a_new_long_poll_terminates_the_previous_one(server: FakeTelegram) -> None:
    """Two concurrent getUpdates: the older one gets 409 Conflict, like two bot instances against Telegram."""
    older = asyncio.create_task(raw(server, "getUpdates", json={"timeout": 5}))
    await asyncio.sleep(0.1)
    assert await raw(server, "getUpdates", json={"timeout": 0}) == (200, {"ok": True, "result": []})
    status, body = await asyncio.wait_for(older, 2)
    assert status == 409
    assert body["description"].startswith("Conflict: terminated by other getUpdates request")


async def test_allowed_updates_filter_and_are_remembered(server: FakeTelegram, bot: telegram.Bot) -> None:
    """allowed_updates filters what getUpdates returns and stays in force until changed ([] = everything)."""
    user = server.user(1001)
    await bot.send_message(1001, "Continuer ?", reply_markup=YES_NO)
    await user.send("texte")
    await user.press("Oui")
    only_queries = await bot.get_updates(allowed_updates=["callback_query"])
    assert [update.callback_query.data for update in only_queries if update.callback_query] == ["yes"]
    assert len(await bot.get_updates()) == 1  # remembered
    assert len(await bot.get_updates(allowed_updates=[])) == 2


async def test_duplicate_updates_when_polling(server: FakeTelegram, bot: telegram.Bot) -> None:
    """With duplicate_updates, a confirmed update is returned once more by a later getUpdates."""
    server.duplicate_updates = True
    user = server.user(1001)
    await user.send("écho")
    (update,) = await bot.get_updates()
    (duplicate,) = await bot.get_updates(offset=update.update_id + 1)
    assert duplicate.update_id == update.update_id
    assert await bot.get_updates(offset=update.update_id + 1) == ()


# -- webhook ------------------------------------------------------------------------------------------------------


class Hook:
    """A tiny webhook receiver on loopback: logs every POST and answers 500 once to the texts in ``fail_once``."""

    def __init__(self) -> None:
        self.log: list[tuple[str, int, int]] = []  # (text, update_id, status answered)
        self.secrets: set[str | None] = set()
        self.fail_once: set[str] = set()
        self.delay = 0.0
        self.in_flight = self.max_in_flight = 0

    async def handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        self.secrets.add(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        text = update.get("message", {}).get("text", "")
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await asyncio.sleep(self.delay)
        self.in_flight -= 1
        status = 500 if text in self.fail_once else 200
        self.fail_once.discard(text)
        self.log.append((text, update["update_id"], status))
        return web.Response(status=status)

    def ok(self) -> list[str]:
        return [text for text, _, status in self.log if status == 200]


@pytest.fixture
async def hook(server: FakeTelegram) -> AsyncIterator[Hook]:
    receiver = Hook()
    app = web.Application()
    app.router.add_post("/tg/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    server.webhook_rewrite = lambda url: url.replace("https://example.test", f"http://127.0.0.1:{port}")
    yield receiver
    await runner.cleanup()


async def test_webhook_keeps_per_chat_order_through_retries(
    server: FakeTelegram, bot: telegram.Bot, hook: Hook
) -> None:
    """Updates are POSTed with the secret header; a 500 is retried and holds back its chat only."""
    assert await bot.set_webhook("https://example.test/tg/hook", secret_token="s3cr3t")
    jeanne, paul = server.user(1001), server.user(1002)
    hook.fail_once = {"a1"}
    for text in ("a1", "a2", "a3"):
        await jeanne.send(text)
    await paul.send("b1")
    await eventually(lambda: len(hook.ok()) == 4)
    jeanne_log = [(text, status) for text, _, status in hook.log if text.startswith("a")]
    assert jeanne_log == [("a1", 500), ("a1", 200), ("a2", 200), ("a3", 200)]
    texts = [text for text, _, _ in hook.log]
    assert texts.index("b1") < texts.index("a2")  # the other chat was not held back
    assert hook.secrets == {"s3cr3t"}
    assert [delivery.status for delivery in server.deliveries if delivery.update_id == 100_000] == [500, 200]
    info = await bot.get_webhook_info()
    assert info.url == "https://example.test/tg/hook"
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()


async def test_webhook_max_connections_and_duplicates(server: FakeTelegram, bot: telegram.Bot, hook: Hook) -> None:
    """At most max_connections POSTs are in flight; duplicate_updates POSTs each update a second time."""
    assert await bot.set_webhook("https://example.test/tg/hook", max_connections=2)
    hook.delay = 0.05
    for chat_id in range(1001, 1006):
        await server.user(chat_id).send(f"m{chat_id}")
    await eventually(lambda: len(hook.ok()) == 5)
    assert hook.max_in_flight == 2
    hook.delay = 0.0
    server.duplicate_updates = True
    update = await server.user(1001).send("double")
    await eventually(lambda: hook.ok().count("double") == 2)
    assert [update_id for text, update_id, _ in hook.log if text == "double"] == [update["update_id"]] * 2


async def test_webhook_timeout_is_retried(server: FakeTelegram, bot: telegram.Bot, hook: Hook) -> None:
    """A webhook slower than webhook_timeout counts as a failed attempt and the update is posted again."""
    server.webhook_timeout = 0.1
    hook.delay = 0.3
    assert await bot.set_webhook("https://example.test/tg/hook")
    await server.user(1001).send("lent")
    await eventually(lambda: len(server.deliveries) >= 1)
    hook.delay = 0.0
    await eventually(lambda: any(delivery.status == 200 for delivery in server.deliveries))
    first = server.deliveries[0]
    assert (first.status, first.error) == (None, "Read timeout expired")
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_webhook_errors_and_delete_webhook_hand_back_to_polling(server: FakeTelegram, bot: telegram.Bot) -> None:
    """Unreachable webhook: retried and reported; deleteWebhook keeps the pending updates for getUpdates."""
    with pytest.raises(BadRequest, match=r"(?i)an https url must be provided"):
        await bot.set_webhook("http://example.test/tg/hook")
    server.webhook_rewrite = lambda url: "http://127.0.0.1:9/closed"  # discard port: nothing listens
    assert await bot.set_webhook("https://example.test/tg/hook")
    await server.user(1001).send("perdu ?")
    await eventually(lambda: len(server.deliveries) >= 2)
    assert {delivery.status for delivery in server.deliveries} == {None}
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1
    assert info.last_error_message == "Connection refused"
    assert await bot.delete_webhook()
    (update,) = await bot.get_updates()
    assert update.message is not None
    assert update.message.text == "perdu ?"
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == ()


# -- simulated users and a real PTB application -------------------------------------------------------------------


async def test_simulated_user_updates_are_valid_for_ptb(server: FakeTelegram, bot: telegram.Bot) -> None:
    """Every kind of user action produces an update PTB parses: commands, location, contact, media, edits."""
    user = server.user(1001, first_name="Jeanne")
    await user.send("/start bienvenue")
    await user.share_location(45.76, 4.83)
    await user.share_contact("+33612345678")
    for action in (user.send_photo, user.send_voice, user.send_sticker, user.send_document):
        await action()
    sent = await user.send("coquille")
    await user.edit(sent["message"]["message_id"], "correction")
    updates = await bot.get_updates()
    messages = [update.effective_message for update in updates]
    assert all(message is not None for message in messages)
    start = updates[0].message
    assert start is not None
    assert start.text == "/start bienvenue"
    assert start.parse_entities(["bot_command"])
    assert start.from_user is not None
    assert start.from_user.language_code == "fr"
    assert updates[1].message is not None
    assert updates[1].message.location is not None
    assert updates[2].message is not None
    assert updates[2].message.contact is not None
    assert updates[2].message.contact.user_id == 1001
    assert updates[3].message is not None
    assert updates[3].message.photo
    assert updates[6].message is not None
    assert updates[6].message.document is not None
    assert updates[-1].edited_message is not None
    assert updates[-1].edited_message.text == "correction"


async def test_ptb_application_conversation_with_press_wait_for_next_reply(server: FakeTelegram) -> None:
    """A real PTB Application polling the fake: next_reply, press and wait_for drive a conversation."""
    user = server.user(1001, first_name="Jeanne")

    async def start(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_chat_action(update.effective_chat.id, "typing")
        await update.effective_chat.send_message("Bienvenue !")
        await update.effective_chat.send_message("Continuer ?", reply_markup=YES_NO)

    async def button(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(f"Choix : {query.data}")

    application = (
        ApplicationBuilder().token(server.token).base_url(server.api_url).base_file_url(server.file_url).build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(button))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            await user.send("/start")
            replies = await user.next_reply(timeout=5)
            assert [message.text for message in replies] == ["Bienvenue !", "Continuer ?"]
            await user.press("Oui")
            await user.wait_for(lambda u: u.last is not None and u.last.text == "Choix : yes", timeout=5)
            (edited,) = await user.next_reply(timeout=5)
            assert edited.message_id == replies[1].message_id
            assert edited.edits == 1
            assert server.unanswered_callback_queries() == []
            with pytest.raises(TimeoutError, match="Choix : yes"):
                await user.wait_for(lambda u: len(u.messages) > 2, timeout=0.2)
        finally:
            await application.updater.stop()
            await application.stop()


async def test_group_members_talk_to_the_bot(server: FakeTelegram, bot: telegram.Bot) -> None:
    """A supergroup's members send messages and press buttons under their own names."""
    jeanne = server.user(1001, first_name="Jeanne")
    group = server.group(-100200, title="Médiateurs")
    await group.send(jeanne.id, "Bonjour le groupe")
    await group.send(1005, "Salut")
    await bot.send_message(-100200, "Qui vient ?", reply_markup=YES_NO)
    await group.press(1005, "Oui")
    updates = await bot.get_updates()
    first = updates[0].message
    assert first is not None
    assert first.chat.type == "supergroup"
    assert first.chat.title == "Médiateurs"
    assert first.from_user is not None
    assert first.from_user.first_name == "Jeanne"
    query = updates[2].callback_query
    assert query is not None
    assert query.from_user.id == 1005
    assert query.data == "yes"


async def test_stop_is_prompt_with_calls_still_waiting() -> None:
    """stop() answers pending long polls and never-answered calls at once, and leaves no task behind."""
    server = await FakeTelegram().start()
    server.inject(Fault("getMe", "timeout"))
    stuck = asyncio.create_task(raw(server, "getMe"))
    polling = asyncio.create_task(raw(server, "getUpdates", json={"timeout": 30}))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await server.stop()
    assert time.monotonic() - started < 1.5
    assert (await polling)[0] == 200
    with pytest.raises(aiohttp.ClientError):
        await stuck


# -- the HTML parser on its own -----------------------------------------------------------------------------------


def test_html_parser_entities_and_errors() -> None:
    """Nested tags, links, pre with a language, spoilers, numeric entities; errors give UTF-8 byte offsets."""
    text, entities = parse_html(
        '<b>a <i>b</i></b> <a href="https://x.fr/?a=1&amp;b=2">lien</a> <pre><code class="language-py">x=1'
        "</code></pre> <tg-spoiler>s</tg-spoiler> &#233;&#x1F44D;&quot;<blockquote expandable>q</blockquote>"
    )
    assert text == 'a b lien x=1 s é👍"q'
    assert entities == [
        {"type": "bold", "offset": 0, "length": 3},
        {"type": "italic", "offset": 2, "length": 1},
        {"type": "text_link", "offset": 4, "length": 4, "url": "https://x.fr/?a=1&b=2"},
        {"type": "pre", "offset": 9, "length": 3, "language": "py"},
        {"type": "spoiler", "offset": 13, "length": 1},
        {"type": "expandable_blockquote", "offset": 19, "length": 1},
    ]
    with pytest.raises(HtmlError, match='Unsupported start tag "script" at byte offset 6'):
        parse_html("été <script>")
    with pytest.raises(HtmlError, match="Unexpected end tag at byte offset 1"):
        parse_html("a</b>")
    assert parse_html("Tom & Jerry", strict=False) == ("Tom & Jerry", [])


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_escaped_text_parses_back_to_itself(text: str) -> None:
    """Any text escaped with html.escape parses back to exactly that text, without entities."""
    assert parse_html(html.escape(text, quote=False)) == (text, [])
