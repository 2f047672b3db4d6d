"""The desk's Notifier for the web chat (bot/callbacks/desk.py): the person's news become notices their page fetches.
Mediators have no group on the web: they see requests on the dashboard, which reads the database."""

from __future__ import annotations

from collections.abc import Sequence

from bot.callbacks.desk import QueueSummary
from bot.callbacks.queues import Queue
from bot.channels.web.notices import CALLBACK_TOPIC, WEB_CHANNEL, web_chat_id, web_notice
from bot.core.messages import Button
from bot.storage.protocol import TurnTransaction
from bot.storage.records import CallbackRow, OutgoingRow


class WebNotifier:
    def reaches(self, conversation_key: str) -> bool:
        return web_chat_id(conversation_key) is not None

    async def tell_person(
        self, tx: TurnTransaction, conversation_key: str, text: str, buttons: Sequence[Button], callback_id: str
    ) -> list[OutgoingRow]:
        # Every notice of the desk tells where the callback request stands: the newest replaces those not yet read.
        notice = web_notice(conversation_key, text, [(b.label, b.value) for b in buttons], CALLBACK_TOPIC)
        return [] if notice is None else await tx.queue_outgoing(WEB_CHANNEL, [notice])

    async def post_changed(self, tx: TurnTransaction, row: CallbackRow, queue: Queue) -> list[OutgoingRow]:
        return []

    async def remind(self, tx: TurnTransaction, queue: Queue, rows: Sequence[CallbackRow]) -> list[OutgoingRow]:
        return []

    async def remind_agreed(self, tx: TurnTransaction, queue: Queue, row: CallbackRow) -> list[OutgoingRow]:
        return []

    async def summarise(self, tx: TurnTransaction, queue: Queue, summary: QueueSummary) -> list[OutgoingRow]:
        return []

    def committed(self, rows: list[OutgoingRow]) -> None:
        """Nothing to wake: the page polls for its notices."""
