"""Running the real bot (`bot.app.server.serve`, python-telegram-bot inside) against the fake Bot API server, and
playing people who talk to it the way the YAML flow tests do: `value:a,b` presses buttons, anything else is
typed. Shared by the end-to-end tests and benchmarks/telegram.py."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from bot.app.root import App
from bot.app.server import serve
from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.limits import RateLimits
from bot.channels.telegram.mapping import decode_button, decode_map
from bot.config import Settings
from tests.support.fake_telegram import FakeTelegram, FakeUser

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_BASE = "https://passerelle.example.test"
WEBHOOK_PATH = "/telegram/webhook"
SECRET = "s3cret-Webhook_token"
# Fast enough for tests, still per chat and overall: conversations of many turns are not slowed to 1 message/s.
RELAXED = RateLimits(per_chat=(20, 1.0), overall=(1000, 1.0), group=(20, 60.0))

# Whole conversations of the shipped flow, one per persona (from flows/tests/orientation.tests.yaml), then the
# place, the offers and a callback request with the phone shared by Telegram's button.
PERSONAS: dict[str, list[str]] = {
    "refractaire": ["value:admin_procedures", "value:basic_phone", "value:refuses", "value:health,money",
                    "value:80_plus", "value:yes"],
    "novice_curieux": ["value:family_contact,daily_life", "value:basic_phone", "value:curious", "value:money,language",
                       "value:60_69", "value:no"],
    "sans_reperes": ["value:family_contact", "value:smartphone", "value:rarely", "value:yes", "value:indifferent",
                     "value:interest", "value:70_79"],
    "timide": ["value:family_contact,leisure", "value:smartphone,computer", "value:daily", "value:intermediate",
               "value:unsure", "value:confidence"],
    "melancolique": ["value:office_skills,admin_procedures", "value:computer,smartphone", "value:weekly",
                     "value:intermediate", "value:critical", "value:interest"],
    "modere": ["value:admin_procedures", "value:smartphone,tablet,computer", "value:weekly", "value:advanced",
               "value:pragmatic", "value:time"],
}  # fmt: skip


def whole_conversation(persona: str, name: str = "Jeanne") -> list[str]:
    return ["/start", "value:self", *PERSONAS[persona], "value:easy", "69003", "value:yes", "value:yes",
            "contact:+33612345678", "value:morning", name]  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_settings(server: FakeTelegram, database: Path, *, webhook: bool = False, port: int | None = None) -> Settings:
    env = {
        "TELEGRAM_BOT_TOKEN": server.token,
        "TELEGRAM_API_URL": server.api_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "HOST": "127.0.0.1",
        "PORT": str(port or free_port()),
        "FLOWS_DIR": str(ROOT / "flows"),
        "CATALOGUE_DIR": str(ROOT / "catalogue"),
    }
    if webhook:
        env |= {"WEBHOOK_URL": WEBHOOK_BASE + WEBHOOK_PATH, "WEBHOOK_SECRET": SECRET}
    return Settings.from_env(env)


def route_webhook(server: FakeTelegram, settings: Settings) -> None:
    """The TLS proxy in front of the bot: Telegram posts to https://…, the bot listens on loopback."""
    server.webhook_rewrite = lambda url: url.replace(WEBHOOK_BASE, f"http://127.0.0.1:{settings.port}")


@dataclass
class RunningBot:
    app: App
    channel: TelegramChannel
    settings: Settings


@contextlib.asynccontextmanager
async def running_bot(
    server: FakeTelegram, settings: Settings, *, limits: RateLimits | None = RELAXED
) -> AsyncIterator[RunningBot]:
    """The bot serving until the block ends (then stopped cleanly, as on SIGTERM)."""
    if settings.webhook_url is not None:
        route_webhook(server, settings)
    stop = asyncio.Event()
    ready: asyncio.Future[RunningBot] = asyncio.get_running_loop().create_future()

    def on_ready(app: App, channel: TelegramChannel | None) -> None:
        assert channel is not None
        ready.set_result(RunningBot(app, channel, settings))

    task = asyncio.create_task(serve(settings, stop=stop, on_ready=on_ready, limits=limits))
    done, _ = await asyncio.wait({task, ready}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # raises what stopped it
        raise AssertionError("the bot stopped before it was ready")
    if ready not in done:
        task.cancel()
        raise TimeoutError("the bot was not ready within 30 s")
    try:
        yield ready.result()
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def is_question(user: FakeUser) -> bool:
    """The bot's latest message asks something: it carries answer buttons (not just a map) or a share keyboard."""
    last = user.last
    markup = (last.sent_markup if last is not None else None) or {}
    buttons = [b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row]
    return "keyboard" in markup or any(decode_map(data) is None for data in buttons)


class Person:
    """Someone talking to the bot in Telegram, one line at a time (like the YAML flow tests)."""

    def __init__(self, user: FakeUser, timeout: float = 15.0) -> None:
        self.user = user
        self.timeout = timeout

    async def say(self, line: str, *, expect_question: bool = True) -> None:
        """Do what the line says, then wait for the bot's turn to end (a new question, or any reply)."""
        chat = self.user.chat
        mark = chat.activity
        if line.startswith("value:"):
            values = line.removeprefix("value:").split(",")
            if "/valider" in self.values():  # several choices: tick each (the message is edited), then confirm
                for value in values:
                    before = chat.activity
                    await self.press_value(value)
                    await self.user.wait_for(lambda _u, before=before: chat.activity > before, self.timeout)
                mark = chat.activity
                await self.press_value("/valider")
            else:
                await self.press_value(values[0])
        elif line.startswith("contact:"):
            await self.user.share_contact(line.removeprefix("contact:"))
        elif line.startswith("location:"):
            latitude, _, longitude = line.removeprefix("location:").partition(",")
            await self.user.share_location(float(latitude), float(longitude))
        else:
            await self.user.send(line)

        def answered(user: FakeUser) -> bool:
            return chat.activity > mark and (is_question(user) or not expect_question)

        await self.user.wait_for(answered, self.timeout)

    def values(self) -> list[str]:
        last = self.user.last
        markup = (last.reply_markup or {}) if last is not None else {}
        return [
            decode_button(button["callback_data"])[1]
            for row in markup.get("inline_keyboard", [])
            for button in row
            if "callback_data" in button
        ]

    async def press_value(self, value: str) -> None:
        last = self.user.last
        assert last is not None, self.user.summary()
        assert last.reply_markup, self.user.summary()
        for row in last.reply_markup.get("inline_keyboard", []):
            for button in row:
                if decode_button(button.get("callback_data", ""))[1] == value:
                    await self.user.press(button["text"], message_id=last.message_id)
                    return
        raise AssertionError(f"no button for value {value!r}; {self.user.summary()}")

    async def play(self, lines: list[str], *, ends: bool = False) -> None:
        """Each line waits for the bot's next question; with `ends`, the last one only for a reply."""
        for index, line in enumerate(lines):
            await self.say(line, expect_question=not (ends and index == len(lines) - 1))
