"""The callback requests' queries (SQLAlchemy Core, any database): the lifecycle rules are in bot/callbacks.py.

Claims must never give one request to two mediators. On PostgreSQL the row is locked: `SELECT … FOR UPDATE` for
a named request (a second claimer waits, then reads who took it), `FOR UPDATE SKIP LOCKED` for "the next one" (a
request another mediator is taking right now is skipped, not waited for). On SQLite every write transaction
begins with BEGIN IMMEDIATE (sqlite.py), so writers are serialised and the second claim reads the first one's
result.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.core import callback_row
from bot.storage.records import CallbackEvent, CallbackRow
from bot.storage.tables import callback_events, callbacks, scheduled_runs


async def fetch_callback(connection: AsyncConnection, callback_id: str, *, lock: bool = False) -> CallbackRow | None:
    """One request; `lock`: locked until the transaction ends (a concurrent change waits, then reads this one's)."""
    statement = select(callbacks).where(callbacks.c.id == callback_id)
    if lock:
        statement = statement.with_for_update()
    row = (await connection.execute(statement)).first()
    return callback_row(row._mapping) if row else None


async def oldest_new(connection: AsyncConnection, queues: Collection[str]) -> CallbackRow | None:
    """The request waiting longest in `queues`, locked; requests other transactions are taking are skipped."""
    statement = (
        select(callbacks)
        .where(callbacks.c.status == "new", callbacks.c.queue.in_(list(queues)))
        .order_by(callbacks.c.created_at, callbacks.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    row = (await connection.execute(statement)).first()
    return callback_row(row._mapping) if row else None


async def update_callback(connection: AsyncConnection, callback_id: str, values: dict[str, Any]) -> None:
    await connection.execute(update(callbacks).where(callbacks.c.id == callback_id).values(**values))


async def events_of(connection: AsyncConnection, callback_id: str) -> list[CallbackEvent]:
    rows = await connection.execute(
        select(callback_events).where(callback_events.c.callback_id == callback_id).order_by(callback_events.c.id)
    )
    return [_event(r._mapping) for r in rows]


def _event(row: Any) -> CallbackEvent:
    return CallbackEvent(
        row["callback_id"],
        row["at"],
        row["action"],
        row["from_status"],
        row["to_status"],
        row["actor"],
        row["actor_name"],
        row["via"],
        row["note"],
    )


async def list_callbacks(
    connection: AsyncConnection,
    queues: Collection[str] | None,
    statuses: Collection[str] | None,
    *,
    limit: int = 200,
    offset: int = 0,
) -> list[CallbackRow]:
    """Oldest first (the one waiting longest is the first to call)."""
    statement = select(callbacks)
    if queues is not None:
        statement = statement.where(callbacks.c.queue.in_(list(queues)))
    if statuses is not None:
        statement = statement.where(callbacks.c.status.in_(list(statuses)))
    statement = statement.order_by(callbacks.c.created_at, callbacks.c.id).limit(limit).offset(offset)
    return [callback_row(r._mapping) for r in await connection.execute(statement)]


async def count_callbacks(connection: AsyncConnection, queues: Collection[str] | None) -> dict[tuple[str, str], int]:
    """(queue, status) -> how many."""
    statement = select(callbacks.c.queue, callbacks.c.status, func.count()).group_by(
        callbacks.c.queue, callbacks.c.status
    )
    if queues is not None:
        statement = statement.where(callbacks.c.queue.in_(list(queues)))
    return {(r[0], r[1]): int(r[2]) for r in await connection.execute(statement)}


async def waiting_since(
    connection: AsyncConnection, queue: str, created_before: datetime, reminded_before: datetime
) -> list[CallbackRow]:
    """Requests of `queue` not called yet (waiting, or taken but not called) older than `created_before`, not
    reminded since `reminded_before`."""
    statement = (
        select(callbacks)
        .where(
            callbacks.c.queue == queue,
            callbacks.c.status.in_(("new", "claimed")),
            callbacks.c.created_at < created_before,
            or_(callbacks.c.reminded_at.is_(None), callbacks.c.reminded_at < reminded_before),
        )
        .order_by(callbacks.c.created_at)
    )
    return [callback_row(r._mapping) for r in await connection.execute(statement)]


async def changed_between(
    connection: AsyncConnection, queues: Collection[str] | None, since: datetime, until: datetime
) -> list[CallbackRow]:
    """Requests created, or changed, in [since, until), oldest first: the activity of a period."""
    statement = select(callbacks).where(
        or_(
            and_(callbacks.c.created_at >= since, callbacks.c.created_at < until),
            and_(callbacks.c.updated_at >= since, callbacks.c.updated_at < until),
        )
    )
    if queues is not None:
        statement = statement.where(callbacks.c.queue.in_(list(queues)))
    statement = statement.order_by(callbacks.c.created_at, callbacks.c.id)
    return [callback_row(r._mapping) for r in await connection.execute(statement)]


async def events_between(
    connection: AsyncConnection, queues: Collection[str] | None, since: datetime, until: datetime
) -> list[tuple[CallbackEvent, str]]:
    """Every change in [since, until), with its request's queue, in order."""
    statement = (
        select(callback_events, callbacks.c.queue)
        .join(callbacks, callbacks.c.id == callback_events.c.callback_id)
        .where(callback_events.c.at >= since, callback_events.c.at < until)
        .order_by(callback_events.c.id)
    )
    if queues is not None:
        statement = statement.where(callbacks.c.queue.in_(list(queues)))
    return [(_event(r._mapping), r._mapping["queue"]) for r in await connection.execute(statement)]


async def add_events(connection: AsyncConnection, events: Sequence[CallbackEvent]) -> None:
    if events:
        await connection.execute(
            insert(callback_events),
            [
                {
                    "callback_id": e.callback_id,
                    "at": e.at,
                    "action": e.action,
                    "from_status": e.from_status,
                    "to_status": e.to_status,
                    "actor": e.actor,
                    "actor_name": e.actor_name,
                    "via": e.via,
                    "note": e.note,
                }
                for e in events
            ],
        )


async def claim_run(connection: AsyncConnection, job: str, at: datetime, not_since: datetime) -> bool:
    """Take the run of a scheduled job: True for the one transaction (of any process) that records it first,
    unless it last ran at or after `not_since`."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(scheduled_runs)
        .values(job=job, ran_at=at)
        .on_conflict_do_update(
            index_elements=[scheduled_runs.c.job],
            set_={"ran_at": at},
            where=scheduled_runs.c.ran_at < not_since,
        )
        .returning(scheduled_runs.c.job)
    )
    return (await connection.execute(statement)).first() is not None
