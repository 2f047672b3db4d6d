"""Column types that behave the same on every engine."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """A moment, stored in UTC and read back as an aware UTC datetime on every engine. SQLite keeps no offset
    (a plain DateTime drops it when writing and reads back naive), PostgreSQL's timestamptz reads back aware:
    without this, one row compares differently on the two. A naive datetime given is taken as UTC."""

    impl = DateTime  # UtcDateTime(timezone=True): a DateTime(timezone=True) underneath (timestamptz on PostgreSQL)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
