"""Several `python -m bot run` processes in webhook mode on one database, behind a round-robin proxy, as an
operator deploys them (README "Passer à l'échelle"): the fake Bot API server posts each update to the proxy, which
hands it to the next process in turn. Shared by tests/app/test_multiprocess.py and benchmarks/scale.py."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.support.fake_telegram import FakeTelegram
from tests.support.telegram_harness import ROOT, SECRET, WEBHOOK_BASE, WEBHOOK_PATH, free_port

DEFAULT_COMMAND = (sys.executable, "-m", "bot", "run")
# A Fernet key for the processes of one test (several processes on PostgreSQL must share DATA_KEY).
TEST_DATA_KEY = "dGVzdC1rZXktb2YtcGFzc2VyZWxsZS1wcm9jZXNzZXM="


@dataclass
class RoundRobinProxy:
    """A load balancer on loopback: each POST goes to the next backend; a backend that cannot be reached (killed)
    answers 502, which Telegram (the fake server) retries, landing on the next one. With `duplicate_every` k, every
    k-th request is delivered a second time, to the next backend (as Telegram does when an answer is late)."""

    backends: list[str]
    duplicate_every: int = 0
    port: int = field(default_factory=free_port)
    forwarded: dict[int, int] = field(default_factory=dict)  # per backend: requests it answered
    unreachable: int = 0
    duplicated: int = 0
    _turn: int = 0
    _session: aiohttp.ClientSession | None = None
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        if not self.backends:
            return web.Response(status=502, text="no backend yet")
        turn = self._turn
        self._turn += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        body = await request.read()
        answer = await self._send(turn % len(self.backends), request, headers, body)
        if self.duplicate_every and turn % self.duplicate_every == 0 and answer.status == 200:
            self.duplicated += 1
            await self._send((turn + 1) % len(self.backends), request, headers, body)
        return answer

    async def _send(self, index: int, request: web.Request, headers: dict[str, str], body: bytes) -> web.Response:
        assert self._session is not None
        try:
            async with self._session.request(
                request.method, self.backends[index] + request.path_qs, data=body, headers=headers
            ) as answer:
                content = await answer.read()
                self.forwarded[index] = self.forwarded.get(index, 0) + 1
                return web.Response(status=answer.status, body=content, content_type=answer.content_type)
        except (TimeoutError, aiohttp.ClientConnectionError):
            self.unreachable += 1
            return web.Response(status=502, text="bad gateway")


@dataclass
class BotProcess:
    port: int
    process: asyncio.subprocess.Process
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)


def process_env(
    server: FakeTelegram, database_url: str, port: int, extra: dict[str, str] | None = None
) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_", "DATABASE_", "MEDIATOR_"))
    }
    return (
        env
        | {
            "TELEGRAM_BOT_TOKEN": server.token,
            "TELEGRAM_API_URL": server.api_url,
            "DATABASE_URL": database_url,
            "DATA_KEY": TEST_DATA_KEY,
            "WEBHOOK_URL": WEBHOOK_BASE + WEBHOOK_PATH,
            "WEBHOOK_SECRET": SECRET,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "PYTHONUNBUFFERED": "1",
        }
        | (extra or {})
    )


async def start_process(
    server: FakeTelegram,
    database_url: str,
    log: Path,
    extra: dict[str, str] | None = None,
    command: Sequence[str] = DEFAULT_COMMAND,
) -> BotProcess:
    """`python -m bot run` (or `command`) in a child process, returned once it answers /healthz (its webhook is set
    by then)."""
    port = free_port()
    with log.open("ab") as err:
        process = await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, env=process_env(server, database_url, port, extra), stderr=err
        )
    started = BotProcess(port, process, log)
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            if process.returncode is not None:
                raise AssertionError(f"the bot exited with {process.returncode}; see {log}")
            try:
                async with http.get(started.url + "/healthz") as answer:
                    if answer.status == 200:
                        return started
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    process.kill()
    raise AssertionError(f"the bot did not start within 30 s; see {log}")


@asynccontextmanager
async def bot_cluster(
    server: FakeTelegram,
    database_url: str,
    count: int,
    logs: Path,
    extra: dict[str, str] | None = None,
    command: Sequence[str] = DEFAULT_COMMAND,
    *,
    duplicate_every: int = 0,
) -> AsyncIterator[tuple[list[BotProcess], RoundRobinProxy]]:
    """`count` processes started one after the other (each sets the webhook, as a deployment does), then the proxy
    in front of them receiving Telegram's POSTs. Everything still running is stopped (SIGTERM) at the end.
    `command`: what each child runs (default `python -m bot run`)."""
    async with AsyncExitStack() as stack:
        processes: list[BotProcess] = []

        async def stop_all() -> None:
            for bot in processes:
                if bot.process.returncode is None:
                    bot.process.send_signal(signal.SIGTERM)
            for bot in processes:
                try:
                    await asyncio.wait_for(bot.process.wait(), 30)
                except TimeoutError:
                    bot.process.kill()
                    await bot.process.wait()

        proxy = RoundRobinProxy([], duplicate_every=duplicate_every)
        await proxy.start()
        stack.push_async_callback(proxy.stop)
        server.webhook_rewrite = lambda url: url.replace(WEBHOOK_BASE, proxy.url)
        stack.push_async_callback(stop_all)
        for index in range(count):
            processes.append(await start_process(server, database_url, logs / f"bot{index}.log", extra, command))
            proxy.backends.append(processes[-1].url)
        yield processes, proxy
