"""A migration that adds one table, taken up and down on a real database (SQLite file or PostgreSQL)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from bot.storage import Storage

ALEMBIC_INI = "bot/storage/alembic.ini"


async def table_round_trip(database_url: str, table: str, before: str) -> None:
    """A database at revision `before` gets `table` when the bot opens it; downgrading to `before` removes it,
    upgrading to head brings it back."""
    engine = create_async_engine(database_url)

    async def alembic(action: str, revision: str) -> None:
        def run(connection: Connection) -> None:
            config = Config(ALEMBIC_INI)
            config.attributes["connection"] = connection
            getattr(command, action)(config, revision)

        async with engine.begin() as connection:
            await connection.run_sync(run)

    async def tables() -> set[str]:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))

    try:
        await alembic("upgrade", before)
        assert table not in await tables()
        storage = await Storage.open(database_url)
        await storage.close()
        assert table in await tables()
        await alembic("downgrade", before)
        assert table not in await tables()
        await alembic("upgrade", "head")
        assert table in await tables()
    finally:
        await engine.dispose()
