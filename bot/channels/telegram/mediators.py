"""The Telegram side of callback requests: the person told in their chat, each request's message in its queue's
group (posted once, then edited in place), presses on its buttons, reminders and summaries.

Group messages go through the same outbox as replies (kept until sent, retried, 20 per minute per group). A
request's message is queued as a `POST_METHOD` row naming the request and rendered when it is sent, from the
request's state at that moment: while the group's queue is busy, several changes of one request wait as one row
and cost one message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bot.callbacks.desk import CallbackDesk, Effects, QueueSummary
from bot.callbacks.queues import Queue, QueueSet
from bot.callbacks.rules import Action, Actor, Refused
from bot.callbacks.view import Describer
from bot.channels.telegram.group import (
    NOTICE_METHOD,
    POST_METHOD,
    Press,
    render_agreed,
    render_post,
    render_reminder,
    render_summary,
)
from bot.channels.telegram.mapping import KEY_PREFIX, NOTICE_TOKEN, encode_button, render_text, unbuttoned
from bot.channels.telegram.outbox import Outbox, RetryLater, Undeliverable
from bot.core.backoff import Backoff
from bot.core.clock import now
from bot.core.errors import StorageError
from bot.core.messages import Button
from bot.storage.protocol import TurnTransaction
from bot.storage.records import CallbackRow, Outgoing, OutgoingRow

log = logging.getLogger(__name__)
ACTION_DONE = {
    "claim": "C'est noté : vous vous en occupez.",
    "done": "Merci ! Demande close.",
    "unreachable": "Noté : personne n'a répondu.",
    "release": "Demande libérée.",
}
STORAGE_BACKOFF = Backoff(0.5, 10.0)  # waits for the database
ApiCall = Callable[[str, dict[str, Any]], Awaitable[Any]]
PRESS_ACTIONS: dict[str, Action] = {
    "claim": "claim",
    "done": "done",
    "unreachable": "unreachable",
    "release": "release",
}


class TelegramMediators:
    """The desk's Notifier for Telegram (bot/callbacks/desk.py), and the handler of the group's buttons."""

    def __init__(
        self,
        channel: str,
        desk: CallbackDesk,
        describer: Describer,
        outbox: Outbox,
        api: ApiCall,
    ) -> None:
        self.channel = channel
        self.desk = desk
        self.describer = describer
        self.outbox = outbox
        self.api = api
        self._waiting_posts: dict[str, int] = {}  # request id -> its queued POST_METHOD row, not started yet

    @property
    def queues(self) -> QueueSet:
        """The queues in force (the desk's: a reload may replace them)."""
        return self.desk.queues

    # ----- Notifier ------------------------------------------------------------------------------------------
    def reaches(self, conversation_key: str) -> bool:
        return conversation_key.startswith(KEY_PREFIX)

    async def tell_person(
        self, tx: TurnTransaction, conversation_key: str, text: str, buttons: Sequence[Button], callback_id: str
    ) -> list[OutgoingRow]:
        """The person's news; its last message is sent as a NOTICE_METHOD row (`send_notice`): once sent, the
        buttons of the request's previous news go (« Annuler ma demande » after the call was made…)."""
        chat_id = int(conversation_key.removeprefix(KEY_PREFIX))
        calls = render_text(chat_id, text)
        if buttons:
            rows = [[{"text": b.label, "callback_data": encode_button(NOTICE_TOKEN, b.value)}] for b in buttons]
            calls[-1].params["reply_markup"] = {"inline_keyboard": rows}
        last = calls[-1]
        calls[-1] = Outgoing(last.chat_id, NOTICE_METHOD, {**last.params, "callback_id": callback_id})
        return await tx.queue_outgoing(self.channel, calls)

    async def post_changed(self, tx: TurnTransaction, row: CallbackRow, queue: Queue) -> list[OutgoingRow]:
        chat_id = self.queues.chat_id_for(queue)
        if chat_id is None:
            return []
        return await tx.queue_outgoing(self.channel, [Outgoing(chat_id, POST_METHOD, {"callback_id": row.id})])

    async def remind(self, tx: TurnTransaction, queue: Queue, rows: Sequence[CallbackRow]) -> list[OutgoingRow]:
        chat_id = self.queues.chat_id_for(queue)
        if chat_id is None or not rows:
            return []
        text = render_reminder([self.describer.view(r) for r in rows], now())
        return await tx.queue_outgoing(self.channel, [_html_message(chat_id, text)])

    async def remind_agreed(self, tx: TurnTransaction, queue: Queue, row: CallbackRow) -> list[OutgoingRow]:
        chat_id = self.queues.chat_id_for(queue)
        if chat_id is None:
            return []
        return await tx.queue_outgoing(self.channel, [_html_message(chat_id, render_agreed(self.describer.view(row)))])

    async def summarise(self, tx: TurnTransaction, queue: Queue, summary: QueueSummary) -> list[OutgoingRow]:
        chat_id = self.queues.chat_id_for(queue)
        if chat_id is None:
            return []
        text = render_summary(queue.label, summary.counts, summary.waiting, summary.late, summary.days)
        return await tx.queue_outgoing(self.channel, [_html_message(chat_id, text)])

    def committed(self, rows: list[OutgoingRow]) -> None:
        """Hand committed rows to the outbox; a request whose message is already waiting to be sent needs no
        second one (it is rendered when sent, so it will show the latest state)."""
        fresh, redundant = [], []
        for row in rows:
            if row.method == POST_METHOD:
                callback_id = str(row.params["callback_id"])
                if callback_id in self._waiting_posts:
                    redundant.append(row)
                    continue
                self._waiting_posts[callback_id] = row.id
            fresh.append(row)
        self.outbox.push(fresh)
        self.outbox.discard(redundant)

    # ----- sending a request's message -------------------------------------------------------------------------
    async def send_post(self, row: OutgoingRow) -> None:
        """Show the request's current state in the group: a new message the first time, else an edit."""
        callback_id = str(row.params["callback_id"])
        if self._waiting_posts.get(callback_id) == row.id:
            del self._waiting_posts[callback_id]  # from now on, a change needs a new row
        try:
            found = await self.desk.get(callback_id)
        except StorageError as exc:  # the outbox tries again later: the request is not left unshown
            raise RetryLater(f"database unavailable: {exc}") from None
        if found is None:
            return
        text, markup = render_post(self.describer.view(found), now())
        params: dict[str, Any] = {"chat_id": row.chat_id, "text": text, "parse_mode": "HTML", "reply_markup": markup}
        if found.post_message_id is not None and found.post_chat_id == row.chat_id:
            edited = await self.api("editMessageText", {**params, "message_id": found.post_message_id})
            if edited is not None:
                return  # edited (or already showing this); None: the message is gone, post it again
        sent = await self.api("sendMessage", params)
        if isinstance(sent, dict) and "message_id" in sent:
            await self._remember_post(callback_id, row.chat_id, int(sent["message_id"]))

    async def send_notice(self, row: OutgoingRow) -> None:
        """The person's news about a request, then the previous news' buttons taken away. The news is sent once:
        if forgetting the old buttons fails, that is logged, not retried (a stale button, pressed, is answered
        kindly)."""
        callback_id = str(row.params["callback_id"])
        sent = await self.api("sendMessage", {k: v for k, v in row.params.items() if k != "callback_id"})
        if not (isinstance(sent, dict) and "message_id" in sent):
            return
        previous = None
        for delay in STORAGE_BACKOFF:
            try:
                previous = await self.desk.set_notice(callback_id, int(sent["message_id"]))
                break
            except StorageError as exc:
                log.warning("news of request %s not recorded yet (%s); again in %.1f s", callback_id, exc, delay)
                await asyncio.sleep(delay)
        if previous is None:
            return
        try:
            stale = unbuttoned(row.chat_id, previous)
            await self.api(stale.method, stale.params)
        except (RetryLater, Undeliverable) as exc:
            log.warning("the buttons of request %s's previous news stay (%s)", callback_id, exc)

    async def _remember_post(self, callback_id: str, chat_id: int, message_id: int) -> None:
        """Record the message just posted, waiting for the database if need be: sending the row again instead
        would post the request a second time."""
        for delay in STORAGE_BACKOFF:
            try:
                await self.desk.set_post(callback_id, chat_id, message_id)
                return
            except StorageError as exc:
                log.warning("post of request %s not recorded yet (%s); again in %.1f s", callback_id, exc, delay)
                await asyncio.sleep(delay)

    # ----- presses on the group's buttons -----------------------------------------------------------------------
    async def handle_press(self, press: Press, effects: Effects) -> tuple[str, bool]:
        """Apply a mediator's press, with `effects` (the update marked handled) in the same transaction; (what to
        tell them in the button's toast, whether as an alert)."""
        allowed = [
            q.name for q in self.queues.all if self.queues.chat_id_for(q) == press.chat_id and q.may_act(press.user_id)
        ]
        if not allowed:
            log.info("press refused: group %s or user not allowed for any queue", press.chat_id)
            return Refused("not_allowed").message, True
        actor = Actor(f"telegram:{press.user_id}", press.user_name, "telegram")
        try:
            await self.desk.act(press.callback_id, PRESS_ACTIONS[press.action], actor, allowed, effects=effects)
        except Refused as refused:
            return refused.message, True
        return ACTION_DONE[press.action], False


def _html_message(chat_id: int, text: str) -> Outgoing:
    return Outgoing(chat_id, "sendMessage", {"chat_id": chat_id, "text": text, "parse_mode": "HTML"})
