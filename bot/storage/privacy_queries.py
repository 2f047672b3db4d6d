"""The queries of retention and key rotation (SQLAlchemy Core, SQLite and PostgreSQL): what the purge deletes or
erases once its period is over, and bot/privacy/keys.py's re-encryption. Each function runs in the caller's transaction
(`Storage.callback_transaction()`) and returns how many rows it changed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, delete, insert, null, or_, select, update

from bot.storage.core import OPEN_STATUSES, Transaction, event_values
from bot.storage.records import CallbackEvent
from bot.storage.tables import callback_events, callbacks, conversations, inbox, misunderstood, outbox

EXPIRED = "expired"  # the audit event of an open request cancelled because its retention period is over
SYSTEM_ACTOR = ("system", "Passerelle", "system")  # actor, actor_name, via


async def delete_idle_conversations(tx: Transaction, updated_before: datetime) -> int:
    """Conversations nobody touched since `updated_before` (answers and dialogue context with them)."""
    result = await tx.connection.execute(
        delete(conversations).where(conversations.c.updated_at < updated_before).returning(conversations.c.key)
    )
    return _forgotten(tx, list(result.scalars()))


async def delete_unanswered(tx: Transaction, key_prefix: str, created_before: datetime) -> int:
    """Conversations of a channel (`key_prefix`, e.g. "web:") saved only once, when they began, before
    `created_before`: a page opened and left without an answer."""
    result = await tx.connection.execute(
        delete(conversations)
        .where(
            conversations.c.key.startswith(key_prefix, autoescape=True),
            conversations.c.created_at < created_before,
            conversations.c.updated_at == conversations.c.created_at,
        )
        .returning(conversations.c.key)
    )
    return _forgotten(tx, list(result.scalars()))


def _forgotten(tx: Transaction, keys: list[str]) -> int:
    for key in keys:
        tx.log.deleted(key)  # out of this process's cache once committed (other processes: the version check)
    return len(keys)


def _personal_left() -> ColumnElement[bool]:
    c = callbacks.c
    return or_(
        *(
            column.is_not(None)
            for column in (
                c.conversation_key,
                c.phone,
                c.phone_digest,
                c.first_name,
                c.note,
                c.answers,
                c.contact,
                c.relation,
            )
        )
    )


async def expire_callbacks(tx: Transaction, created_before: datetime, at: datetime) -> tuple[int, int]:
    """Erase the personal fields of the requests made before `created_before` (phone, its digest, first name,
    notes with those of the audit trail, answers, who to call, the link to the conversation); the anonymous ones
    stay for statistics. A request still open is cancelled first, with an "expired" event by the system (nobody may
    call a number that is no longer kept). Returns (requests erased, requests cancelled)."""
    old = callbacks.c.created_at < created_before
    still_open = list(
        await tx.connection.execute(
            select(callbacks.c.id, callbacks.c.status)
            .where(old, callbacks.c.status.in_(OPEN_STATUSES))
            .order_by(callbacks.c.id)
            .with_for_update()  # a mediator's claim being committed is waited for, then refused (closed)
        )
    )
    if still_open:
        actor, name, via = SYSTEM_ACTOR
        events = [CallbackEvent(r.id, at, EXPIRED, r.status, "cancelled", actor, name, via) for r in still_open]
        await tx.connection.execute(insert(callback_events), [event_values(e, tx.keyring) for e in events])
        await tx.connection.execute(
            update(callbacks)
            .where(callbacks.c.id.in_([r.id for r in still_open]))
            .values(status="cancelled", resolved_at=at, updated_at=at)
        )
    of_old = callback_events.c.callback_id.in_(select(callbacks.c.id).where(old))
    await tx.connection.execute(
        update(callback_events).where(callback_events.c.note.is_not(None), of_old).values(note=None)
    )
    erased = await tx.connection.execute(
        update(callbacks)
        .where(old, _personal_left())
        .values(
            conversation_key=None,
            phone=None,
            phone_digest=None,
            first_name=None,
            note=None,
            answers=null(),  # SQL NULL, not the JSON text 'null'
            contact=None,
            relation=None,  # the commune stays, alone: the anonymous figures of a territory
        )
    )
    return int(erased.rowcount or 0), len(still_open)


async def delete_handled_updates(tx: Transaction, done_before: datetime) -> int:
    """Inbox rows handled before `done_before` (their payload is already erased; they were kept to recognise a
    channel's repeats). Rows not handled yet are never deleted."""
    result = await tx.connection.execute(delete(inbox).where(inbox.c.done_at < done_before))
    return int(result.rowcount or 0)


async def delete_unsent(tx: Transaction, channel: str, created_before: datetime) -> int:
    """Outbox rows of `channel` written before `created_before` and never delivered (the web chat's notices for a
    page that did not come back)."""
    result = await tx.connection.execute(
        delete(outbox).where(outbox.c.channel == channel, outbox.c.created_at < created_before)
    )
    return int(result.rowcount or 0)


async def delete_old_misunderstood(tx: Transaction, created_before: datetime) -> int:
    """Answers not understood kept for the coordinators, written before `created_before`."""
    result = await tx.connection.execute(delete(misunderstood).where(misunderstood.c.created_at < created_before))
    return int(result.rowcount or 0)


# ----- key rotation ---------------------------------------------------------------------------------------------
async def reseal_callbacks(tx: Transaction, after_id: str, limit: int) -> tuple[str | None, int]:
    """The next `limit` requests (by id, after `after_id`) with personal fields, encrypted again with the first
    key and their phone digest recomputed. Returns (the last id done, or None when there were none; how many)."""
    c = callbacks.c
    rows = list(
        await tx.connection.execute(
            select(c.id, c.phone, c.first_name, c.note)
            .where(c.id > after_id, or_(c.phone.is_not(None), c.first_name.is_not(None), c.note.is_not(None)))
            .order_by(c.id)
            .limit(limit)
            .with_for_update()  # a note written meanwhile is waited for, never overwritten by its old value
        )
    )
    keyring = tx.keyring
    for row in rows:
        await tx.connection.execute(
            update(callbacks)
            .where(c.id == row.id)
            .values(
                phone=keyring.reseal(row.phone),
                phone_digest=keyring.phone_digest(keyring.open(row.phone)),
                first_name=keyring.reseal(row.first_name),
                note=keyring.reseal(row.note),
            )
        )
    return (rows[-1].id if rows else None), len(rows)


async def reseal_event_notes(tx: Transaction, after_id: int, limit: int) -> tuple[int | None, int]:
    """As reseal_callbacks, for the notes of the audit trail."""
    e = callback_events.c
    rows = list(
        await tx.connection.execute(
            select(e.id, e.note)
            .where(e.id > after_id, e.note.is_not(None))
            .order_by(e.id)
            .limit(limit)
            .with_for_update()
        )
    )
    for row in rows:
        await tx.connection.execute(
            update(callback_events).where(e.id == row.id).values(note=tx.keyring.reseal(row.note))
        )
    return (rows[-1].id if rows else None), len(rows)
