"""The bot's update queue and getUpdates' semantics (offsets, limit, long polling, allowed_updates, duplicates)."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass

from .models import JSON, ApiError, Signal
from .validation import allowed_updates, int_in_range

# What Telegram leaves out when allowed_updates is empty or was never given.
DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"


@dataclass(slots=True)
class UpdateRecord:
    update_id: int
    kind: str  # "message", "edited_message", "callback_query", ...
    chat_id: int | None
    payload: JSON
    duplicated: bool = False  # already handed out a second time (duplicate_updates)


class UpdateQueue:
    """Updates not yet confirmed by the bot, in update_id order, shared by polling and webhook delivery."""

    def __init__(self, first_update_id: int = 100_000) -> None:
        self.next_id = first_update_id
        self.pending: OrderedDict[int, UpdateRecord] = OrderedDict()
        self.redeliver: deque[UpdateRecord] = deque()  # confirmed updates to hand out once more (duplicates)
        self.allowed: list[str] = []  # as last given to getUpdates or setWebhook; [] = Telegram's default
        self.duplicates = False
        self.history: list[JSON] = []  # every update ever created, in order
        self.signal = Signal()
        self.webhook_active = False
        self.closed = False
        self._poll_generation = 0

    def allows(self, kind: str) -> bool:
        if self.allowed:
            return kind in self.allowed
        return kind not in DEFAULT_EXCLUDED

    def create(self, kind: str, body: JSON, chat_id: int | None) -> UpdateRecord:
        record = UpdateRecord(self.next_id, kind, chat_id, {"update_id": self.next_id, kind: body})
        self.next_id += 1
        self.pending[record.update_id] = record
        self.history.append(record.payload)
        self.signal.notify()
        return record

    def forget(self, update_id: int) -> None:
        """Drop an update the webhook delivered (or that is not allowed)."""
        self.pending.pop(update_id, None)

    def clear(self) -> None:
        """drop_pending_updates."""
        self.pending.clear()
        self.redeliver.clear()

    def confirm(self, offset: int) -> None:
        """Forget every update with an id below ``offset``; a negative offset keeps only the last ``-offset``."""
        pending = self.pending
        if offset < 0:
            while len(pending) > -offset:
                self._confirmed(pending.popitem(last=False)[1])
            return
        while pending:
            first = next(iter(pending))
            if first >= offset:
                break
            self._confirmed(pending.popitem(last=False)[1])

    def _confirmed(self, record: UpdateRecord) -> None:
        if self.duplicates and not record.duplicated:
            record.duplicated = True
            self.redeliver.append(record)

    def take(self, limit: int) -> list[JSON]:
        """Up to ``limit`` allowed updates: duplicates due first, then the pending ones (which stay pending)."""
        batch: list[JSON] = []
        while self.redeliver and len(batch) < limit:
            record = self.redeliver.popleft()
            if self.allows(record.kind):
                batch.append(record.payload)
        for record in self.pending.values():
            if len(batch) >= limit:
                break
            if self.allows(record.kind):
                batch.append(record.payload)
        return batch

    async def get_updates(self, params: JSON) -> list[JSON]:
        """getUpdates: confirm by offset, answer at once when something is pending, else long-poll."""
        if self.webhook_active:
            raise ApiError(409, WEBHOOK_CONFLICT)
        allowed = allowed_updates(params.get("allowed_updates"))
        if allowed is not None:
            self.allowed = allowed
        offset = params.get("offset")
        if isinstance(offset, int) and not isinstance(offset, bool):
            self.confirm(offset)
        limit = int_in_range(params, "limit", 100, 1, 100)
        timeout = params.get("timeout") or 0
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise ApiError(400, "Bad Request: invalid timeout specified")
        self._poll_generation += 1
        generation = self._poll_generation
        self.signal.notify()  # an older long poll still waiting is terminated by this one
        deadline = time.monotonic() + max(float(timeout), 0.0)
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, POLL_CONFLICT)
            if self.webhook_active:
                raise ApiError(409, WEBHOOK_CONFLICT)
            batch = self.take(limit)
            remaining = deadline - time.monotonic()
            if batch or self.closed or remaining <= 0:
                return batch
            await self.signal.wait(remaining)
