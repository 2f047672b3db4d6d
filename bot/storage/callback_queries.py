"""The callback requests' queries (SQLAlchemy Core, any database): the lifecycle rules are in bot/callbacks/desk.py.

Claims must never give one request to two mediators. On PostgreSQL the row is locked: `SELECT … FOR UPDATE` for
a named request (a second claimer waits, then reads who took it), `FOR UPDATE SKIP LOCKED` for "the next one" (a
request another mediator is taking right now is skipped, not waited for). On SQLite every write transaction
begins with BEGIN IMMEDIATE (sqlite.py), so writers are serialised and the second claim reads the first one's
result.

Every function runs in the caller's transaction (`Storage.callback_transaction()`), whose keyring seals the personal
fields written (phone, first name, notes) and opens those read.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from bot.storage.core import Transaction, callback_row, event_values
from bot.storage.records import CallbackEvent, CallbackRow, Listed
from bot.storage.tables import callback_events, callbacks, scheduled_runs

SEALED = ("phone", "first_name", "note")  # the columns stored encrypted


async def fetch_callback(tx: Transaction, callback_id: str, *, lock: bool = False) -> CallbackRow | None:
    """One request; `lock`: locked until the transaction ends (a concurrent change waits, then reads this one's)."""
    statement = select(callbacks).where(callbacks.c.id == callback_id)
    if lock:
        statement = statement.with_for_update()
    row = (await tx.connection.execute(statement)).first()
    return callback_row(row._mapping, tx.keyring) if row else None


async def oldest_new(tx: Transaction, queues: Collection[str]) -> CallbackRow | None:
    """The request waiting longest in `queues`, locked; requests other transactions are taking are skipped."""
    statement = (
        select(callbacks)
        .where(callbacks.c.status == "new", callbacks.c.queue.in_(list(queues)))
        .order_by(callbacks.c.created_at, callbacks.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    row = (await tx.connection.execute(statement)).first()
    return callback_row(row._mapping, tx.keyring) if row else None


async def update_callback(tx: Transaction, callback_id: str, values: dict[str, Any]) -> None:
    """Set columns of a request, given in clear (personal ones are sealed here)."""
    sealed = {k: tx.keyring.seal(v) if k in SEALED else v for k, v in values.items()}
    await tx.connection.execute(update(callbacks).where(callbacks.c.id == callback_id).values(**sealed))


async def events_of(tx: Transaction, callback_id: str) -> list[CallbackEvent]:
    rows = await tx.connection.execute(
        select(callback_events).where(callback_events.c.callback_id == callback_id).order_by(callback_events.c.id)
    )
    return [_event(r._mapping, tx) for r in rows]


async def find_by_phone(tx: Transaction, queues: Collection[str], phone: str, *, limit: int = 50) -> list[CallbackRow]:
    """The requests of `queues` made with this number (E.164), newest first, found by its keyed digest (the number
    itself is stored encrypted). Erased requests have no digest: they are not found."""
    digests = tx.keyring.phone_digests(phone)
    if not digests:
        return []
    statement = (
        select(callbacks)
        .where(callbacks.c.phone_digest.in_(digests), callbacks.c.queue.in_(list(queues)))
        .order_by(callbacks.c.created_at.desc(), callbacks.c.id)
        .limit(limit)
    )
    return [callback_row(r._mapping, tx.keyring) for r in await tx.connection.execute(statement)]


def _event(row: Any, tx: Transaction) -> CallbackEvent:
    return CallbackEvent(
        row["callback_id"],
        row["at"],
        row["action"],
        row["from_status"],
        row["to_status"],
        row["actor"],
        row["actor_name"],
        row["via"],
        tx.keyring.open(row["note"]),
    )


async def list_callbacks(
    tx: Transaction,
    queues: Collection[str] | None,
    statuses: Collection[str] | None,
    *,
    limit: int = 200,
    offset: int = 0,
) -> list[CallbackRow]:
    """Oldest first (the one waiting longest is the first to call)."""
    listed = Listed(tuple(queues) if queues is not None else None, tuple(statuses) if statuses is not None else None)
    return await list_matching(tx, listed, limit=limit, offset=offset)


def _matching(listed: Listed) -> list[ColumnElement[bool]]:
    c = callbacks.c
    found: list[ColumnElement[bool]] = []
    if listed.queues is not None:
        found.append(c.queue.in_(list(listed.queues)))
    if listed.statuses is not None:
        found.append(c.status.in_(list(listed.statuses)))
    if listed.holder is not None:
        found.append(c.claimed_by == listed.holder)
    if listed.commune is not None:
        found.append(c.commune == listed.commune)
    if listed.since is not None:
        found.append(c.created_at >= listed.since)
    if listed.until is not None:
        found.append(c.created_at < listed.until)
    return found


async def list_matching(tx: Transaction, listed: Listed, *, limit: int, offset: int = 0) -> list[CallbackRow]:
    """A page of the requests `listed` picks, oldest first; (created_at, id) orders them totally, so that pages
    neither repeat nor skip a request."""
    statement = select(callbacks).where(*_matching(listed))
    statement = statement.order_by(callbacks.c.created_at, callbacks.c.id).limit(limit).offset(offset)
    return [callback_row(r._mapping, tx.keyring) for r in await tx.connection.execute(statement)]


async def count_matching(tx: Transaction, listed: Listed) -> int:
    statement = select(func.count()).select_from(callbacks).where(*_matching(listed))
    return int((await tx.connection.execute(statement)).scalar_one())


async def communes_of(tx: Transaction, queues: Collection[str]) -> list[str]:
    """The communes requests of these queues came from, in alphabetical order (the list's filter)."""
    statement = (
        select(callbacks.c.commune)
        .where(callbacks.c.queue.in_(list(queues)), callbacks.c.commune.is_not(None))
        .distinct()
        .order_by(callbacks.c.commune)
    )
    return [str(r[0]) for r in await tx.connection.execute(statement)]


async def last_change(tx: Transaction, queues: Collection[str]) -> tuple[int, datetime | None]:
    """How many requests these queues hold and when one last changed: a list shown is stale once this differs."""
    statement = select(func.count(), func.max(callbacks.c.updated_at)).where(callbacks.c.queue.in_(list(queues)))
    count, latest = (await tx.connection.execute(statement)).one()
    return int(count), latest


async def count_callbacks(tx: Transaction, queues: Collection[str] | None) -> dict[tuple[str, str], int]:
    """(queue, status) -> how many."""
    statement = select(callbacks.c.queue, callbacks.c.status, func.count()).group_by(
        callbacks.c.queue, callbacks.c.status
    )
    if queues is not None:
        statement = statement.where(callbacks.c.queue.in_(list(queues)))
    return {(r[0], r[1]): int(r[2]) for r in await tx.connection.execute(statement)}


async def waiting_since(
    tx: Transaction, queue: str, created_before: datetime, reminded_before: datetime, at: datetime
) -> list[CallbackRow]:
    """Requests of `queue` not called yet (waiting, or taken but not called) older than `created_before`, not
    reminded since `reminded_before`, and with no call agreed with the person after `at` (not late: expected)."""
    statement = (
        select(callbacks)
        .where(
            callbacks.c.queue == queue,
            callbacks.c.status.in_(("new", "claimed")),
            callbacks.c.created_at < created_before,
            or_(callbacks.c.reminded_at.is_(None), callbacks.c.reminded_at < reminded_before),
            or_(callbacks.c.scheduled_at.is_(None), callbacks.c.scheduled_at <= at),
        )
        .order_by(callbacks.c.created_at)
    )
    return [callback_row(r._mapping, tx.keyring) for r in await tx.connection.execute(statement)]


async def agreed_due(tx: Transaction, queue: str, at: datetime) -> list[CallbackRow]:
    """Taken requests of `queue` whose time agreed with the person has come by `at` and was not reminded since
    (`reminded_at` before the agreed time), the earliest agreed first."""
    statement = (
        select(callbacks)
        .where(
            callbacks.c.queue == queue,
            callbacks.c.status == "claimed",
            callbacks.c.scheduled_at <= at,
            or_(callbacks.c.reminded_at.is_(None), callbacks.c.reminded_at < callbacks.c.scheduled_at),
        )
        .order_by(callbacks.c.scheduled_at, callbacks.c.id)
    )
    return [callback_row(r._mapping, tx.keyring) for r in await tx.connection.execute(statement)]


async def changed_between(
    tx: Transaction, queues: Collection[str] | None, since: datetime, until: datetime
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
    return [callback_row(r._mapping, tx.keyring) for r in await tx.connection.execute(statement)]


async def done_between(
    tx: Transaction, queues: Collection[str] | None, since: datetime, until: datetime
) -> list[CallbackRow]:
    """Calls made (« Appel fait ») in [since, until), in the order they were made: the activity reports' calls."""
    statement = select(callbacks).where(
        callbacks.c.status == "done", callbacks.c.resolved_at >= since, callbacks.c.resolved_at < until
    )
    if queues is not None:
        statement = statement.where(callbacks.c.queue.in_(list(queues)))
    statement = statement.order_by(callbacks.c.resolved_at, callbacks.c.id)
    return [callback_row(r._mapping, tx.keyring) for r in await tx.connection.execute(statement)]


async def events_between(
    tx: Transaction, queues: Collection[str] | None, since: datetime, until: datetime
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
    return [(_event(r._mapping, tx), r._mapping["queue"]) for r in await tx.connection.execute(statement)]


async def add_events(tx: Transaction, events: Sequence[CallbackEvent]) -> None:
    if events:
        await tx.connection.execute(insert(callback_events), [event_values(e, tx.keyring) for e in events])


async def claim_run(tx: Transaction, job: str, at: datetime, not_since: datetime) -> bool:
    """Take the run of a scheduled job: True for the one transaction (of any process) that records it first,
    unless it last ran at or after `not_since`."""
    dialect = postgresql if tx.connection.dialect.name == "postgresql" else sqlite
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
    return (await tx.connection.execute(statement)).first() is not None
