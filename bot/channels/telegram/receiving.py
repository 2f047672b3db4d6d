"""Updates coming in: fetched with getUpdates or posted to the webhook, recorded in the inbox, then handed over.

An update is acknowledged (webhook 2xx, next getUpdates offset) only once it is in the inbox. The inbox leases of
the updates in hand here are renewed while they wait, and the updates another process recorded and then left
unhandled, by dying, are taken over once their lease has run out.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable
from typing import Any, Self
from urllib.parse import urlparse

from aiohttp import web
from telegram import Bot
from telegram.error import Conflict, NetworkError, RetryAfter

from bot.channels.telegram.group import Press
from bot.channels.telegram.mapping import ALLOWED_UPDATES, Incoming
from bot.channels.telegram.transport import retry_seconds
from bot.config import Settings
from bot.core.backoff import Backoff
from bot.core.errors import StorageError
from bot.core.tasks import Tasks
from bot.storage.protocol import ChannelStore
from bot.storage.records import ReceivedUpdate

# The channel's log lines keep the one name they have always had, whichever of its parts writes them.
log = logging.getLogger("bot.channels.telegram.channel")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
POLL_TIMEOUT = 10  # seconds a getUpdates call waits for news
POLL_BACKOFF = Backoff(1.0, 30.0)  # pauses of polling while Telegram or the database fails
SWEEP_EVERY = 5.0  # seconds between renewals of the inbox leases held here (well within the lease) and adoptions
# An update in hand: as recorded, and what it asks when already read (None: to be read from the payload).
Item = tuple[ReceivedUpdate, Incoming | Press | None]
Reader = Callable[[dict[str, Any]], Incoming | Press | None]
HandOver = Callable[[int, Item], None]


class Receiving:
    def __init__(
        self,
        settings: Settings,
        store: ChannelStore,
        channel: str,
        bot: Bot,
        *,
        read: Reader,
        hand_over: HandOver,
        stopping: asyncio.Event,
        poll_timeout: int = POLL_TIMEOUT,
    ) -> None:
        """`read`: what an update asks (None: nothing the bot acts on). `hand_over(chat_id, item)`: queue an update
        for its chat. `stopping`: set when the channel stops (the updates recorded then wait for the next start)."""
        self.settings = settings
        self.store = store
        self.channel = channel
        self.bot = bot
        self.read = read
        self.hand_over = hand_over
        self.stopping = stopping
        self.poll_timeout = poll_timeout
        self.tasks = Tasks(log)
        self._in_hand: set[int] = set()  # update ids queued or being handled here

    @property
    def webhook_path(self) -> str | None:
        if self.settings.webhook_url is None:
            return None
        return urlparse(self.settings.webhook_url).path or "/"

    def install(self, app: web.Application) -> None:
        """Add the webhook route to the web server (before it starts), when a webhook is configured."""
        if self.webhook_path is not None:
            app.router.add_post(self.webhook_path, self.webhook)

    def release(self, update_id: int) -> None:
        """The update has been handled (or given up): its lease is no longer renewed from here."""
        self._in_hand.discard(update_id)

    # ----- life cycle ----------------------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        """Take up what an earlier run left, then receive: the webhook set, or getUpdates in a loop."""
        for received in await self.store.adopt_updates(self.channel, own_too=True):
            self._take(received, None)  # recorded by an earlier run (or a process that died), never handled
        self.tasks.create_task(self._sweep_regularly(), name="telegram inbox sweep")
        if self.settings.webhook_url is not None:
            await self.bot.set_webhook(
                self.settings.webhook_url,
                secret_token=self.settings.webhook_secret,
                allowed_updates=list(ALLOWED_UPDATES),
                max_connections=40,
            )
            log.info("Telegram: webhook set; updates arrive on %s", self.webhook_path)
        else:
            await self.bot.delete_webhook()  # getUpdates is refused while a webhook is set
            self.tasks.create_task(self._poll(), name="telegram polling")
            log.info("Telegram: polling for updates")
        return self

    async def __aexit__(self, *_exc: object) -> None:
        """Stop fetching (what Telegram posts now is recorded and left for the next start)."""
        self.stopping.set()
        await self.tasks.aclose()

    # ----- fetching ------------------------------------------------------------------------------------------
    async def _poll(self) -> None:
        offset: int | None = None
        delays = iter(POLL_BACKOFF)
        while not self.stopping.is_set():
            try:
                # Raw JSON, parsed once below (PTB's get_updates would build objects we would only take apart).
                raw = await self.bot.do_api_request(
                    "getUpdates",
                    api_kwargs={"offset": offset, "timeout": self.poll_timeout, "allowed_updates": ALLOWED_UPDATES},
                    read_timeout=self.poll_timeout + 10,
                )
                if raw:
                    await self.receive(raw)
                    offset = max(u["update_id"] for u in raw) + 1  # the next call acknowledges them: recorded
                delays = iter(POLL_BACKOFF)
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
            except (NetworkError, Conflict, StorageError) as exc:
                # Not recorded, not acknowledged: Telegram gives them again at the next call.
                delay = next(delays)
                log.warning("Telegram polling paused %.0f s: %s: %s", delay, exc.__class__.__name__, exc)
                await asyncio.sleep(delay)

    async def webhook(self, request: web.Request) -> web.Response:
        """Telegram's POST. 401 without the right secret; 2xx only once the update is recorded (503 when the
        database cannot record it: Telegram delivers it again later)."""
        secret = (self.settings.webhook_secret or "").encode()
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, "").encode(), secret):
            return web.json_response({"error": "unauthorized"}, status=401)
        if request.content_type != "application/json":
            return web.json_response({"error": "expected application/json"}, status=415)
        try:
            data = await request.json()
        except (ValueError, RecursionError):  # not JSON (nor UTF-8), or nested deeper than the parser goes
            return web.json_response({"error": "the body is not JSON"}, status=400)
        update_id = data.get("update_id") if isinstance(data, dict) else None
        # A whole number the database's BIGINT holds: a larger one would fail to be recorded on every delivery.
        if not isinstance(update_id, int) or isinstance(update_id, bool) or not 0 <= update_id < 2**63:
            return web.json_response({"error": "not a Telegram update"}, status=400)
        try:
            await self.receive([data], strict=True)
        except StorageError:
            log.warning("Telegram webhook: database unavailable; update %s refused for redelivery", data["update_id"])
            return web.json_response({"error": "try again later"}, status=503)
        except ValueError:
            return web.json_response({"error": "not a Telegram update"}, status=400)
        return web.json_response({"ok": True})

    # ----- the inbox -----------------------------------------------------------------------------------------
    async def receive(self, payloads: list[dict[str, Any]], *, strict: bool = False) -> None:
        """Record the updates the bot acts on, then hand the new ones over. A repeat (same update_id) is
        recorded once, so it is handled once. A malformed update raises ValueError when `strict` (the
        webhook answers 400), else it is logged and skipped (polling must go on)."""
        wanted: dict[int, tuple[ReceivedUpdate, Incoming | Press]] = {}
        for payload in payloads:
            try:
                incoming = self.read(payload)
            except (KeyError, TypeError, ValueError) as exc:
                if strict:
                    raise ValueError("not a Telegram update") from exc
                log.warning("update %s skipped: not in the Bot API's shape", payload.get("update_id"))
                continue
            if incoming is not None:
                update_id = payload["update_id"]
                wanted[update_id] = (ReceivedUpdate(update_id, incoming.chat_id, payload), incoming)
        for received in await self.store.record_updates(self.channel, [w[0] for w in wanted.values()]):
            if self.stopping.is_set():
                continue  # recorded: handled at the next start
            self._take(*wanted[received.update_id])

    def _take(self, received: ReceivedUpdate, incoming: Incoming | Press | None) -> None:
        """Queue an update for its chat, unless it is already in hand here."""
        if received.update_id not in self._in_hand:
            self._in_hand.add(received.update_id)
            self.hand_over(received.chat_id, (received, incoming))

    async def _sweep_regularly(self) -> None:
        """Keep the updates in hand here leased to this process, and take up those another process recorded (and
        acknowledged) and then left unhandled, by dying: their lease ran out. (Even handled twice at once, an update
        counts once: finish_update.)"""
        while not self.stopping.is_set():
            await asyncio.sleep(SWEEP_EVERY)
            try:
                if self._in_hand:
                    await self.store.renew_updates(self.channel, sorted(self._in_hand))
                adopted = await self.store.adopt_updates(self.channel)
            except StorageError as exc:
                log.warning("inbox leases not renewed this round: %s", exc)
                continue
            if adopted:
                log.info("Telegram: %d updates left by a stopped process taken over", len(adopted))
            for received in adopted:
                self._take(received, None)
