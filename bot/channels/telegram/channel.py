"""The Telegram channel: python-telegram-bot's Application, run inside our event loop, only for transport.

    getUpdates loop ─┐                                     ┌─ per chat, in order ─┐
                     ├─► inbox (recorded, then acked) ─► KeyedQueues ─► Engine.handle ─► outbox rows ─► Outbox
    webhook POST ────┘     (a repeat is recorded once)                (same transaction)   (rate-limited, retried)

An update is acknowledged (webhook 2xx, next getUpdates offset) only once it is in the inbox; the turn, its
replies (outbox rows) and the update marked handled are committed together. So after a crash at any point an
acknowledged update is handled exactly once and its replies are sent at least once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import warnings
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from aiohttp import web
from telegram import BotCommand
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import Application, ApplicationBuilder
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from bot.callbacks.desk import CallbackDesk
from bot.callbacks.queues import QueueSet
from bot.callbacks.view import Describer
from bot.channels.ordered import KeyedQueues
from bot.channels.telegram.group import POST_METHOD, Press, read_press
from bot.channels.telegram.limits import Limiter, RateLimits
from bot.channels.telegram.mapping import (
    ALLOWED_UPDATES,
    Incoming,
    Labels,
    read_update,
    render_map,
    render_text,
    render_turn,
)
from bot.channels.telegram.mediators import TelegramMediators
from bot.channels.telegram.outbox import Outbox, RetryLater, Undeliverable
from bot.channels.telegram.transport import AiohttpRequest
from bot.config import Settings
from bot.core.commands import CANCEL, FORGET, HELP, HUMAN, MY_DATA, START, STOP
from bot.core.errors import BotError, ConflictError, StorageError
from bot.core.messages import Turn
from bot.engine.engine import Engine
from bot.storage.protocol import ChannelStore, TurnTransaction
from bot.storage.records import Outgoing, OutgoingRow, ReceivedUpdate

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TELEGRAM_LIMITS = RateLimits()
OUTGOING_CONNECTIONS = 128
POLL_TIMEOUT = 10  # seconds a getUpdates call waits for news
STORAGE_RETRY = (0.5, 10.0)  # first and longest wait before handling an update again when the database fails
CATCH_UP_LIMIT = 1000  # handlings of a chat's earlier updates one update may take on first (a bound, never reached)
SWEEP_EVERY = 5.0  # seconds between renewals of the inbox leases held here (well within the lease) and adoptions
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


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Superseded(Exception):
    """The update was handled by another process meanwhile: this handling's transaction is rolled back."""


class Behind(Exception):
    """An earlier update of the same chat is still unhandled (recorded by another process, or before a crash): this
    handling is rolled back, that one is handled first."""

    def __init__(self, earlier: ReceivedUpdate) -> None:
        super().__init__(earlier.update_id)
        self.earlier = earlier


def _log_failure(task: asyncio.Task[None]) -> None:
    """A background task that ended on an unexpected error says so (its traceback), instead of vanishing."""
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("background task %s failed", task.get_name(), exc_info=error)


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
        queues: QueueSet | None = None,
    ) -> None:
        if settings.telegram_token is None:
            raise BotError("the Telegram channel needs TELEGRAM_BOT_TOKEN")
        # The outbox replays stored calls by method name (do_api_request); PTB would suggest its typed methods.
        warnings.filterwarnings("ignore", r"Please use 'Bot\.", PTBUserWarning)
        # Read on purpose (retry_seconds); PTB itself reads it once more when a 429 arrives.
        warnings.filterwarnings("ignore", r".*`retry_after`", PTBDeprecationWarning)
        self.settings = settings
        self.engine = engine
        self.store = store
        self.poll_timeout = poll_timeout
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
        self.labels = self._labels()
        self.updates: KeyedQueues[tuple[ReceivedUpdate, Incoming | Press | None]] = KeyedQueues(
            self._handle, concurrency=concurrency, name="telegram updates"
        )
        self.outbox = Outbox(store, self.channel, self._call, Limiter(limits), concurrency=OUTGOING_CONNECTIONS)
        # Callback requests: the person told in their chat, the mediators' groups (when there is a desk).
        self.mediators: TelegramMediators | None = None
        if desk is not None and describer is not None and queues is not None:
            self.mediators = TelegramMediators(self.channel, desk, describer, queues, self.outbox, self.api)
            desk.add_notifier(self.mediators)
        self._tasks: set[asyncio.Task[None]] = set()
        self._poller: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._in_hand: set[int] = set()  # update ids queued or being handled here
        self._stopping = asyncio.Event()

    def _labels(self) -> Labels:
        text = self.engine.text
        return Labels(text("share_location_label"), text("share_contact_label"), text("map_label"))

    def use(self, queues: QueueSet) -> None:
        """The flow and queue files were reloaded (bot/app/reload.py): take again what the channel keeps of its own,
        its buttons' labels (from the engine's new flow) and the mediators' queues."""
        self.labels = self._labels()
        if self.mediators is not None:
            self.mediators.queues = queues

    @property
    def webhook_path(self) -> str | None:
        if self.settings.webhook_url is None:
            return None
        return urlparse(self.settings.webhook_url).path or "/"

    def install(self, app: web.Application) -> None:
        """Add the webhook route to the web server (before it starts), when a webhook is configured."""
        if self.webhook_path is not None:
            app.router.add_post(self.webhook_path, self.webhook)

    # ----- life cycle ----------------------------------------------------------------------------------------
    async def start(self) -> None:
        try:
            await self.application.initialize()  # getMe: a wrong token fails here, with a clear message
        except InvalidToken:
            raise BotError("Telegram refused TELEGRAM_BOT_TOKEN: check it with @BotFather") from None
        except NetworkError as exc:
            raise BotError(f"cannot reach the Telegram Bot API at TELEGRAM_API_URL: {exc}") from None
        await self.application.start()
        bot = self.application.bot
        await bot.set_my_commands([BotCommand(name, description) for name, description in COMMANDS])
        await self.outbox.start()
        for received in await self.store.adopt_updates(self.channel, own_too=True):
            self._take(received, None)  # recorded by an earlier run (or a process that died), never handled
        self._sweeper = asyncio.create_task(self._sweep_regularly(), name="telegram inbox sweep")
        self._sweeper.add_done_callback(_log_failure)
        if self.settings.webhook_url is not None:
            await bot.set_webhook(
                self.settings.webhook_url,
                secret_token=self.settings.webhook_secret,
                allowed_updates=list(ALLOWED_UPDATES),
                max_connections=40,
            )
            log.info("Telegram: webhook set; updates arrive on %s", self.webhook_path)
        else:
            await bot.delete_webhook()  # getUpdates is refused while a webhook is set
            self._poller = asyncio.create_task(self._poll(), name="telegram polling")
            self._poller.add_done_callback(_log_failure)
            log.info("Telegram: polling for updates")

    async def stop(self, within: float = 10.0) -> None:
        """Stop fetching, finish the updates in hand, send what can be sent, close. What is left stays in the
        inbox and outbox for the next start."""
        self._stopping.set()
        for task in (self._poller, self._sweeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if not await self.updates.join(within):
            log.warning("Telegram: %d updates left for the next start", len(self.updates))
        await self.updates.close()
        if not await self.outbox.drain(within):
            log.warning("Telegram: %d messages left unsent for the next start", len(self.outbox))
        await self.outbox.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.application.stop()
        await self.application.shutdown()

    # ----- receiving -----------------------------------------------------------------------------------------
    async def _poll(self) -> None:
        bot = self.application.bot
        offset: int | None = None
        backoff = 1.0
        while not self._stopping.is_set():
            try:
                # Raw JSON, parsed once below (PTB's get_updates would build objects we would only take apart).
                raw = await bot.do_api_request(
                    "getUpdates",
                    api_kwargs={"offset": offset, "timeout": self.poll_timeout, "allowed_updates": ALLOWED_UPDATES},
                    read_timeout=self.poll_timeout + 10,
                )
                if raw:
                    await self.receive(raw)
                    offset = max(u["update_id"] for u in raw) + 1  # the next call acknowledges them: recorded
                backoff = 1.0
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
            except (NetworkError, Conflict, StorageError) as exc:
                # Not recorded, not acknowledged: Telegram gives them again at the next call.
                log.warning("Telegram polling paused %.0f s: %s: %s", backoff, exc.__class__.__name__, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

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

    async def receive(self, payloads: list[dict[str, Any]], *, strict: bool = False) -> None:
        """Record the updates the bot acts on, then hand the new ones over. A repeat (same update_id) is
        recorded once, so it is handled once. A malformed update raises ValueError when `strict` (the
        webhook answers 400), else it is logged and skipped (polling must go on)."""
        wanted: dict[int, tuple[ReceivedUpdate, Incoming | Press]] = {}
        for payload in payloads:
            try:
                incoming = self._read(payload)
            except (KeyError, TypeError, ValueError) as exc:
                if strict:
                    raise ValueError("not a Telegram update") from exc
                log.warning("update %s skipped: not in the Bot API's shape", payload.get("update_id"))
                continue
            if incoming is not None:
                update_id = payload["update_id"]
                wanted[update_id] = (ReceivedUpdate(update_id, incoming.chat_id, payload), incoming)
        for received in await self.store.record_updates(self.channel, [w[0] for w in wanted.values()]):
            if self._stopping.is_set():
                continue  # recorded: handled at the next start
            self._take(*wanted[received.update_id])

    def _take(self, received: ReceivedUpdate, incoming: Incoming | Press | None) -> None:
        """Queue an update for its chat, unless it is already in hand here."""
        if received.update_id not in self._in_hand:
            self._in_hand.add(received.update_id)
            self.updates.put(received.chat_id, (received, incoming))

    async def _sweep_regularly(self) -> None:
        """Keep the updates in hand here leased to this process, and take up those another process recorded (and
        acknowledged) and then left unhandled, by dying: their lease ran out. (Even handled twice at once, an update
        counts once: finish_update.)"""
        while not self._stopping.is_set():
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

    def _read(self, payload: dict[str, Any]) -> Incoming | Press | None:
        """What the update asks: a person's message or press, or a mediator's press in a group."""
        incoming = read_update(payload)
        if incoming is None and self.mediators is not None:
            return read_press(payload)
        return incoming

    # ----- handling ------------------------------------------------------------------------------------------
    async def _handle(self, item: tuple[ReceivedUpdate, Incoming | Press | None]) -> None:
        """One update, and before it any earlier one of the same chat still unhandled, whichever process recorded
        it: a chat's updates are handled in update_id order across processes. Each handling checks, in its own
        transaction, that no earlier update of the chat is waiting (else: Behind, rolled back, that one first), and
        marks its update handled only if nobody did meanwhile (else: Superseded, rolled back)."""
        stack: list[tuple[ReceivedUpdate, Incoming | Press | None]] = [item]
        try:
            for _ in range(CATCH_UP_LIMIT):
                received, incoming = stack[-1]
                try:
                    await self._handle_update(received, incoming)
                except Behind as behind:
                    stack.append((behind.earlier, None))
                    continue
                stack.pop()
                if not stack:
                    return
            log.warning("update %d: its chat has more than %d updates waiting", item[0].update_id, CATCH_UP_LIMIT)
        finally:
            self._in_hand.discard(item[0].update_id)

    async def _close_update(self, tx: TurnTransaction, received: ReceivedUpdate) -> None:
        """In the transaction handling `received`: refuse it (rolled back) while an earlier update of its chat waits,
        or once another process marked it handled; else mark it handled."""
        earlier = await tx.earlier_update(self.channel, received.chat_id, received.update_id)
        if earlier is not None:
            raise Behind(earlier)
        if not await tx.finish_update(self.channel, received.update_id):
            raise Superseded(received.update_id)

    async def _handle_update(self, received: ReceivedUpdate, incoming: Incoming | Press | None) -> None:
        """One update, start to end. A database failure: wait and try again (the chat's next updates wait
        behind it); any other failure: the person is told, and the update is closed."""
        if incoming is None:  # read back from the inbox (a restart, or recorded by another process)
            incoming = self._read(received.payload)
        if incoming is None:  # recorded by a version that handled it; this one does not
            await self._finish(received, [])
            return
        if isinstance(incoming, Press):
            await self._handle_press(received, incoming)
            return
        if incoming.callback_query_id is not None:
            self._spawn(self._answer_query(incoming.callback_query_id))
        delay = STORAGE_RETRY[0]
        while True:
            try:
                await self._handle_once(received, incoming)
                return
            except Behind:
                raise
            except (Superseded, ConflictError):
                return  # handled meanwhile by another process (or it keeps changing it)
            except StorageError as exc:
                if self._stopping.is_set():
                    return  # left in the inbox for the next start
                log.warning("update %d waits for the database (%s); again in %.1f s", received.update_id, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, STORAGE_RETRY[1])
            except Exception:
                log.exception("update %d could not be handled", received.update_id)
                await self._finish(received, render_text(incoming.chat_id, self.engine.text("technical_error")))
                return

    async def _handle_once(self, received: ReceivedUpdate, incoming: Incoming) -> None:
        if incoming.inbound is None:
            assert incoming.show_map is not None
            await self._finish(received, [render_map(incoming.chat_id, incoming.show_map)])
            return
        queued: list[OutgoingRow] = []

        async def write_replies(tx: TurnTransaction, turn: Turn) -> None:
            await self._close_update(tx, received)
            calls = render_turn(turn, incoming.chat_id, self.labels, incoming.message_id)
            queued[:] = await tx.queue_outgoing(self.channel, calls)

        await self.engine.handle(incoming.inbound, write_replies)
        self.outbox.push(queued)

    async def _handle_press(self, received: ReceivedUpdate, press: Press) -> None:
        """A mediator's press in a group: applied and marked handled in one transaction, answered with a toast. A
        refused press changes nothing and is closed on its own."""
        assert self.mediators is not None

        async def mark_handled(tx: TurnTransaction) -> None:
            await self._close_update(tx, received)

        delay = STORAGE_RETRY[0]
        while True:
            try:
                answer, alert = await self.mediators.handle_press(press, mark_handled)
                break
            except Superseded:
                return  # applied and answered by another process
            except Behind:
                raise
            except StorageError as exc:
                if self._stopping.is_set():
                    return
                log.warning("press %d waits for the database (%s); again in %.1f s", received.update_id, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, STORAGE_RETRY[1])
            except Exception:
                log.exception("press %d could not be handled", received.update_id)
                answer, alert = "Un souci technique : réessayez dans un instant.", True
                break
        self._spawn(self._answer_query(press.query_id, answer, alert))
        await self._finish(received, [])

    async def _finish(self, received: ReceivedUpdate, calls: list[Outgoing]) -> None:
        """Close an update with these calls (none, a map, an apology), unless another process closed it first."""
        try:
            async with self.store.transaction() as tx:
                await self._close_update(tx, received)
                rows = await tx.queue_outgoing(self.channel, calls)
        except Superseded:
            return
        self.outbox.push(rows)

    async def _answer_query(self, query_id: str, text: str | None = None, alert: bool = False) -> None:
        """Stops the button's spinner (with a short text for mediators). Not a message: outside the outbox and
        its limits, tried a few times."""
        for attempt in range(3):
            try:
                await self.application.bot.answer_callback_query(query_id, text=text, show_alert=alert)
                return
            except RetryAfter as exc:
                await asyncio.sleep(min(retry_seconds(exc), 5.0))
            except BadRequest as exc:  # too old, or already answered: nothing more to do
                log.info("callback query not answered: %s", exc)
                return
            except NetworkError as exc:
                log.info("callback query answer failed (attempt %d): %s", attempt + 1, exc)
                await asyncio.sleep(0.5 * (attempt + 1))
        log.warning("callback query left unanswered after 3 attempts")

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)

    # ----- sending -------------------------------------------------------------------------------------------
    async def _call(self, row: OutgoingRow) -> None:
        """One outbox row, through PTB. Failures sorted into retry later / give up."""
        if row.method == POST_METHOD:
            if self.mediators is not None:  # else: a row left by a run with a desk; nothing can render it
                await self.mediators.send_post(row)
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
            if method == "editMessageText" and ("not found" in message or "can't be edited" in message):
                return None
            raise Undeliverable(f"{method} refused by Telegram: {exc.message}") from None
        except NetworkError as exc:  # includes TimedOut and 5xx answers
            raise RetryLater(f"{exc.__class__.__name__}: {exc.message}") from None
