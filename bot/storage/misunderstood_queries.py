"""Reading the answers not understood (SQLAlchemy Core, SQLite and PostgreSQL), for the coordinators' report
`python -m bot flows misunderstood`: Storage's methods on that table, and their queries. The answers are written by
each turn's transaction (`add_misunderstood`) and deleted by the retention purge."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.core import Transaction
from bot.storage.records import MisunderstoodGroup, MisunderstoodRow
from bot.storage.tables import misunderstood


def _where(since: datetime | None, flow: str | None) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if since is not None:
        conditions.append(misunderstood.c.created_at >= since)
    if flow is not None:
        conditions.append(misunderstood.c.flow == flow)
    return and_(true(), *conditions)


async def select_rows(connection: AsyncConnection, since: datetime | None, flow: str | None) -> list[MisunderstoodRow]:
    """The answers written at or after `since` (all when None), of `flow` (every flow when None), oldest first."""
    m = misunderstood.c
    rows = await connection.execute(
        select(m.id, m.flow, m.flow_version, m.question, m.text, m.kind, m.created_at)
        .where(_where(since, flow))
        .order_by(m.created_at, m.id)
    )
    return [MisunderstoodRow(*row) for row in rows]


async def count_groups(
    connection: AsyncConnection, since: datetime | None, flow: str | None
) -> list[MisunderstoodGroup]:
    """The same answers counted: one group per flow, flow version, question, text as written and kind, with how many
    and the last time; the report merges spellings and versions."""
    m = misunderstood.c
    keys: tuple[Any, ...] = (m.flow, m.flow_version, m.question, m.text, m.kind)
    rows = await connection.execute(
        select(*keys, func.count(), func.max(m.created_at)).where(_where(since, flow)).group_by(*keys).order_by(*keys)
    )
    return [MisunderstoodGroup(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]


class MisunderstoodReads:
    """Storage's methods on the answers not understood, kept beside their queries (mixed into Storage)."""

    def _core_transaction(self) -> AbstractAsyncContextManager[Transaction]:
        raise NotImplementedError  # Storage's own

    async def misunderstood(self, since: datetime | None = None, flow: str | None = None) -> list[MisunderstoodRow]:
        """The answers (masked) written at or after `since`, of `flow` (None: all), oldest first."""
        async with self._core_transaction() as tx:
            return await select_rows(tx.connection, since, flow)

    async def misunderstood_groups(
        self, since: datetime | None = None, flow: str | None = None
    ) -> list[MisunderstoodGroup]:
        """The same answers counted, by flow, version, question, text and kind (`flows misunderstood`)."""
        async with self._core_transaction() as tx:
            return await count_groups(tx.connection, since, flow)
