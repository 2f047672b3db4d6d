"""The last question's answers (« Est-ce que cette conversation vous a été utile ? »), anonymous: Storage's method
to read them (the coordinators' figures, a later report) and the retention purge's query. They are written by each
turn's transaction (`add_feedback`)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import date

from sqlalchemy import delete, select

from bot.storage.core import Transaction
from bot.storage.records import FeedbackRow
from bot.storage.tables import feedback


async def delete_old_feedback(tx: Transaction, before: date) -> int:
    """Answers written before the day `before`."""
    result = await tx.connection.execute(delete(feedback).where(feedback.c.day < before))
    return int(result.rowcount or 0)


class FeedbackReads:
    """Storage's method on the last question's answers (mixed into Storage)."""

    def _core_transaction(self) -> AbstractAsyncContextManager[Transaction]:
        raise NotImplementedError  # Storage's own

    async def feedback(self, since: date | None = None) -> list[FeedbackRow]:
        """The answers written on or after the day `since` (all when None), oldest first."""
        f = feedback.c
        query = select(f.id, f.flow, f.flow_version, f.day, f.rating, f.word).order_by(f.day, f.id)
        async with self._core_transaction() as tx:
            rows = await tx.connection.execute(query if since is None else query.where(f.day >= since))
            return [FeedbackRow(*row) for row in rows]
