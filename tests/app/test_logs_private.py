"""Logs free of personal data, end to end: `python -m bot run` in its own process at its most verbose
(LOG_LEVEL=DEBUG), on Telegram (the fake Bot API server, webhook mode, a mediators' group) and the web chat over
HTTP, while several people go through whole conversations with callbacks, a mediator claims and resolves one,
errors are provoked and /oublier is used. Every line the process wrote is then scanned for the phone numbers (in
any format), the answers people typed and their first names."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import sys
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import Settings
from bot.core.errors import ConfigError
from tests.support.fake_telegram import FakeGroup, FakeTelegram, FakeUser
from tests.support.telegram_harness import ROOT, Person, free_port, is_question

GROUP = -1001234567890
MEDIATOR = 501
WEBHOOK_BASE = "https://passerelle.example.test"
WEBHOOK_PATH = "/telegram/webhook"
SECRET = "logs-Webhook_s3cret"
CLAIM, DONE = "🙋 Je m'en occupe", "✅ Appel fait"
TIMEOUT = 60.0  # a turn on a loaded two-core machine, Telegram's pacing included

# What people give, and what must never reach the log.
PHONES = ("06 47 19 83 52", "+33758204139", "06.71.93.25.48", "07 61 48 92 35", "06 11 22 33 44")
FIRST_NAMES = ("Philomène", "Anatolie", "Barnabé")
TYPED = ("Villeurbanne", "Caluire-et-Cuire", "Rillieux-la-Pape", "Vénissieux", "Zéphirine", "Ermenegilde")


def fold(text: str) -> str:
    """Lower case without accents: "Vénissieux" and "VENISSIEUX" are found alike."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def significant_digits(phone: str) -> str:
    """The nine digits that make a French number whatever its format: "+33 6 47…" and "06.47…" -> "647…"."""
    digits = re.sub(r"\D", "", phone)
    return digits[-9:]


# The words looked for: each name and typed answer folded, its parts between hyphens, and the parts around its
# accents (a log writing "Philom\u00e8ne" is found by "philom"); words under five letters are too common to look for.
WORDS = sorted(
    {
        part
        for word in FIRST_NAMES + TYPED
        for part in [fold(word), *fold(word).split("-"), *re.split(r"[^\x00-\x7f]", word.casefold())]
        if len(part) >= 5
    }
)
NUMBERS = [significant_digits(p) for p in PHONES]


def leaks(lines: list[str]) -> list[str]:
    """The lines holding a phone number (its nine digits among the line's digits), a typed answer or a first name."""
    found = []
    for line in lines:
        digits = re.sub(r"\D", "", line)
        folded = fold(line)
        if any(number in digits for number in NUMBERS) or any(word in folded for word in WORDS):
            found.append(line)
    return found


def test_the_scanner_finds_what_it_looks_for() -> None:
    """The scanner flags a number in each format, a name and a typed answer however written, and not a clean line:
    the end-to-end test below cannot pass for want of looking."""
    planted = [
        "2026-11-23 10:12:34,567 INFO bot.x: sent to 06.47.19.83.52",
        "2026-11-23 10:12:34,567 DEBUG telegram: {'phone_number': '+33 7 58 20 41 39'}",
        "params=(b'0671932548',)",
        "WARNING x: from PHILOMENE",
        '{"first_name": "Philom\\u00e8ne"}',
        "DEBUG: text='Caluire-et-Cuire'",
        "text=v\\u00e9nissieux",
    ]
    assert leaks(planted) == planted
    clean = "2026-11-23 10:12:34,567 DEBUG bot.engine.dialogue: turn 3fa2c1: button at pour_qui -> envies"
    assert leaks([clean]) == []


def test_log_level_is_a_setting() -> None:
    """LOG_LEVEL takes a level name in any case; anything else stops the start with the name and what is expected."""
    assert Settings.from_env({"LOG_LEVEL": "debug"}).log_level == "DEBUG"
    assert Settings.from_env({}).log_level is None
    with pytest.raises(ConfigError, match="LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR"):
        Settings.from_env({"LOG_LEVEL": "verbose"})


# ----- the bot in its own process ----------------------------------------------------------------------------------
def bot_env(server: FakeTelegram, database: Path, port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "WEBHOOK_", "DATABASE_", "MEDIATOR_", "LOG_", "DATA_KEY"))
    }
    return env | {
        "TELEGRAM_BOT_TOKEN": server.token,
        "TELEGRAM_API_URL": server.api_url,
        "WEBHOOK_URL": WEBHOOK_BASE + WEBHOOK_PATH,
        "WEBHOOK_SECRET": SECRET,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "PORT": str(port),
        "MEDIATOR_CHAT_ID": str(GROUP),
        "LOG_LEVEL": "DEBUG",
        "PYTHONUNBUFFERED": "1",
    }


@asynccontextmanager
async def bot_process(
    server: FakeTelegram, database: Path, log: Path, port: int
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m bot run`, both its outputs in `log`, ready once its webhook is set and its web server answers."""
    server.webhook_rewrite = lambda url: url.replace(WEBHOOK_BASE, f"http://127.0.0.1:{port}")
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=ROOT, env=bot_env(server, database, port), stdout=out, stderr=out
        )
    try:
        async with aiohttp.ClientSession() as client:
            for _ in range(600):
                if process.returncode is not None:
                    raise AssertionError(f"the bot exited with {process.returncode}; see {log}")
                if server.calls_of("setWebhook"):
                    try:
                        async with client.get(f"http://127.0.0.1:{port}/healthz") as response:
                            if response.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"the bot did not start; see {log}")
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


# ----- people on Telegram ------------------------------------------------------------------------------------------
async def answered(user: FakeUser, act: Callable[[], Awaitable[object]], *, question: bool = True) -> None:
    """Do something, then wait for the bot's turn (a new question, or any reply)."""
    mark = user.chat.activity
    await act()
    await user.wait_for(lambda u: u.chat.activity > mark and (is_question(u) or not question), TIMEOUT)


async def philomene(server: FakeTelegram) -> None:
    """Whole conversation, a typed commune, a wrong then a right number typed with spaces, a callback."""
    person = Person(server.user(73001, "Philomène"), timeout=TIMEOUT)
    await person.play(["/start", "value:self", "value:family_contact,leisure", "value:smartphone,computer",
                       "value:daily", "value:intermediate", "value:unsure", "value:confidence", "value:easy",
                       "Villeurbanne", "value:yes", "value:yes", "demandez plutôt Zéphirine",
                       "06 47 19 83 52"])  # fmt: skip
    await person.play(["value:morning", "je m'appelle Philomène"])  # recorded; then the last question


async def anatolie(server: FakeTelegram) -> None:
    """For a relative: the commune typed, the number shared with Telegram's button (+33…), a callback; then all of it
    erased with /oublier."""
    person = Person(server.user(73002, "Anatolie"), timeout=TIMEOUT)
    await person.play(["/start", "value:relative", "value:admin_procedures", "value:basic_phone", "value:refuses",
                       "value:health,money", "value:80_plus", "value:yes", "value:difficult", "Caluire-et-Cuire",
                       "value:yes", "value:yes", "value:person", "value:child", "contact:+33758204139"])  # fmt: skip
    await person.play(["value:afternoon", "Madame Zéphirine"])  # recorded; then the last question
    await person.play(["/oublier"])
    await person.play(["value:yes"], ends=True)


async def barnabe(server: FakeTelegram) -> None:
    """An unknown command, a photo and an edited message carrying personal words, /humain with a number written with
    dots, /mesdonnees, a commune typed where it makes no sense, /stop."""
    user = server.user(73003, "Barnabé")
    person = Person(user, timeout=TIMEOUT)
    await person.play(["/start", "value:self"])
    sent: dict[str, Any] = {}

    async def unknown_command() -> None:
        sent.update(await user.send("/bidule Barnabé 06.71.93.25.48"))

    await answered(user, unknown_command)
    await answered(user, lambda: user.send_photo(caption="Barnabé, Rillieux-la-Pape, 06.71.93.25.48"))
    await answered(user, lambda: user.edit(int(sent["message"]["message_id"]), "Barnabé 06.71.93.25.48"))
    await person.play(["value:family_contact", "/humain", "value:yes", "06.71.93.25.48", "value:any", "value:skip",
                       "/mesdonnees", "Rillieux-la-Pape"])  # fmt: skip
    await person.play(["/stop"], ends=True)


async def mediator_claims_and_resolves(group: FakeGroup) -> None:
    """In the group: « Je m'en occupe » on Philomène's request, then « Appel fait »."""

    def post(g: FakeGroup) -> Any:
        return next((m for m in g.messages if m.from_bot and "Philomène" in (m.text or "")), None)

    await group.wait_for(lambda g: post(g) is not None and CLAIM in g.buttons(post(g)), TIMEOUT)
    message_id = post(group).message_id
    await group.press(MEDIATOR, CLAIM, message_id=message_id)
    await group.wait_for(lambda g: DONE in g.buttons(message_id), TIMEOUT)
    await group.press(MEDIATOR, DONE, message_id=message_id)
    await group.wait_for(lambda g: "Appel fait" in (g.message(message_id).text or ""), TIMEOUT)


# ----- the web chat and bad requests -----------------------------------------------------------------------------
class WebPerson:
    def __init__(self, client: aiohttp.ClientSession, base: str) -> None:
        self.client = client
        self.base = base
        self.last: dict[str, Any] = {}

    async def start(self) -> None:
        async with self.client.get(f"{self.base}/api/chat") as response:
            assert response.status == 200, await response.text()
            self.last = await response.json()

    async def say(self, line: str) -> dict[str, Any]:
        if line.startswith("value:"):
            value = line.removeprefix("value:")
            key = "values" if self.last.get("multi") else "value"
            body: dict[str, Any] = {key: [value] if key == "values" else value, "context": self.last["question"]}
        elif line.startswith("/"):
            body = {"command": line}
        else:
            body = {"text": line, "context": self.last["question"]}
        async with self.client.post(f"{self.base}/api/chat", json=body) as response:
            assert response.status == 200, await response.text()
            self.last = await response.json()
        return self.last


async def web_person(base: str) -> None:
    """The web chat: a typed commune, a wrong then a right number, a callback, /mesdonnees, then /oublier."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        person = WebPerson(client, base)
        await person.start()
        for line in ["value:self", "value:family_contact", "value:basic_phone", "value:curious", "value:money",
                     "value:70_79", "value:no", "value:easy", "Vénissieux", "value:yes", "value:yes", "Ermenegilde",
                     "07 61 48 92 35", "value:morning", "Ermenegilde", "/mesdonnees", "/oublier",
                     "value:yes"]:  # fmt: skip
            await person.say(line)
        assert person.last["done"] is True


async def bad_requests(base: str) -> None:
    """Refused requests carrying personal data: the web chat's API and the webhook."""
    secret = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    payload = "Zéphirine 06 11 22 33 44 Villeurbanne "
    malformed_update = {
        "update_id": 990001,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": "Philomène", "type": "private"},
            "from": {"id": 73001, "is_bot": False, "first_name": "Philomène"},
            "text": payload,
        },
    }
    as_json = {"Content-Type": "application/json"}
    calls: list[tuple[str, str, bytes, dict[str, str], int]] = [
        ("POST", "/api/chat", b'{"text": "' + payload.encode(), as_json, 400),
        ("POST", "/api/chat", json.dumps({"text": payload * 40}).encode(), as_json, 400),
        ("POST", "/api/chat", payload.encode(), {"Content-Type": "text/plain"}, 415),
        ("POST", "/api/chat", json.dumps({"command": "/" + payload}).encode(), as_json, 400),
        ("POST", "/api/chat", json.dumps({"text": payload}).encode(), {**as_json, "Origin": "https://a.example"}, 403),
        ("POST", WEBHOOK_PATH, payload.encode(), {**as_json, **secret}, 400),
        ("POST", WEBHOOK_PATH, json.dumps({"update_id": payload}).encode(), {**as_json, **secret}, 400),
        ("POST", WEBHOOK_PATH, json.dumps(malformed_update).encode(), {**as_json, **secret}, 400),
        ("POST", WEBHOOK_PATH, json.dumps(malformed_update).encode(), as_json, 401),
        ("GET", f"/mediateurs/demandes/{payload.strip()}", b"", {}, 0),
    ]  # fmt: skip
    async with aiohttp.ClientSession() as client:
        for method, path, body, headers, status in calls:
            async with client.request(method, base + path, data=body, headers=headers) as response:
                assert status == 0 or response.status == status, (path, response.status, await response.text())


# ----- the test --------------------------------------------------------------------------------------------------
@pytest.mark.slow
async def test_no_log_line_holds_a_phone_number_an_answer_or_a_first_name(tmp_path: Path) -> None:
    """At LOG_LEVEL=DEBUG, with Telegram (webhook) and the web chat, three people on Telegram and one on the web go
    through conversations with callbacks (numbers typed with spaces, dots, none, or shared as +33…; communes typed;
    first names from Telegram), a mediator claims and resolves one in the group, refused requests carry personal data
    (malformed webhook bodies, bad web bodies, an unknown command, a photo, an edited message), and /oublier is used
    on both channels. The log is not empty and shows debug lines; not one line holds a phone number in any format, a
    typed answer or a first name."""
    database, log, port = tmp_path / "bot.db", tmp_path / "bot.log", free_port()
    base = f"http://127.0.0.1:{port}"
    async with FakeTelegram() as server:
        group = server.group(GROUP, "Médiateurs")
        async with bot_process(server, database, log, port) as process:
            people = (philomene(server), anatolie(server), barnabe(server), web_person(base), bad_requests(base))
            await asyncio.gather(*people)
            await mediator_claims_and_resolves(group)
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 60) == 0
        menu = [c.params for c in server.calls_of("setMyCommands")]
    assert menu
    assert "mesdonnees" in json.dumps(menu[-1])

    with sqlite3.connect(database) as db:  # everything really happened
        statuses = sorted(r[0] for r in db.execute("SELECT status FROM callbacks"))
    assert statuses == ["cancelled", "cancelled", "done", "new"]

    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    assert len(lines) > 20
    for expected in ("web chat on", "Telegram: webhook set", " DEBUG bot.", "claimed by telegram:501", "stopping"):
        assert any(expected in line for line in lines), f"{expected!r} not logged: the scan would prove nothing"
    planted = f"2026-11-23 10:12:34,567 INFO bot.example: {PHONES[2]}"  # the scan works on this very log
    assert leaks([*lines, planted]) == [planted]
