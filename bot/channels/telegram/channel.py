"""The Telegram channel: python-telegram-bot's Application, run inside our event loop, only for transport.

    getUpdates loop ─┐                                     ┌─ per chat, in order ─┐
                     ├─► inbox (recorded, then acked) ─► KeyedQueues ─► Engine.handle ─► outbox rows ─► Outbox
    webhook POST ────┘     (a repeat is recorded once)                (same transaction)   (rate-limited, retried)
         receiving                                                        handling                  sending

An update is acknowledged (webhook 2xx, next getUpdates offset) only once it is in the inbox; the turn, its
replies (outbox rows) and the update marked handled are committed together. So after a crash at any point an
acknowledged update is handled exactly once and its replies are sent at least once.

This module puts the parts together and runs them while `async with channel:` lasts; receiving and handling
have a module each, sending is the outbox's.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from contextlib import AsyncExitStack
from typing import Any, Self

from aiohttp import web
from telegram import BotCommand
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, ApplicationBuilder
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from bot.callbacks.desk import CallbackDesk
from bot.callbacks.view import Describer
from bot.channels.ordered import KeyedQueues
from bot.channels.telegram.group import NOTICE_METHOD, POST_METHOD
from bot.channels.telegram.handling import Handling
from bot.channels.telegram.limits import Limiter, RateLimits
from bot.channels.telegram.mapping import Labels
from bot.channels.telegram.mediators import TelegramMediators
from bot.channels.telegram.outbox import Outbox, RetryLater, Undeliverable
from bot.channels.telegram.receiving import POLL_TIMEOUT, Item, Receiving
from bot.channels.telegram.transport import AiohttpRequest, retry_seconds
from bot.config import Settings
from bot.core.commands import CANCEL, FORGET, HELP, HUMAN, MY_DATA, START, STOP
from bot.core.errors import BotError
from bot.core.tasks import Tasks
from bot.engine.engine import Engine
from bot.storage.protocol import ChannelStore
from bot.storage.records import OutgoingRow

log = logging.getLogger(__name__)
TELEGRAM_LIMITS = RateLimits()
OUTGOING_CONNECTIONS = 128
STOP_WITHIN = 10.0  # seconds stopping waits for the updates in hand, then for the outbox
# The bot's command menu in Telegram ("/" button).
COMMANDS = tuple(
    (command.removeprefix("/"), description)
    for command, description in (
        (START, "Recommencer depuis le début"),
        (HELP, "Comment ça marche"),
        (HUMAN, "Être rappelé par une personne"),
        (MY_DATA, "Voir ce que vous gardez sur moi"),
        (FORGET, "Effacer mes données"),
        (CANCEL, "Annuler ma demande de rappel"),
        (STOP, "Arrêter la conversation"),
    )
)


def file_url_for(api_url: str) -> str:
    """PTB's file URL beside TELEGRAM_API_URL: …/bot → …/file/bot."""
    base, _, tail = api_url.rstrip("/").rpartition("/")
    return f"{base}/file/{tail}"


class TelegramChannel:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        store: ChannelStore,
        *,
        limits: RateLimits | None = TELEGRAM_LIMITS,
        concurrency: int = 64,
        poll_timeout: int = POLL_TIMEOUT,
        desk: CallbackDesk | None = None,
        describer: Describer | None = None,
    ) -> None:
        """With a `desk` and its `describer`, the channel also serves the mediators' groups: `mediators`, which the
        composition root gives the desk as one of its notifiers."""
        if settings.telegram_token is None:
            raise BotError("the Telegram channel needs TELEGRAM_BOT_TOKEN")
        # The outbox replays stored calls by method name (do_api_request); PTB would suggest its typed methods.
        warnings.filterwarnings("ignore", r"Please use 'Bot\.", PTBUserWarning)
        # Read on purpose (retry_seconds); PTB itself reads it once more when a 429 arrives.
        warnings.filterwarnings("ignore", r".*`retry_after`", PTBDeprecationWarning)
        self.settings = settings
        self.engine = engine
        self.store = store
        self.channel = f"telegram:{settings.telegram_token.partition(':')[0]}"
        self.application: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(settings.telegram_token)
            .base_url(settings.telegram_api_url)
            .base_file_url(file_url_for(settings.telegram_api_url))
            .updater(None)  # we fetch ourselves: PTB's Updater acknowledges updates before they are recorded
            .request(AiohttpRequest(OUTGOING_CONNECTIONS))
            .get_updates_request(AiohttpRequest(1, read_timeout=poll_timeout + 10))
            .build()
        )
        bot = self.application.bot
        self.outbox = Outbox(store, self.channel, self._call, Limiter(limits), concurrency=OUTGOING_CONNECTIONS)
        # Callback requests: the person told in their chat, the mediators' groups (when there is a desk).
        self.mediators: TelegramMediators | None = None
        if desk is not None and describer is not None:
            self.mediators = TelegramMediators(self.channel, desk, describer, self.outbox, self.api)
        self.tasks = Tasks(log)  # beside the handling: the answers to button presses
        stopping = asyncio.Event()
        self.handling = Handling(
            engine,
            store,
            self.channel,
            bot,
            self.outbox,
            mediators=self.mediators,
            labels=lambda: self.labels,
            stopping=stopping,
            tasks=self.tasks,
        )
        # Between the two halves: the updates recorded, queued per chat, handled in order.
        self.updates: KeyedQueues[Item] = KeyedQueues(self._handle, concurrency=concurrency, name="telegram updates")
        self.receiving = Receiving(
            settings,
            store,
            self.channel,
            bot,
            read=self.handling.read,
            hand_over=self.updates.put,
            stopping=stopping,
            poll_timeout=poll_timeout,
        )
        self._running = AsyncExitStack()

    @property
    def labels(self) -> Labels:
        """The labels of the buttons the channel adds, in the wording of the flow in force (it may be reloaded)."""
        text = self.engine.text
        return Labels(text("share_location_label"), text("share_contact_label"), text("map_label"))

    def install(self, app: web.Application) -> None:
        """Add the webhook route to the web server (before it starts), when a webhook is configured."""
        self.receiving.install(app)

    async def _handle(self, item: Item) -> None:
        try:
            await self.handling.handle(item)
        finally:
            self.receiving.release(item[0].update_id)

    # ----- life cycle ----------------------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        """Started in order, stopped in reverse: the Application (getMe), the outbox (what an earlier run left
        unsent), the updates an earlier run left, then receiving. Leaving: stop fetching, finish the updates in
        hand, send what can be sent, close; what is left stays in the inbox and outbox for the next start."""
        async with AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(self.application)  # getMe: a wrong token fails here, clearly
            except InvalidToken:
                raise BotError("Telegram refused TELEGRAM_BOT_TOKEN: check it with @BotFather") from None
            except NetworkError as exc:
                raise BotError(f"cannot reach the Telegram Bot API at TELEGRAM_API_URL: {exc}") from None
            await self.application.start()
            stack.push_async_callback(self.application.stop)
            await self.application.bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])
            stack.push_async_callback(self.tasks.aclose)
            await self.outbox.start()
            stack.push_async_callback(self._close_outbox)
            stack.push_async_callback(self._close_updates)
            await stack.enter_async_context(self.receiving)
            self._running = stack.pop_all()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._running.aclose()

    async def _close_updates(self) -> None:
        if not await self.updates.join(STOP_WITHIN):
            log.warning("Telegram: %d updates left for the next start", len(self.updates))
        await self.updates.close()

    async def _close_outbox(self) -> None:
        if not await self.outbox.drain(STOP_WITHIN):
            log.warning("Telegram: %d messages left unsent for the next start", len(self.outbox))
        await self.outbox.close()

    # ----- sending -------------------------------------------------------------------------------------------
    async def _call(self, row: OutgoingRow) -> None:
        """One outbox row, through PTB. Failures sorted into retry later / give up."""
        if row.method == POST_METHOD:
            if self.mediators is not None:  # else: a row left by a run with a desk; nothing can render it
                await self.mediators.send_post(row)
            return
        if row.method == NOTICE_METHOD:
            if self.mediators is not None:
                await self.mediators.send_notice(row)
            else:  # a row left by a run with a desk: the news still goes
                await self.api("sendMessage", {k: v for k, v in row.params.items() if k != "callback_id"})
            return
        result = await self.api(row.method, row.params)
        if result is None and row.method == "editMessageText":
            # The message to edit is gone or too old: show the question anew instead.
            await self.api("sendMessage", {k: v for k, v in row.params.items() if k != "message_id"})

    async def api(self, method: str, params: dict[str, Any]) -> Any:
        """One Bot API call: its result; True when an edit changed nothing; None when the message to edit is gone
        or too old. Raises RetryLater (flood limit, network, 5xx) or Undeliverable."""
        try:
            return await self.application.bot.do_api_request(method, api_kwargs=params)
        except RetryAfter as exc:
            raise RetryLater("Telegram flood limit", retry_seconds(exc), everything=True) from None
        except Forbidden as exc:
            raise Undeliverable(f"Telegram refused: {exc.message}") from None
        except ChatMigrated as exc:
            # A mediators' group became a supergroup: its id changed, and only the operator can say where to post.
            log.error(
                "Telegram group %s became the supergroup %s: put the new id in catalogue/queues.yaml (or "
                "MEDIATOR_CHAT_ID) and restart; messages for the old id are dropped meanwhile",
                params.get("chat_id"),
                exc.new_chat_id,
            )
            raise Undeliverable(f"{method}: the group became the supergroup {exc.new_chat_id}") from None
        except BadRequest as exc:
            message = exc.message.lower()
            if "not modified" in message:
                return True  # the message already shows this: done
            if method.startswith("editMessage") and ("not found" in message or "can't be edited" in message):
                return None
            raise Undeliverable(f"{method} refused by Telegram: {exc.message}") from None
        except NetworkError as exc:  # includes TimedOut and 5xx answers
            raise RetryLater(f"{exc.__class__.__name__}: {exc.message}") from None
