"""In-memory storage with the same interface as Storage: for `flows test`, benchmarks without a database,
and anything that must not leave a file behind. Nothing survives the process."""

from __future__ import annotations

import copy
import dataclasses
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.errors import ConflictError
from bot.storage import CallbackRow, ConversationRecord, NewCallback
from bot.storage.records import first_version


class MemoryStorage:
    def __init__(self) -> None:
        self.conversations: dict[str, ConversationRecord] = {}
        self.callbacks: dict[str, CallbackRow] = {}
        self.flow_sources: dict[str, tuple[str, str]] = {}

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


class MemoryTransaction:
    """Writes are staged and applied on commit, so a failed turn leaves nothing half-done."""

    def __init__(self, storage: MemoryStorage) -> None:
        self.storage = storage
        self.staged_conversations: dict[str, ConversationRecord | None] = {}
        self.staged_callbacks: dict[str, CallbackRow] = {}

    def commit(self) -> None:
        for key, record in self.staged_conversations.items():
            if record is None:
                self.storage.conversations.pop(key, None)
            else:
                self.storage.conversations[key] = record
        self.storage.callbacks.update(self.staged_callbacks)

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

    async def forget(self, key: str) -> int:
        self.staged_conversations[key] = None
        erased = 0
        for row in list(self.storage.callbacks.values()) + list(self.staged_callbacks.values()):
            if row.conversation_key == key:
                status = "cancelled" if row.status == "new" else row.status
                self.staged_callbacks[row.id] = CallbackRow(
                    row.id, None, status, row.queue, row.persona, None, None, row.moment, None
                )
                erased += 1
        return erased

    async def flow_source(self, version: str) -> tuple[str, str] | None:
        return self.storage.flow_sources.get(version)


def _copy(record: ConversationRecord) -> ConversationRecord:
    """A copy through JSON, as a database would do: the data must be plain JSON, and nothing is shared."""
    return ConversationRecord(
        record.key, record.flow, record.flow_version, record.state, json.loads(json.dumps(record.data)), record.version
    )
