"""Bad requests tried systematically on the bot's HTTP edges, against the real bot (`bot.app.server.serve` in webhook
mode, a SQLite file) and the fake Bot API server on loopback:

- the Telegram webhook: random JSON of any shape, update-shaped bodies with fields of the wrong type (ids that are
  texts, floats, infinite or beyond 64 bits; chats that are lists; locations that are not numbers…), huge and
  deeply nested bodies, wrong content types, missing or wrong secrets. Always a clear 4xx (200 for a well-formed
  update the bot ignores), never a 5xx (a 503 would make Telegram deliver the same bad update forever);
- the web chat's JSON API (`POST /api/chat`): the same random JSON, every accepted shape with wrong values, wrong
  content types, bodies too large, requests from other sites, cookies of any kind;

and afterwards the bot still answers a real person on Telegram and in the web chat.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.web.chat import COOKIE
from tests.support.fake_telegram import FakeTelegram
from tests.support.fuzzing import FUZZ, json_values, junk_text
from tests.support.telegram_harness import SECRET, WEBHOOK_PATH, Person, RunningBot, bot_settings, running_bot

pytestmark = pytest.mark.asyncio(loop_scope="session")
JSON = "application/json"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Header values a client can send at all: printable ASCII.
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def bot(telegram: FakeTelegram, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningBot]:
    """The bot in webhook mode for the whole module: it also serves the web chat."""
    settings = bot_settings(telegram, tmp_path_factory.mktemp("fuzz-http") / "bot.db", webhook=True)
    # No sending limits: the fuzzed chat gets hundreds of replies, which must not hold up the bot's stop.
    async with running_bot(telegram, settings, limits=None) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


def base(bot: RunningBot) -> str:
    return f"http://127.0.0.1:{bot.settings.port}"


async def post(http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, str]:
    """(status, content type, text) of a POST of raw bytes."""
    async with http.post(url, data=body, headers=headers) as response:
        return response.status, response.content_type, await response.text()


def encoded(value: Any) -> bytes:
    """JSON as a client might send it: NaN and Infinity included (Python's json writes them, and reads them)."""
    return json.dumps(value).encode("utf-8")


# ----- update-shaped bodies ----------------------------------------------------------------------------------
# Ids of every kind: the small whole numbers Telegram sends, and what it never sends.
IDS = st.one_of(
    st.integers(1, 2**40),
    st.integers(-(2**80), 2**80),
    st.floats(),
    st.sampled_from([float("inf"), float("-inf"), float("nan"), 2**63, -(2**63) - 1, 2**64, True, "12", "abc", ""]),
    json_values(3),
)
ANY = json_values(6)
NUMBERS = st.one_of(st.floats(), st.integers(-(2**70), 2**70), junk_text(6), ANY)
FUZZED_CHAT = 7  # the chat of the fuzzed updates (the person checked at the end writes from another one)
PERSON = {"id": FUZZED_CHAT, "is_bot": False, "first_name": "Jeanne"}
PRIVATE = {"id": FUZZED_CHAT, "type": "private", "first_name": "Jeanne"}
GROUP = {"id": -1001234567890, "type": "supergroup", "title": "Médiateurs"}


def _message(**content: Any) -> dict[str, Any]:
    return {"message_id": 5, "from": PERSON, "chat": PRIVATE, "date": 1_700_000_000, **content}


def _press(chat: dict[str, Any], data: str) -> dict[str, Any]:
    message = {"message_id": 5, "from": {"id": 1, "is_bot": True, "first_name": "Passerelle"}, "chat": chat}
    return {"id": "4242", "from": PERSON, "message": message, "chat_instance": "1", "data": data}


# Updates as Telegram sends them, one of each kind the bot reads; the fuzzing changes their fields.
TEMPLATES: dict[str, dict[str, Any]] = {
    "text": {"message": _message(text="bonjour")},
    "command": {"message": _message(text="/start", entities=[{"type": "bot_command", "offset": 0, "length": 6}])},
    "location": {"message": _message(location={"latitude": 45.76, "longitude": 4.83})},
    "contact": {"message": _message(contact={"phone_number": "+33612345678", "first_name": "J", "user_id": 7})},
    "photo": {"message": _message(photo=[{"file_id": "x", "file_unique_id": "y", "width": 1, "height": 1}])},
    "edited": {"edited_message": _message(text="bonjour", edit_date=1_700_000_001)},
    "button": {"callback_query": _press(PRIVATE, "1|abcdef|self")},
    "map button": {"callback_query": _press(PRIVATE, "1|map|45.76000,4.83000")},
    "group press": {"callback_query": _press(GROUP, "2|c|abcdefgh")},
}
# What no Bot API field ever holds, or not there: ids out of any column's range, NaN, texts, nothing, containers.
IMPOSSIBLE: list[Any] = [float("inf"), float("nan"), 2**64, -(2**63) - 1, 1.5, "abc", "", None, True, [], {"a": 1}]


SWEPT = [float("inf"), 2**64, -(2**63) - 1, "abc", None, [], {"a": 1}]  # the sweep's share of IMPOSSIBLE


def json_places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key and list index inside a JSON value, as paths."""
    found: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        found.append((*path, key))
        found += json_places(child, (*path, key))
    return found


def changed(update: dict[str, Any], path: tuple[Any, ...], value: Any, *, delete: bool = False) -> dict[str, Any]:
    """A deep copy of `update` with the field at `path` replaced by `value` (or deleted)."""
    copy = json.loads(json.dumps(update))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return copy


# Ids the bot reads for each kind: beyond what a BIGINT holds, the update is malformed (400).
_PRESS = {("callback_query", "message", "chat", "id"), ("callback_query", "message", "message_id")}
MUST_REFUSE: dict[str, set[tuple[Any, ...]]] = {
    **{kind: {("message", "chat", "id")} for kind in ("text", "command", "location", "contact", "photo")},
    "edited": {("edited_message", "chat", "id")},
    "button": _PRESS,
    "map button": _PRESS,
    "group press": {("callback_query", "message", "chat", "id"), ("callback_query", "from", "id")},
}
UPDATE_IDS = iter(range(1_000_000, 2**31))  # each fuzzed update is new: recorded and handled, not a repeat


@st.composite
def updates(draw: st.DrawFn) -> dict[str, Any]:
    """An update of one kind with one to three fields replaced by anything (a value of another type, one no
    database holds) or deleted."""
    update = {"update_id": next(UPDATE_IDS), **TEMPLATES[draw(st.sampled_from(sorted(TEMPLATES)), label="kind")]}
    for _ in range(draw(st.integers(1, 3), label="changes")):
        places = json_places(update)
        if not places:
            break
        path = draw(st.sampled_from(places), label="field")
        if path == ("update_id",) and draw(st.booleans()):
            continue  # keep most update ids: the interesting part is inside
        value = draw(st.one_of(st.sampled_from(IMPOSSIBLE), st.sampled_from(IMPOSSIBLE), IDS, ANY), label="value")
        update = changed(update, path, value, delete=draw(st.integers(0, 5), label="delete") == 0)
    return update


async def webhook(http: aiohttp.ClientSession, bot: RunningBot, body: bytes, **headers: str) -> tuple[int, str]:
    status, content_type, text = await post(
        http, base(bot) + WEBHOOK_PATH, body, {SECRET_HEADER: SECRET, "Content-Type": JSON} | headers
    )
    assert status < 500, (status, body[:300], text[:300])
    assert content_type == JSON or status == 413, (status, content_type, text[:300])  # 413: aiohttp's own
    return status, text


# ----- the webhook -------------------------------------------------------------------------------------------
@settings(FUZZ, max_examples=60)
@given(body=json_values(20))
async def test_random_json_on_the_webhook_gets_a_clear_answer(
    bot: RunningBot, http: aiohttp.ClientSession, body: Any
) -> None:
    """Any JSON document, with the right secret: 400 when it is not an update, 200 when it is one (ignored
    or handled); never a 5xx."""
    status, _ = await webhook(http, bot, encoded(body))
    assert status in (200, 400)
    if not (isinstance(body, dict) and type(body.get("update_id")) is int):
        assert status == 400


@settings(FUZZ, max_examples=100)
@given(update=updates())
async def test_updates_with_wrong_field_types_get_a_clear_answer(
    bot: RunningBot, http: aiohttp.ClientSession, update: dict[str, Any]
) -> None:
    """Updates of every kind the bot reads (text, command, location, contact, photo, edited message, button, map
    button, a mediator's press in a group) with fields of any type (ids as texts, floats, NaN, infinities, numbers
    beyond 64 bits; chats, senders, texts, locations, contacts and button data of the wrong kind) or missing: 200
    or 400, never a 5xx."""
    status, _ = await webhook(http, bot, encoded(update))
    assert status in (200, 400)


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
async def test_every_field_of_every_update_kind_with_impossible_values(
    bot: RunningBot, http: aiohttp.ClientSession, kind: str
) -> None:
    """Systematically: each field of each kind of update, in turn, deleted or set to a value it never holds
    (infinite, NaN, beyond 64 bits, a fraction, a text, null, true, a list, an object): 200 or 400, never a 5xx;
    ids the database cannot hold are refused with 400, not left for Telegram to deliver again and again."""
    template = {"update_id": 1, **TEMPLATES[kind]}
    for path in json_places(template):
        for value in [*SWEPT, "delete"]:
            update = changed(template, path, value, delete=value == "delete")
            if path != ("update_id",):
                update["update_id"] = next(UPDATE_IDS)
            status, _ = await webhook(http, bot, encoded(update))
            assert status in (200, 400), (path, value)
            if path in MUST_REFUSE.get(kind, ()) and value in (float("inf"), 2**64, -(2**63) - 1):
                assert status == 400, (path, value)


@settings(FUZZ, max_examples=30)
@given(
    secret=st.one_of(st.none(), HEADER_TEXT, st.just(SECRET.upper()), st.just(SECRET + " "), st.just(SECRET[:-1])),
    content_type=st.one_of(st.none(), HEADER_TEXT, st.sampled_from(["text/plain", "application/x-www-form-urlencoded",
                                                                      "multipart/form-data", "application/jsonx"])),
)  # fmt: skip
async def test_wrong_secret_or_content_type_is_refused(
    bot: RunningBot, http: aiohttp.ClientSession, secret: str | None, content_type: str | None
) -> None:
    """Without the exact secret: 401 whatever the body. With it but another content type than JSON: 415."""
    update = encoded({"update_id": 77, "message": {"chat": {"id": 1, "type": "private"}, "text": "/start"}})
    headers = {} if content_type is None else {"Content-Type": content_type}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with http.post(base(bot) + WEBHOOK_PATH, data=update, headers=headers) as response:
        if secret is None or secret.strip(" \t") != SECRET:  # HTTP drops the spaces around a header's value
            assert response.status == 401
        else:
            expected = 200 if content_type is not None and content_type.split(";")[0].strip().lower() == JSON else 415
            assert response.status == expected, (content_type, await response.text())


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, 400, id="nested 100,000 deep"),
        pytest.param(b'{"update_id": 1, "a": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", 400, id="nested in an update"),
        pytest.param(b"x" * (2 * 1024 * 1024), 413, id="2 MB"),
        pytest.param(encoded({"update_id": 5, "pad": "x" * (1024 * 1024 - 100)}), 200, id="just under 1 MB"),
        pytest.param(b"\xff\xfe\x00{", 400, id="not UTF-8"),
        pytest.param(b"", 400, id="empty"),
        pytest.param(b'{"update_id": 1e400}', 400, id="infinite update id"),
        pytest.param(encoded({"update_id": 2**64, "message": {"chat": {"id": 9, "type": "private"}, "text": "x"}}),
                     400, id="update id beyond 64 bits"),
        pytest.param(encoded({"update_id": True, "message": {"chat": {"id": 9, "type": "private"}, "text": "x"}}),
                     400, id="update id true"),
        pytest.param(encoded({"update_id": 6, "message": {"chat": {"id": float("inf"), "type": "private"},
                                                           "text": "x"}}), 400, id="infinite chat id"),
        pytest.param(encoded({"update_id": 7, "message": {"chat": {"id": 2**70, "type": "private"}, "text": "x"}}),
                     400, id="chat id beyond 64 bits"),
        pytest.param(encoded({"update_id": 8, "callback_query": {"id": "q", "data": "1|x|self", "message": {
            "message_id": float("nan"), "chat": {"id": 5, "type": "private"}}}}), 400, id="NaN message id"),
    ],
)  # fmt: skip
async def test_huge_deep_and_impossible_bodies_get_a_clear_4xx(
    bot: RunningBot, http: aiohttp.ClientSession, body: bytes, expected: int
) -> None:
    """Bodies past the size limit (413), nested deeper than a JSON parser can go, not UTF-8, empty, or with ids no
    database column holds: a clear 4xx, never a 5xx."""
    status, _ = await webhook(http, bot, body)
    assert status == expected


async def test_after_the_webhook_fuzzing_the_bot_still_answers_a_person(
    telegram: FakeTelegram, bot: RunningBot
) -> None:
    """After all the bad updates above (run first in this module), a real person is answered as usual, the first
    question then the next one."""
    person = Person(telegram.user(424242, "Simone"))
    await person.play(["/start", "value:self"])
    last = person.user.last
    assert last is not None
    assert "Pour commencer" in (last.text or "")


# ----- the web chat API --------------------------------------------------------------------------------------
async def chat_post(
    http: aiohttp.ClientSession, bot: RunningBot, body: bytes, **headers: str
) -> tuple[int, dict[str, Any]]:
    status, content_type, text = await post(http, base(bot) + "/api/chat", body, {"Content-Type": JSON} | headers)
    assert status < 500, (status, body[:300], text[:300])
    assert content_type == JSON, (status, content_type, text[:300])
    answer = json.loads(text)
    if status >= 400:
        assert answer["error"], answer
        assert answer["message"].strip(), answer  # a sentence for the person, in French
    else:
        assert answer["replies"], answer
    return status, answer


VALUES = st.one_of(st.sampled_from(["self", "relative", "/valider", "/start", "unknown", "yes", ""]), junk_text(20),
                   st.integers(0, 200).map(lambda n: "v" * n), ANY)  # fmt: skip
CHAT_BODIES = st.one_of(
    json_values(20),
    st.fixed_dictionaries({"text": st.one_of(junk_text(), st.integers(990, 1010).map(lambda n: "é" * n), ANY)}),
    st.fixed_dictionaries({"command": st.one_of(st.sampled_from(["/start", "/oublier", "/aide", "/START"]), ANY)}),
    st.fixed_dictionaries({"value": VALUES}, optional={"context": VALUES}),
    st.fixed_dictionaries({"values": st.one_of(st.lists(VALUES, max_size=40), ANY)}, optional={"context": VALUES}),
    st.fixed_dictionaries(
        {"location": st.one_of(st.fixed_dictionaries({"latitude": NUMBERS, "longitude": NUMBERS},
                                                     optional={"accuracy": ANY, "altitude": ANY}), ANY)}
    ),
)  # fmt: skip


@settings(FUZZ, max_examples=120)
@given(body=CHAT_BODIES)
async def test_random_bodies_on_the_web_chat_get_a_clear_answer(
    bot: RunningBot, http: aiohttp.ClientSession, body: Any
) -> None:
    """Any JSON, and each shape the API takes with values of every type and size: 200 with a turn, or 400 (413 for
    a body too large) with an error code and a sentence for the person; never a 5xx."""
    status, _ = await chat_post(http, bot, encoded(body))
    assert status in (200, 400, 413)


@settings(FUZZ, max_examples=30)
@given(
    content_type=st.one_of(HEADER_TEXT, st.sampled_from(["text/plain", "application/x-www-form-urlencoded",
                                                         "multipart/form-data; boundary=x", "application/jsonx"])),
    site=st.one_of(st.none(), st.sampled_from(["cross-site", "same-site", "Cross-Site", "none", "same-origin"])),
    origin=st.one_of(st.none(), st.sampled_from(["null", "https://evil.example", "http://127.0.0.1"]), HEADER_TEXT),
    cookie=st.one_of(st.none(), HEADER_TEXT.filter(lambda c: ";" not in c), st.integers(-(2**70), 2**70).map(str)),
)  # fmt: skip
async def test_web_chat_requests_of_the_wrong_kind_are_refused(
    bot: RunningBot,
    http: aiohttp.ClientSession,
    content_type: str,
    site: str | None,
    origin: str | None,
    cookie: str | None,
) -> None:
    """Another site's request: 403; not JSON: 415; any cookie value (junk, negative, beyond 64 bits) is no
    conversation of anyone's and is replaced; never a 5xx."""
    headers = {"Content-Type": content_type}
    if site is not None:
        headers["Sec-Fetch-Site"] = site
    if origin is not None:
        headers["Origin"] = origin
    if cookie is not None:
        headers["Cookie"] = f"{COOKIE}={cookie}"
    async with aiohttp.ClientSession() as fresh:  # no cookie jar of its own: the header says it all
        status, content_type_out, text = await post(fresh, base(bot) + "/api/chat", b'{"text": "bonjour"}', headers)
        assert status < 500, (status, text)
        assert content_type_out == JSON
        del headers["Content-Type"]
        async with fresh.get(base(bot) + "/api/chat", headers=headers) as got:
            assert got.status in (200, 403), await got.text()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b"[" * 8000 + b"]" * 8000, 400, id="nested 8,000 deep"),
        pytest.param(b'{"values": ' + b"[" * 8000 + b"]" * 8000 + b"}", 400, id="nested in a shape"),
        pytest.param(b"x" * (17 * 1024), 413, id="17 KB"),
        pytest.param(b"x" * (2 * 1024 * 1024), 413, id="2 MB"),
        pytest.param(b"\xff\xfe\x00{", 400, id="not UTF-8"),
        pytest.param(b"", 400, id="empty"),
        pytest.param(b'{"location": {"latitude": NaN, "longitude": Infinity}}', 400, id="NaN position"),
        pytest.param(b'{"text": "a", "text": "b"}', 200, id="a key twice"),
    ],
)
async def test_web_chat_huge_deep_and_impossible_bodies(
    bot: RunningBot, http: aiohttp.ClientSession, body: bytes, expected: int
) -> None:
    """Bodies too large, nested too deep, not UTF-8, empty, with NaN positions: a clear 4xx in JSON."""
    status, _ = await chat_post(http, bot, body)
    assert status == expected


async def test_after_the_web_fuzzing_a_person_still_chats(bot: RunningBot) -> None:
    """After the bad requests above, a new person opens the chat, gets the first question, answers it and gets the
    next one."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(base(bot) + "/api/chat") as response:
            assert response.status == 200
            first = await response.json()
        assert first["slot"] == "for_whom"
        body = {"value": "self", "context": first["question"]}
        async with session.post(base(bot) + "/api/chat", json=body) as response:
            assert response.status == 200
            second = await response.json()
        assert second["slot"] == "goals"
