"""In-memory storage with the same interface as Storage: for `flows test`, benchmarks without a database,
and anything that must not leave a file behind. Nothing survives the process."""

from __future__ import annotations

import copy
import dataclasses
import json
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime

from bot.core.clock import now
from bot.core.errors import ConflictError
from bot.storage import CallbackRow, ConversationRecord, NewCallback
from bot.storage.records import (
    LEASE,
    CallbackEvent,
    FeedbackAnswer,
    FeedbackRow,
    Misunderstood,
    MisunderstoodRow,
    Outgoing,
    OutgoingRow,
    ReceivedUpdate,
    first_version,
)


class MemoryStorage:
    lease = LEASE  # (one process: nothing to take over)

    def __init__(self) -> None:
        self.conversations: dict[str, ConversationRecord] = {}
        self.callbacks: dict[str, CallbackRow] = {}
        self.callback_events: list[CallbackEvent] = []
        self.flow_sources: dict[str, tuple[str, str]] = {}
        self.inbox: dict[tuple[str, int], ReceivedUpdate | None] = {}  # None: handled
        self.outbox: dict[int, tuple[str, OutgoingRow]] = {}
        self.outbox_ids = 0
        self.misunderstood_rows: list[MisunderstoodRow] = []
        self.feedback_rows: list[FeedbackRow] = []

    async def close(self) -> None:
        return None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemoryTransaction]:
        tx = MemoryTransaction(self)
        yield tx
        tx.commit()

    async def remember_flow_version(self, flow: str, version: str, file: str, source: str) -> None:
        self.flow_sources.setdefault(version, (file, source))

    async def load_conversation(self, key: str) -> ConversationRecord | None:
        async with self.transaction() as tx:
            return await tx.load_conversation(key)

    async def read_conversation(self, key: str) -> ConversationRecord | None:
        return await self.load_conversation(key)

    async def flow_source(self, version: str) -> tuple[str, str] | None:
        return self.flow_sources.get(version)

    async def callbacks_for(self, key: str) -> list[CallbackRow]:
        return [c for c in self.callbacks.values() if c.conversation_key == key]

    async def misunderstood(self, since: datetime | None = None, flow: str | None = None) -> list[MisunderstoodRow]:
        """As Storage.misunderstood: oldest first."""
        return [
            row
            for row in self.misunderstood_rows
            if (since is None or row.created_at >= since) and (flow is None or row.flow == flow)
        ]

    async def feedback(self, since: date | None = None) -> list[FeedbackRow]:
        """As Storage.feedback: oldest first."""
        return [row for row in self.feedback_rows if since is None or row.day >= since]

    async def record_updates(self, channel: str, updates: Sequence[ReceivedUpdate]) -> list[ReceivedUpdate]:
        async with self.transaction() as tx:
            return await tx.record_updates(channel, updates)

    async def pending_updates(self, channel: str) -> list[ReceivedUpdate]:
        return sorted(
            (u for (c, _), u in self.inbox.items() if c == channel and u is not None), key=lambda u: u.update_id
        )

    async def adopt_updates(self, channel: str, *, own_too: bool = False) -> list[ReceivedUpdate]:
        """(One process: every update is this one's; only a restart (`own_too`) takes them up again.)"""
        return await self.pending_updates(channel) if own_too else []

    async def renew_updates(self, channel: str, update_ids: Sequence[int]) -> list[int]:
        return [i for i in update_ids if self.inbox.get((channel, i)) is not None]

    async def adopt_outgoing(self, channel: str, *, own_too: bool = False) -> list[OutgoingRow]:
        """(One process: every row is this one's; only a restart (`own_too`) takes them up again.)"""
        return await self.pending_outgoing(channel) if own_too else []

    async def renew_outgoing(self, ids: Sequence[int]) -> list[int]:
        return [row_id for row_id in ids if row_id in self.outbox]

    async def pending_outgoing(self, channel: str) -> list[OutgoingRow]:
        return [row for row_id, (c, row) in sorted(self.outbox.items()) if c == channel]

    async def pending_outgoing_for(self, channel: str, chat_id: int) -> list[OutgoingRow]:
        return [row for row in await self.pending_outgoing(channel) if row.chat_id == chat_id]

    async def queue_outgoing(self, channel: str, calls: Sequence[Outgoing]) -> list[OutgoingRow]:
        async with self.transaction() as tx:
            return await tx.queue_outgoing(channel, calls)

    async def delete_outgoing(self, ids: Sequence[int]) -> None:
        async with self.transaction() as tx:
            await tx.delete_outgoing(ids)


class MemoryTransaction:
    """Writes are staged and applied on commit, so a failed turn leaves nothing half-done."""

    def __init__(self, storage: MemoryStorage) -> None:
        self.storage = storage
        self.staged_conversations: dict[str, ConversationRecord | None] = {}
        self.staged_callbacks: dict[str, CallbackRow] = {}
        self.staged_events: list[CallbackEvent] = []
        self.staged_inbox: dict[tuple[str, int], ReceivedUpdate | None] = {}
        self.staged_outbox: dict[int, tuple[str, OutgoingRow] | None] = {}
        self.staged_misunderstood: list[Misunderstood] = []
        self.staged_feedback: list[FeedbackAnswer] = []

    def commit(self) -> None:
        self.storage.inbox.update(self.staged_inbox)
        for row_id, entry in self.staged_outbox.items():
            if entry is None:
                self.storage.outbox.pop(row_id, None)
            else:
                self.storage.outbox[row_id] = entry
        for key, record in self.staged_conversations.items():
            if record is None:
                self.storage.conversations.pop(key, None)
            else:
                self.storage.conversations[key] = record
        self.storage.callbacks.update(self.staged_callbacks)
        self.storage.callback_events.extend(self.staged_events)
        stamp, rows = now(), self.storage.misunderstood_rows
        for a in self.staged_misunderstood:
            rows.append(MisunderstoodRow(len(rows) + 1, a.flow, a.flow_version, a.question, a.text, a.kind, stamp))
        kept = self.storage.feedback_rows
        for f in self.staged_feedback:
            kept.append(FeedbackRow(len(kept) + 1, f.flow, f.flow_version, stamp.date(), f.rating, f.word))

    async def load_conversation(self, key: str) -> ConversationRecord | None:
        record = self.storage.conversations.get(key)
        return _copy(record) if record is not None else None

    async def save_conversation(self, record: ConversationRecord) -> None:
        stored = self.storage.conversations.get(record.key)
        if (stored.version if stored else 0) != record.version:
            raise ConflictError(f"conversation changed meanwhile (version {record.version})")
        record.version = first_version() if record.version == 0 else record.version + 1
        self.staged_conversations[record.key] = _copy(record)

    async def create_callback(self, new: NewCallback, callback_id: str | None = None) -> CallbackRow:
        row = dataclasses.replace(new, answers=copy.deepcopy(new.answers)).stored_as(
            callback_id or secrets.token_hex(6)
        )
        self.staged_callbacks[row.id] = row
        return row

    def _callbacks_of(self, key: str) -> list[CallbackRow]:
        rows = {**self.storage.callbacks, **self.staged_callbacks}
        return [row for row in rows.values() if row.conversation_key == key]

    async def cancel_open_callbacks(self, key: str) -> list[CallbackRow]:
        found = [row for row in self._callbacks_of(key) if row.status in ("new", "claimed")]
        for row in found:
            self.staged_callbacks[row.id] = dataclasses.replace(row, status="cancelled", scheduled_at=None)
        return found

    async def add_callback_events(self, events: Sequence[CallbackEvent]) -> None:
        self.staged_events.extend(events)

    async def add_misunderstood(self, answers: Sequence[Misunderstood]) -> None:
        self.staged_misunderstood.extend(answers)

    async def add_feedback(self, answers: Sequence[FeedbackAnswer]) -> None:
        self.staged_feedback.extend(answers)

    async def forget(self, key: str) -> int:
        self.staged_conversations[key] = None
        erased = 0
        for row in self._callbacks_of(key):
            still_open = row.status in ("new", "claimed")
            self.staged_callbacks[row.id] = dataclasses.replace(
                row,
                conversation_key=None,
                status="cancelled" if still_open else row.status,
                scheduled_at=None if still_open else row.scheduled_at,
                answers=None,
                phone=None,
                contact=None,
                first_name=None,
                note=None,
                commune=None,
                code_insee=None,
                relation=None,
            )
            erased += 1
        return erased

    async def flow_source(self, version: str) -> tuple[str, str] | None:
        return self.storage.flow_sources.get(version)

    async def record_updates(self, channel: str, updates: Sequence[ReceivedUpdate]) -> list[ReceivedUpdate]:
        fresh = []
        for u in updates:
            key = (channel, u.update_id)
            if key not in self.storage.inbox and key not in self.staged_inbox:
                self.staged_inbox[key] = u
                fresh.append(u)
        return fresh

    async def earlier_update(self, channel: str, chat_id: int, update_id: int) -> ReceivedUpdate | None:
        earlier = [
            u
            for (c, i), u in self.storage.inbox.items()
            if c == channel
            and u is not None
            and u.chat_id == chat_id
            and i < update_id
            and self.staged_inbox.get((c, i), u) is not None
        ]
        return min(earlier, key=lambda u: u.update_id) if earlier else None

    async def finish_update(self, channel: str, update_id: int) -> bool:
        key = (channel, update_id)
        pending = self.staged_inbox[key] if key in self.staged_inbox else self.storage.inbox.get(key)
        self.staged_inbox[key] = None
        return pending is not None

    async def queue_outgoing(self, channel: str, calls: Sequence[Outgoing]) -> list[OutgoingRow]:
        rows = []
        for call in calls:
            self.storage.outbox_ids += 1
            row = OutgoingRow(self.storage.outbox_ids, call.chat_id, call.method, copy.deepcopy(call.params))
            self.staged_outbox[row.id] = (channel, row)
            rows.append(row)
        return rows

    async def delete_outgoing(self, ids: Sequence[int]) -> None:
        for row_id in ids:
            self.staged_outbox[row_id] = None


def _copy(record: ConversationRecord) -> ConversationRecord:
    """A copy through JSON, as a database would do: the data must be plain JSON, and nothing is shared."""
    return ConversationRecord(
        record.key, record.flow, record.flow_version, record.state, json.loads(json.dumps(record.data)), record.version
    )
