"""The mediators' dashboard queries (SQLAlchemy Core, SQLite and PostgreSQL): accounts, sessions, failed
sign-ins. Each function runs on the connection of a transaction the caller holds (`Storage.callback_transaction`);
the rules (timeouts, limits, hashing) are in bot/dashboard."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.tables import dashboard_sessions, login_attempts, mediators


@dataclass(frozen=True, slots=True)
class MediatorRow:
    login: str
    name: str
    password_hash: str
    queues: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    disabled_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None and bool(self.password_hash)


@dataclass(frozen=True, slots=True)
class SessionRow:
    token_hash: str
    login: str
    csrf_token: str
    flash: dict[str, str] | None
    created_at: datetime
    last_seen_at: datetime


def _mediator(row: Any) -> MediatorRow:
    return MediatorRow(
        row["login"],
        row["name"],
        row["password_hash"],
        tuple(str(q) for q in row["queues"] or ()),
        row["created_at"],
        row["updated_at"],
        row["disabled_at"],
    )


# ----- accounts ---------------------------------------------------------------------------------------------
async def get_mediator(connection: AsyncConnection, login: str) -> MediatorRow | None:
    row = (await connection.execute(select(mediators).where(mediators.c.login == login))).first()
    return _mediator(row._mapping) if row else None


async def list_mediators(connection: AsyncConnection) -> list[MediatorRow]:
    rows = await connection.execute(select(mediators).order_by(mediators.c.login))
    return [_mediator(r._mapping) for r in rows]


async def insert_mediator(
    connection: AsyncConnection, login: str, name: str, password_hash: str, queues: Sequence[str], at: datetime
) -> None:
    await connection.execute(
        insert(mediators).values(
            login=login,
            name=name,
            password_hash=password_hash,
            queues=list(queues),
            created_at=at,
            updated_at=at,
            disabled_at=None,
        )
    )


async def update_mediator(connection: AsyncConnection, login: str, values: dict[str, Any]) -> None:
    await connection.execute(update(mediators).where(mediators.c.login == login).values(**values))


# ----- sessions ---------------------------------------------------------------------------------------------
async def insert_session(
    connection: AsyncConnection, token_hash: str, login: str, csrf_token: str, at: datetime
) -> None:
    await connection.execute(
        insert(dashboard_sessions).values(
            token_hash=token_hash, login=login, csrf_token=csrf_token, flash=None, created_at=at, last_seen_at=at
        )
    )


async def get_session(connection: AsyncConnection, token_hash: str) -> SessionRow | None:
    row = (
        await connection.execute(select(dashboard_sessions).where(dashboard_sessions.c.token_hash == token_hash))
    ).first()
    if row is None:
        return None
    m = row._mapping
    return SessionRow(m["token_hash"], m["login"], m["csrf_token"], m["flash"], m["created_at"], m["last_seen_at"])


async def update_session(connection: AsyncConnection, token_hash: str, values: dict[str, Any]) -> None:
    await connection.execute(
        update(dashboard_sessions).where(dashboard_sessions.c.token_hash == token_hash).values(**values)
    )


async def delete_session(connection: AsyncConnection, token_hash: str) -> None:
    await connection.execute(delete(dashboard_sessions).where(dashboard_sessions.c.token_hash == token_hash))


async def delete_sessions_of(connection: AsyncConnection, login: str) -> int:
    result = await connection.execute(delete(dashboard_sessions).where(dashboard_sessions.c.login == login))
    return int(result.rowcount or 0)


async def delete_stale_sessions(connection: AsyncConnection, seen_before: datetime, created_before: datetime) -> int:
    """Sessions past their idle or absolute timeout."""
    result = await connection.execute(
        delete(dashboard_sessions).where(
            (dashboard_sessions.c.last_seen_at < seen_before) | (dashboard_sessions.c.created_at < created_before)
        )
    )
    return int(result.rowcount or 0)


# ----- failed sign-ins --------------------------------------------------------------------------------------
async def lock_failures(connection: AsyncConnection) -> None:
    """Other sign-ins wait to count failures until this transaction ends (on SQLite, BEGIN IMMEDIATE does that)."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text("LOCK TABLE login_attempts IN SHARE ROW EXCLUSIVE MODE"))


async def add_failures(connection: AsyncConnection, keys: Collection[str], at: datetime) -> list[int]:
    """One failure per key; the ids of the rows added."""
    ids = []
    for key in keys:
        added = await connection.scalar(insert(login_attempts).values(key=key, at=at).returning(login_attempts.c.id))
        ids.append(int(added))
    return ids


async def delete_failures(connection: AsyncConnection, ids: Collection[int]) -> None:
    await connection.execute(delete(login_attempts).where(login_attempts.c.id.in_(list(ids))))


async def count_failures(connection: AsyncConnection, keys: Collection[str], since: datetime) -> dict[str, int]:
    """key -> failures after `since` (keys without any are absent)."""
    rows = await connection.execute(
        select(login_attempts.c.key, func.count())
        .where(login_attempts.c.key.in_(list(keys)), login_attempts.c.at > since)
        .group_by(login_attempts.c.key)
    )
    return {r[0]: int(r[1]) for r in rows}


async def clear_failures(connection: AsyncConnection, keys: Collection[str]) -> None:
    await connection.execute(delete(login_attempts).where(login_attempts.c.key.in_(list(keys))))


async def delete_old_failures(connection: AsyncConnection, before: datetime) -> int:
    """Failures older than the counting window: they no longer count."""
    result = await connection.execute(delete(login_attempts).where(login_attempts.c.at < before))
    return int(result.rowcount or 0)
