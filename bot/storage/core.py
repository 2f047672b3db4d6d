"""The unit of work in SQLAlchemy Core: any database SQLAlchemy supports (PostgreSQL, SQLite)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, null, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.clock import now
from bot.core.errors import ConflictError
from bot.storage.crypto import Keyring
from bot.storage.records import (
    LEASE,
    CallbackEvent,
    CallbackRow,
    ConversationCache,
    ConversationRecord,
    FeedbackAnswer,
    Misunderstood,
    NewCallback,
    Outgoing,
    OutgoingRow,
    ReceivedUpdate,
    WriteLog,
    first_of_each,
    first_version,
)
from bot.storage.tables import (
    callback_events,
    callbacks,
    conversations,
    feedback,
    flow_versions,
    inbox,
    misunderstood,
    outbox,
)

OPEN_STATUSES = ("new", "claimed")  # a mediator may still call


def callback_row(row: Any, keyring: Keyring) -> CallbackRow:
    """A `callbacks` row as the bot sees it: its personal fields decrypted."""
    return CallbackRow(
        row["id"],
        row["conversation_key"],
        row["status"],
        row["queue"],
        row["persona"],
        row["answers"],
        keyring.open(row["phone"]),
        row["moment"],
        row["contact"],
        first_name=keyring.open(row["first_name"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        attempts=row["attempts"],
        claimed_by=row["claimed_by"],
        claimed_name=row["claimed_name"],
        claimed_at=row["claimed_at"],
        outcome=row["outcome"],
        note=keyring.open(row["note"]),
        resolved_at=row["resolved_at"],
        reminded_at=row["reminded_at"],
        scheduled_at=row["scheduled_at"],
        post_chat_id=row["post_chat_id"],
        post_message_id=row["post_message_id"],
        commune=row["commune"],
        code_insee=row["code_insee"],
        relation=row["relation"],
        channel=row["channel"],
        notice_message_id=row["notice_message_id"],
    )


def event_values(event: CallbackEvent, keyring: Keyring) -> dict[str, Any]:
    return {
        "callback_id": event.callback_id,
        "at": event.at,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "actor": event.actor,
        "actor_name": event.actor_name,
        "via": event.via,
        "note": keyring.seal(event.note),
    }


class Transaction:
    """The queries of one unit of work, on one connection, committed together."""

    def __init__(
        self,
        connection: AsyncConnection,
        cache: ConversationCache | None = None,
        *,
        owner: str | None = None,
        lease: timedelta = LEASE,
        keyring: Keyring | None = None,
    ) -> None:
        self.connection = connection
        self.keyring = keyring or Keyring.none()  # personal fields are sealed on the way in, opened on the way out
        self.cache = cache or ConversationCache(size=0)
        self.log = WriteLog()
        self.owner = owner  # this process: the inbox and outbox rows it writes are leased to it (see LEASE)
        self.lease = lease

    async def load_conversation(self, key: str) -> ConversationRecord | None:
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        row = (
            await self.connection.execute(
                select(
                    conversations.c.flow,
                    conversations.c.flow_version,
                    conversations.c.state,
                    conversations.c.data,
                    conversations.c.version,
                ).where(conversations.c.key == key)
            )
        ).first()
        if row is None:
            return None
        return ConversationRecord(key, row[0], row[1], row[2], self.keyring.open_conversation(dict(row[3])), row[4])

    async def save_conversation(self, record: ConversationRecord) -> None:
        """Insert or update; the version check refuses a write based on a stale read (another process)."""
        stamp = now()
        data = self.keyring.seal_conversation(record.data)
        if record.version == 0:
            start = first_version()
            try:
                async with self.connection.begin_nested():
                    await self.connection.execute(
                        insert(conversations).values(
                            key=record.key,
                            flow=record.flow,
                            flow_version=record.flow_version,
                            state=record.state,
                            data=data,
                            version=start,
                            created_at=stamp,
                            updated_at=stamp,
                        )
                    )
            except IntegrityError:
                self.log.stale(record.key)
                raise ConflictError("conversation created meanwhile by another writer") from None
            record.version = start
        else:
            result = await self.connection.execute(
                update(conversations)
                .where(conversations.c.key == record.key, conversations.c.version == record.version)
                .values(
                    flow=record.flow,
                    flow_version=record.flow_version,
                    state=record.state,
                    data=data,
                    version=record.version + 1,
                    updated_at=stamp,
                )
            )
            if result.rowcount != 1:
                self.log.stale(record.key)
                raise ConflictError(f"conversation changed meanwhile (version {record.version})")
            record.version += 1
        self.log.saved(record)

    async def flow_source(self, version: str) -> tuple[str, str] | None:
        """(file, source) of a flow version seen before, so old conversations keep their version."""
        row = (
            await self.connection.execute(
                select(flow_versions.c.file, flow_versions.c.source).where(flow_versions.c.version == version)
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def create_callback(self, new: NewCallback, callback_id: str | None = None) -> CallbackRow:
        callback_id = callback_id or secrets.token_hex(6)
        stamp = now()
        await self.connection.execute(
            insert(callbacks).values(
                id=callback_id,
                conversation_key=new.conversation_key,
                status="new",
                queue=new.queue,
                persona=new.persona,
                answers=new.answers,
                phone=self.keyring.seal(new.phone),
                phone_digest=self.keyring.phone_digest(new.phone),
                moment=new.moment,
                contact=new.contact,
                consent_at=new.consent_at,
                consent_text=new.consent_text,
                first_name=self.keyring.seal(new.first_name),
                commune=new.commune,
                code_insee=new.code_insee,
                relation=new.relation,
                channel=new.channel,
                created_at=stamp,
                updated_at=stamp,
            )
        )
        return new.stored_as(callback_id, stamp)

    async def cancel_open_callbacks(self, key: str) -> list[CallbackRow]:
        """Cancel the person's requests not yet dealt with (new or claimed); returns them as they were.
        Locked as read (PostgreSQL): a mediator's change being committed is waited for and seen, so a request
        just marked done is not then cancelled (done → cancelled) on a stale read."""
        rows = await self.connection.execute(
            select(callbacks)
            .where(callbacks.c.conversation_key == key, callbacks.c.status.in_(OPEN_STATUSES))
            .order_by(callbacks.c.created_at)
            .with_for_update()
        )
        found = [callback_row(r._mapping, self.keyring) for r in rows]
        if found:
            await self.connection.execute(
                update(callbacks)
                .where(callbacks.c.id.in_([c.id for c in found]))
                .values(status="cancelled", resolved_at=now(), updated_at=now(), scheduled_at=None)
            )
        return found

    async def add_callback_events(self, events: Sequence[CallbackEvent]) -> None:
        if events:
            await self.connection.execute(insert(callback_events), [event_values(e, self.keyring) for e in events])

    async def add_feedback(self, answers: Sequence[FeedbackAnswer]) -> None:
        """Keep the last question's answers with the day only: nothing that leads to the person."""
        if answers:
            day = now().date()
            rows = [
                {"flow": a.flow, "flow_version": a.flow_version, "day": day, "rating": a.rating, "word": a.word}
                for a in answers
            ]
            await self.connection.execute(insert(feedback), rows)

    async def add_misunderstood(self, answers: Sequence[Misunderstood]) -> None:
        """Keep answers not understood (masked by whoever made them), with nothing that leads to the conversation."""
        if answers:
            stamp = now()
            await self.connection.execute(
                insert(misunderstood),
                [
                    {
                        "flow": a.flow,
                        "flow_version": a.flow_version,
                        "question": a.question,
                        "text": a.text,
                        "kind": a.kind,
                        "created_at": stamp,
                    }
                    for a in answers
                ],
            )

    async def forget(self, key: str) -> int:
        """Erase a person's conversation and the personal fields of their callback requests. Open requests
        are cancelled (nobody may call a number that no longer exists); anonymous fields stay for statistics."""
        self.log.deleted(key)
        await self.connection.execute(delete(conversations).where(conversations.c.key == key))
        await self.connection.execute(
            update(callbacks)
            .where(callbacks.c.conversation_key == key, callbacks.c.status.in_(OPEN_STATUSES))
            .values(status="cancelled", scheduled_at=None)
        )
        ids = select(callbacks.c.id).where(callbacks.c.conversation_key == key).scalar_subquery()
        await self.connection.execute(
            update(callback_events).where(callback_events.c.callback_id.in_(ids)).values(note=None)
        )
        result = await self.connection.execute(
            update(callbacks)
            .where(callbacks.c.conversation_key == key)
            .values(
                conversation_key=None,
                phone=None,
                phone_digest=None,
                answers=null(),  # SQL NULL, as the SQLite fast path writes, not the JSON text 'null'
                contact=None,
                first_name=None,
                note=None,
                commune=None,
                code_insee=None,
                relation=None,
                updated_at=now(),
            )
        )
        return int(result.rowcount or 0)

    # ----- the channels' inbox and outbox ----------------------------------------------------------------
    async def record_updates(self, channel: str, updates: Sequence[ReceivedUpdate]) -> list[ReceivedUpdate]:
        """Record updates not seen before; returns those (a repeat of a recorded update is not returned)."""
        updates = first_of_each(updates)  # a repeat within the call counts once
        if not updates:
            return []
        dialect = postgresql if self.connection.dialect.name == "postgresql" else sqlite
        stamp = now()
        until = stamp + self.lease if self.owner else None
        statement = (
            dialect.insert(inbox)
            .values(
                [
                    {
                        "channel": channel,
                        "update_id": u.update_id,
                        "chat_id": u.chat_id,
                        "payload": u.payload,
                        "received_at": stamp,
                        "leased_by": self.owner,  # this process handles it; another only if this one dies
                        "leased_until": until,
                    }
                    # In key order: two writers inserting overlapping batches then take the rows' locks in the
                    # same order (PostgreSQL), so one waits for the other instead of both deadlocking.
                    for u in sorted(updates, key=lambda u: u.update_id)
                ]
            )
            .on_conflict_do_nothing()
            .returning(inbox.c.update_id)
        )
        fresh = set((await self.connection.execute(statement)).scalars())
        return [u for u in updates if u.update_id in fresh]

    async def earlier_update(self, channel: str, chat_id: int, update_id: int) -> ReceivedUpdate | None:
        """The chat's oldest update before `update_id` not handled yet (recorded by another process, or before a
        crash): it must be handled first."""
        row = (
            await self.connection.execute(
                select(inbox.c.update_id, inbox.c.chat_id, inbox.c.payload)
                .where(
                    inbox.c.channel == channel,
                    inbox.c.chat_id == chat_id,
                    inbox.c.update_id < update_id,
                    inbox.c.done_at.is_(None),
                )
                .order_by(inbox.c.update_id)
                .limit(1)
            )
        ).first()
        return ReceivedUpdate(row[0], row[1], row[2]) if row is not None else None

    async def finish_update(self, channel: str, update_id: int) -> bool:
        """The update is handled: its content is no longer needed. False when it was handled already (by another
        process meanwhile): the caller's transaction must then be rolled back, or the update would count twice."""
        result = await self.connection.execute(
            update(inbox)
            .where(inbox.c.channel == channel, inbox.c.update_id == update_id, inbox.c.done_at.is_(None))
            .values(done_at=now(), payload=null())  # SQL NULL, not the JSON text 'null'
        )
        return result.rowcount == 1

    async def queue_outgoing(self, channel: str, calls: Sequence[Outgoing]) -> list[OutgoingRow]:
        rows: list[OutgoingRow] = []
        stamp = now()
        for call in calls:  # one by one: the ids give the sending order
            new_id = (
                await self.connection.execute(
                    insert(outbox)
                    .values(
                        channel=channel,
                        chat_id=call.chat_id,
                        method=call.method,
                        params=call.params,
                        created_at=stamp,
                        leased_by=self.owner,
                        leased_until=stamp + self.lease if self.owner else None,
                    )
                    .returning(outbox.c.id)
                )
            ).scalar_one()
            rows.append(OutgoingRow(new_id, call.chat_id, call.method, call.params))
        return rows

    async def delete_outgoing(self, ids: Sequence[int]) -> None:
        if ids:
            await self.connection.execute(delete(outbox).where(outbox.c.id.in_(list(ids))))
