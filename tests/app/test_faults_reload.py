"""Faults survived: a broken flow or queue file deployed. The running bot reloads FLOWS_DIR (flow, messages,
personas) and CATALOGUE_DIR/queues.yaml when they change and on SIGHUP (bot/app/reload.py), with the loaders of
start-up and `flows check`: a broken set is refused whole (the log names file:line, the bot keeps the version
it runs), a good one is served at once, without a restart. A broken file at start-up stops the start (exit 1)."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app.reload import Reloader
from bot.app.root import open_app
from bot.channels.telegram.channel import TelegramChannel
from bot.config import Settings
from bot.core.errors import StorageError
from bot.core.messages import Inbound
from tests.support.telegram_harness import ROOT, free_port, whole_conversation

WELCOME = "Bonjour et bienvenue !"
NEW_WELCOME = "Bonjour, et bienvenue sur Passerelle !"
# The web chat's own welcome (the flow's `web:` variant of it).
WEB_WELCOME = "Bonjour ! Quelques questions simples"
NEW_WEB_WELCOME = "Bonjour, et bienvenue sur Passerelle ! Quelques questions simples"


@dataclass
class Deployment:
    """Copies of the shipped flows and queues that a test edits as a coordinator would, in place."""

    flows: Path
    catalogue: Path

    @property
    def flow(self) -> Path:
        return self.flows / "orientation.yaml"

    @property
    def queues(self) -> Path:
        return self.catalogue / "queues.yaml"

    def edit(self, path: Path, old: str, new: str) -> int:
        """Replace `old` (found once) by `new`; returns the line where the change starts."""
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, old
        path.write_text(text.replace(old, new), encoding="utf-8")
        return text[: text.index(old)].count("\n") + 1

    def env(self) -> dict[str, str]:
        return {"FLOWS_DIR": str(self.flows), "CATALOGUE_DIR": str(self.catalogue)}


@pytest.fixture
def deployment(tmp_path: Path) -> Deployment:
    flows, catalogue = tmp_path / "flows", tmp_path / "catalogue"
    shutil.copytree(ROOT / "flows", flows)
    catalogue.mkdir()  # the queues only: no offer file (no place to recommend, which these tests do not need)
    shutil.copy(ROOT / "catalogue" / "queues.yaml", catalogue / "queues.yaml")
    return Deployment(flows, catalogue)


def break_flow(deployment: Deployment) -> int:
    """A step going to a step that does not exist; returns its line."""
    return deployment.edit(deployment.flow, "    next: pour_qui\n", "    next: pour_quii\n")


def break_queues(deployment: Deployment) -> int:
    """A negative target time in the `lyon` queue; returns its line."""
    return deployment.edit(deployment.queues, "    target_minutes: 240\n", "    target_minutes: -5\n")


async def eventually(condition: Callable[[], bool], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s")
        await asyncio.sleep(0.05)


def first_text(turn: Any) -> str:
    return str(turn.replies[0].text)


async def test_a_broken_set_is_refused_and_a_good_one_swapped_in(
    deployment: Deployment, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reloader of a running app (real SQLite storage, real files, a short interval): a broken flow and a broken
    queues file are refused together, each problem logged at ERROR as file:line, and nothing the bot serves
    changes. Once fixed, with new wording and a queue renamed, both are swapped in (after waiting for a database
    that cannot remember the new flow version at first): new conversations get the new wording, the one under way
    keeps its flow version, and the engine, the callback desk, the mediators' views and the Telegram channel (its
    buttons' labels, its mediators' groups) route and describe with the new files."""
    settings = Settings.from_env(
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            "TELEGRAM_BOT_TOKEN": "123456:TEST-token",  # the channel is built, never started: no call is made
            "TELEGRAM_API_URL": f"http://127.0.0.1:{free_port()}/bot",
            **deployment.env(),
        }
    )
    caplog.set_level(logging.INFO, logger="bot.app.reload")
    async with open_app(settings) as app:
        engine, desk = app.engine, app.desk
        assert desk is not None
        channel = TelegramChannel(settings, engine, app.storage, desk=desk, describer=app.describer)
        assert channel.mediators is not None
        reloader = Reloader(app, interval=0.05)
        watching = asyncio.create_task(reloader.run())
        try:
            assert WELCOME in first_text(await engine.handle(Inbound.typed("test:under-way", "/start")))
            running, queues = engine.current, engine.queues

            flow_line, queue_line = break_flow(deployment), break_queues(deployment)
            await eventually(lambda: reloader.refusals == 1)
            errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
            assert any(f"{deployment.flow}:{flow_line}: étape `accueil`" in e for e in errors), errors
            assert any(f"{deployment.queues}:{queue_line}: " in e for e in errors), errors
            assert engine.current is running
            assert engine.queues is queues
            assert desk.queues is queues
            assert app.describer.queues is queues
            assert WELCOME in first_text(await engine.handle(Inbound.typed("test:during", "/start")))

            deployment.edit(deployment.flow, "    next: pour_quii\n", "    next: pour_qui\n")
            deployment.edit(deployment.flow, WELCOME, NEW_WELCOME)
            deployment.edit(deployment.queues, "    target_minutes: -5\n", "    target_minutes: 240\n")
            deployment.edit(deployment.queues, "  - name: lyon\n", "  - name: metropole\n")
            deployment.edit(deployment.flows / "messages.yaml", "📍 Envoyer ma position", "📍 Ma position")
            # The database cannot remember the new flow version at first: the reload waits, nothing changes.
            remember = app.storage.remember_flow_version

            async def unavailable(*_args: object) -> None:
                raise StorageError("database error: OperationalError")

            monkeypatch.setattr(app.storage, "remember_flow_version", unavailable)
            await eventually(lambda: any("reporté" in r.getMessage() for r in caplog.records))
            assert engine.current is running
            assert engine.queues is queues
            monkeypatch.setattr(app.storage, "remember_flow_version", remember)
            await eventually(lambda: reloader.reloads == 1)
        finally:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
        assert NEW_WELCOME in first_text(await engine.handle(Inbound.typed("test:after", "/start")))
        # Under way: still the version it started with (its restart says the old welcome again).
        assert WELCOME in "\n".join(
            r.text for r in (await engine.handle(Inbound.typed("test:under-way", "/start"))).replies
        )
        names = [q.name for q in engine.queues.all]
        assert "metropole" in names
        assert "lyon" not in names
        assert desk.queues is engine.queues
        assert app.describer.queues is engine.queues
        assert channel.mediators.queues is engine.queues  # the Telegram channel's own copies
        assert channel.labels.share_location == "📍 Ma position"
        assert engine.current.flow.version != running.flow.version
        infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
        assert any(m.startswith("rechargé (fichiers modifiés) : parcours `orientation` version") for m in infos), infos


# ----- the real process ----------------------------------------------------------------------------------------
@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    base: str
    log: Path

    def logged(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    async def wait_logged(self, part: str, within: float = 15.0) -> None:
        """Until the log has `part` (the watcher looks every 2 s, and waits for one more look)."""
        try:
            await eventually(lambda: part in self.logged(), within)
        except AssertionError:
            raise AssertionError(f"{part!r} not logged within {within} s:\n{self.logged()[-3000:]}") from None


@asynccontextmanager
async def bot_process(deployment: Deployment, tmp_path: Path) -> AsyncIterator[BotProcess]:
    """`python -m bot run` (web chat only, no Telegram) on the deployment's files, ready once /healthz answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_", "DATABASE_"))}
    env |= deployment.env() | {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "bot.log"
    with log.open("ab") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env, stderr=err
        )
    running = BotProcess(process, f"http://127.0.0.1:{port}", log)
    try:
        await running.wait_logged("web chat on", 30)
        yield running
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


class WebPerson:
    """Someone in the web chat: one cookie jar, the question's token sent back with each button."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # cookies of 127.0.0.1
        self.last: dict[str, Any] = {}

    async def __aenter__(self) -> WebPerson:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.session.close()

    async def start(self) -> str:
        async with self.session.get(f"{self.base}/api/chat") as response:
            assert response.status == 200, await response.text()
            self.last = await response.json()
        return self.text()

    async def say(self, line: str) -> dict[str, Any]:
        if line.startswith("value:"):
            values = line.removeprefix("value:").split(",")
            body: dict[str, Any] = (
                {"values": values, "context": self.last["question"]}
                if self.last.get("multi")
                else {"value": values[0], "context": self.last["question"]}
            )
        elif line.startswith("/"):
            body = {"command": line}
        elif line.startswith("contact:"):
            body = {"text": "06 12 34 56 78"}
        else:
            body = {"text": line}
        async with self.session.post(f"{self.base}/api/chat", json=body) as response:
            assert response.status == 200, await response.text()
            self.last = await response.json()
        return self.last

    def text(self) -> str:
        return "\n".join(reply["text"] for reply in self.last["replies"])


async def callback_queue(base: str) -> str:
    """A whole conversation in the web chat from Lyon 3e to a callback request: the queue it was routed to."""
    async with WebPerson(base) as person:
        await person.start()
        for line in whole_conversation("timide")[1:]:
            turn = await person.say(line)
            if turn["callback"] is not None:
                return str(turn["callback"]["queue"])
    raise AssertionError(f"no callback request recorded; last turn: {person.last}")


@pytest.mark.slow
async def test_the_running_process_refuses_a_broken_deploy_and_serves_the_fixed_one(
    deployment: Deployment, tmp_path: Path
) -> None:
    """`python -m bot run` on copies of the files. A broken flow and a broken queues file deployed while it runs:
    the log says ERROR with each file:line, and the bot keeps answering with the old wording and routing with the
    old queues. The fixed files (new wording, the `lyon` queue renamed) are served without a restart; SIGHUP
    reloads at once; SIGTERM still stops it cleanly."""
    async with bot_process(deployment, tmp_path) as bot:
        async with WebPerson(bot.base) as person:
            assert WEB_WELCOME in await person.start()

        flow_line, queue_line = break_flow(deployment), break_queues(deployment)
        await bot.wait_logged(
            f"ERROR bot.app.reload: rechargement refusé : {deployment.flow}:{flow_line}: étape `accueil`"
        )
        await bot.wait_logged(f"ERROR bot.app.reload: rechargement refusé : {deployment.queues}:{queue_line}: ")
        async with WebPerson(bot.base) as person:
            assert WEB_WELCOME in await person.start()
        assert await callback_queue(bot.base) == "lyon"

        deployment.edit(deployment.flow, "    next: pour_quii\n", "    next: pour_qui\n")
        deployment.edit(deployment.flow, WEB_WELCOME, NEW_WEB_WELCOME)
        deployment.edit(deployment.queues, "    target_minutes: -5\n", "    target_minutes: 240\n")
        deployment.edit(deployment.queues, "  - name: lyon\n", "  - name: metropole\n")
        await bot.wait_logged("INFO bot.app.reload: rechargé (fichiers modifiés) : parcours `orientation`")
        async with WebPerson(bot.base) as person:
            assert NEW_WEB_WELCOME in await person.start()
        assert await callback_queue(bot.base) == "metropole"

        bot.process.send_signal(signal.SIGHUP)
        await bot.wait_logged("INFO bot.app.reload: rechargé (SIGHUP)", 5)
        bot.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bot.process.wait(), 30) == 0
    assert bot.logged().count("rechargement refusé : ") == 2  # each problem once: a refused set is not read again


def test_a_broken_file_at_start_stops_the_start_with_file_and_line(deployment: Deployment, tmp_path: Path) -> None:
    """`python -m bot run` with a broken flow and a broken queues file exits 1 before serving anything, printing
    every problem of both as file:line: message."""
    flow_line, queue_line = break_flow(deployment), break_queues(deployment)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_", "DATABASE_"))}
    env |= deployment.env() | {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", "PORT": str(free_port())}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stderr
    assert (
        f"{deployment.flow}:{flow_line}: étape `accueil` : mène à l'étape `pour_quii`, qui n'existe pas ; "
        "vouliez-vous dire `pour_qui` ?"
    ) in done.stderr
    assert f"{deployment.queues}:{queue_line}: " in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "bot.db").exists()  # refused before the database was opened
