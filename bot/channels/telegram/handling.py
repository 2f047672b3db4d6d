"""Updates handled, one chat's in order: a person's message or press through the engine, a mediator's press
through the callback desk, each committed with its replies (outbox rows) and the update marked handled.

So after a crash at any point an update recorded in the inbox is handled exactly once and its replies are sent at
least once; and a chat's updates are handled in update_id order, across processes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from telegram import Bot
from telegram.error import BadRequest, NetworkError, RetryAfter

from bot.channels.telegram.group import Press, read_press
from bot.channels.telegram.mapping import (
    NOTICE_TOKEN,
    Incoming,
    Labels,
    read_update,
    render_map,
    render_text,
    render_turn,
    unbuttoned,
)
from bot.channels.telegram.mediators import TelegramMediators
from bot.channels.telegram.outbox import Outbox
from bot.channels.telegram.receiving import Item
from bot.channels.telegram.transport import retry_seconds
from bot.core.backoff import Backoff
from bot.core.errors import ConflictError, StorageError
from bot.core.messages import Turn
from bot.core.tasks import Tasks
from bot.engine.engine import Engine
from bot.storage.protocol import ChannelStore, TurnTransaction
from bot.storage.records import Outgoing, OutgoingRow, ReceivedUpdate

# The channel's log lines keep the one name they have always had, whichever of its parts writes them.
log = logging.getLogger("bot.channels.telegram.channel")
STORAGE_BACKOFF = Backoff(0.5, 10.0)  # waits before handling an update again when the database fails
ANSWER_BACKOFF = Backoff(0.5, 1.5)  # waits before answering a button press again when the network fails
ANSWER_ATTEMPTS = 3
CATCH_UP_LIMIT = 1000  # handlings of a chat's earlier updates one update may take on first (a bound, never reached)


class Superseded(Exception):
    """The update was handled by another process meanwhile: this handling's transaction is rolled back."""


class Behind(Exception):
    """An earlier update of the same chat is still unhandled (recorded by another process, or before a crash): this
    handling is rolled back, that one is handled first."""

    def __init__(self, earlier: ReceivedUpdate) -> None:
        super().__init__(earlier.update_id)
        self.earlier = earlier


class Handling:
    def __init__(
        self,
        engine: Engine,
        store: ChannelStore,
        channel: str,
        bot: Bot,
        outbox: Outbox,
        *,
        mediators: TelegramMediators | None,
        labels: Callable[[], Labels],
        stopping: asyncio.Event,
        tasks: Tasks,
    ) -> None:
        """`labels`: the buttons' labels now (from the flow in force). `stopping`: set when the channel stops (a
        handling waiting for the database then gives up: the update stays in the inbox). `tasks`: where the answers
        to button presses run, beside the handling."""
        self.engine = engine
        self.store = store
        self.channel = channel
        self.bot = bot
        self.outbox = outbox
        self.mediators = mediators
        self.labels = labels
        self.stopping = stopping
        self.tasks = tasks

    def read(self, payload: dict[str, Any]) -> Incoming | Press | None:
        """What the update asks: a person's message or press, or a mediator's press in a group."""
        incoming = read_update(payload)
        if incoming is None and self.mediators is not None:
            return read_press(payload)
        return incoming

    async def handle(self, item: Item) -> None:
        """One update, and before it any earlier one of the same chat still unhandled, whichever process recorded
        it: a chat's updates are handled in update_id order across processes. Each handling checks, in its own
        transaction, that no earlier update of the chat is waiting (else: Behind, rolled back, that one first), and
        marks its update handled only if nobody did meanwhile (else: Superseded, rolled back)."""
        stack: list[Item] = [item]
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
            incoming = self.read(received.payload)
        if incoming is None:  # recorded by a version that handled it; this one does not
            await self._finish(received, [])
            return
        if isinstance(incoming, Press):
            await self._handle_press(received, incoming)
            return
        if incoming.callback_query_id is not None:
            self.tasks.create_task(self._answer_query(incoming.callback_query_id), name="answer a button press")
        delays = iter(STORAGE_BACKOFF)
        while True:
            try:
                await self._handle_once(received, incoming)
                return
            except Behind:
                raise
            except (Superseded, ConflictError):
                return  # handled meanwhile by another process (or it keeps changing it)
            except StorageError as exc:
                if self.stopping.is_set():
                    return  # left in the inbox for the next start
                delay = next(delays)
                log.warning("update %d waits for the database (%s); again in %.1f s", received.update_id, exc, delay)
                await asyncio.sleep(delay)
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
            calls = render_turn(turn, incoming.chat_id, self.labels(), incoming.message_id)
            if incoming.inbound is not None and incoming.inbound.context == NOTICE_TOKEN and incoming.message_id:
                # a notice's button, pressed: the answer says where the request stands; the button goes
                calls.insert(0, unbuttoned(incoming.chat_id, incoming.message_id))
            queued[:] = await tx.queue_outgoing(self.channel, calls)

        await self.engine.handle(incoming.inbound, write_replies)
        self.outbox.push(queued)

    async def _handle_press(self, received: ReceivedUpdate, press: Press) -> None:
        """A mediator's press in a group: applied and marked handled in one transaction, answered with a toast. A
        refused press changes nothing and is closed on its own."""
        assert self.mediators is not None

        async def mark_handled(tx: TurnTransaction) -> None:
            await self._close_update(tx, received)

        delays = iter(STORAGE_BACKOFF)
        while True:
            try:
                answer, alert = await self.mediators.handle_press(press, mark_handled)
                break
            except Superseded:
                return  # applied and answered by another process
            except Behind:
                raise
            except StorageError as exc:
                if self.stopping.is_set():
                    return
                delay = next(delays)
                log.warning("press %d waits for the database (%s); again in %.1f s", received.update_id, exc, delay)
                await asyncio.sleep(delay)
            except Exception:
                log.exception("press %d could not be handled", received.update_id)
                answer, alert = "Un souci technique : réessayez dans un instant.", True
                break
        self.tasks.create_task(self._answer_query(press.query_id, answer, alert), name="answer a button press")
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
        for attempt in range(ANSWER_ATTEMPTS):
            try:
                await self.bot.answer_callback_query(query_id, text=text, show_alert=alert)
                return
            except RetryAfter as exc:
                await asyncio.sleep(min(retry_seconds(exc), 5.0))
            except BadRequest as exc:  # too old, or already answered: nothing more to do
                log.info("callback query not answered: %s", exc)
                return
            except NetworkError as exc:
                log.info("callback query answer failed (attempt %d): %s", attempt + 1, exc)
                await asyncio.sleep(ANSWER_BACKOFF.delay(attempt))
        log.warning("callback query left unanswered after %d attempts", ANSWER_ATTEMPTS)
