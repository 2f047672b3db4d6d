"""Sending what the outbox holds: in order within a chat, chats concurrently, within the rate limits, retried
until sent. A row leaves the outbox only once the call succeeded (or can never succeed), so a reply that
could not be sent (API down, 429 storm, crash) is sent later rather than dropped. After a crash, a call
made but not yet deleted is made again: at least once, never zero times.

Several processes share the outbox: a row is leased to the process that wrote it, which renews the leases of the
rows it holds while it runs; the rows of a process that died (lease run out) are adopted by another one, once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.channels.ordered import KeyedQueues
from bot.channels.telegram.limits import Limiter
from bot.core.backoff import Backoff
from bot.core.errors import StorageError
from bot.core.tasks import Tasks
from bot.storage.protocol import ChannelStore
from bot.storage.records import OutgoingRow

log = logging.getLogger(__name__)
SEND_BACKOFF = Backoff(0.5, 30.0)  # waits before a call that failed is made again (at least: Telegram may ask more)
FLUSH_BACKOFF = Backoff(0.5, 10.0)  # waits before sent rows that could not be struck off are tried again
CLOSE_GRACE = 2.0  # seconds close() waits for a deletion in progress
MAINTENANCE_EVERY = 10.0  # seconds between lease renewals (well within the storage's lease) and looks for orphaned rows


class RetryLater(Exception):
    """The call failed but may succeed later (network, 5xx, 429)."""

    def __init__(self, reason: str, delay: float = 0.0, *, everything: bool = False) -> None:
        super().__init__(reason)
        self.delay = delay
        self.everything = everything  # a flood limit: pause every chat, not only this one


class Undeliverable(Exception):
    """The call can never succeed (the person blocked the bot, the chat is gone): it is dropped, and logged."""


class Outbox:
    def __init__(
        self,
        store: ChannelStore,
        channel: str,
        send: Callable[[OutgoingRow], Awaitable[None]],
        limiter: Limiter,
        *,
        concurrency: int = 128,
        maintenance_every: float = MAINTENANCE_EVERY,
    ) -> None:
        self.store = store
        self.maintenance_every = maintenance_every
        self._held: set[int] = set()  # rows pushed here and not yet sent
        # The rows leased to this process, until deleted (sent ones too: until struck off, another process must not
        # take them): when each must be renewed by (a monotonic time, a third of the lease before it runs out).
        self._leases: dict[int, float] = {}
        self._renew_within = store.lease.total_seconds() * 2 / 3
        self._lost: set[int] = set()  # rows whose lease another process took over (this one stalled): not sent here
        self.channel = channel
        self._send = send
        self.limiter = limiter
        self._queues: KeyedQueues[OutgoingRow] = KeyedQueues(self._deliver, name=f"outbox {channel}")
        self._connections = asyncio.Semaphore(concurrency)  # requests in flight, at most the HTTP pool's size
        self._sent_ids: list[int] = []
        self._has_sent = asyncio.Event()
        self._closing = False
        self._stopped = False  # closed: nothing more is sent by this run
        self._tasks = Tasks(log)
        self._flusher: asyncio.Task[None] | None = None
        self._maintainer: asyncio.Task[None] | None = None
        self.sent = 0
        self.retries = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._queues)

    async def start(self) -> None:
        """Resume what an earlier run left unsent, then keep deleting sent rows in the background, renewing the
        leases of the rows held, and adopting those of processes that died."""
        self.push(await self.store.adopt_outgoing(self.channel, own_too=True))
        self._flusher = self._tasks.create_task(self._flush_regularly(), name=f"outbox flush {self.channel}")
        self._maintainer = self._tasks.create_task(self._maintain_regularly(), name=f"outbox leases {self.channel}")

    async def _maintain_regularly(self) -> None:
        while not self._stopped:
            await asyncio.sleep(self.maintenance_every)
            try:
                await self.maintain()
            except StorageError as exc:  # the database is away: try again next round (leases last longer)
                log.warning("outbox leases not renewed this round: %s", exc)

    async def maintain(self) -> None:
        """Renew the leases of the rows held here; take up the rows nobody holds any more."""
        held = sorted(self._leases)
        if held:
            await self._renew(held)
        adopted = await self.store.adopt_outgoing(self.channel)
        if adopted:
            log.info("outbox: %d messages left by a stopped process taken over", len(adopted))
            self.push(adopted)

    async def _renew(self, ids: list[int]) -> set[int]:
        """Renew these leases; those that could not be (another process adopted them after this one stalled past
        the lease, or deleted meanwhile) are not sent from here. The ids renewed."""
        renewed = set(await self.store.renew_outgoing(ids))
        deadline = time.monotonic() + self._renew_within
        for row_id in ids:
            if row_id in renewed:
                if row_id in self._leases:
                    self._leases[row_id] = deadline
            elif self._leases.pop(row_id, None) is not None and row_id in self._held:
                self._lost.add(row_id)
        return renewed

    def push(self, rows: list[OutgoingRow]) -> None:
        """Rows just committed to the outbox (in id order). Once closed (stopping), they stay in the table for the
        next start: another part of the process (the dashboard, the web chat) may still commit some."""
        if self._stopped:
            return
        deadline = time.monotonic() + self._renew_within
        for row in rows:
            if row.id not in self._held:
                self._held.add(row.id)
                self._leases.setdefault(row.id, deadline)
                self._queues.put(row.chat_id, row)

    def discard(self, rows: list[OutgoingRow]) -> None:
        """Rows committed but made needless by another one still waiting: struck off without a call."""
        if rows:
            self._sent_ids.extend(row.id for row in rows)
            self._held.difference_update(row.id for row in rows)
            self._has_sent.set()

    async def _deliver(self, row: OutgoingRow) -> None:
        try:
            await self._deliver_held(row)
        finally:
            self._held.discard(row.id)

    async def _deliver_held(self, row: OutgoingRow) -> None:
        delays = iter(SEND_BACKOFF)
        while True:
            if row.id in self._lost:  # another process holds it now
                self._lost.discard(row.id)
                return
            if self._leases.get(row.id, 0.0) < time.monotonic():
                # Waited long (a busy process, a long outage): make sure the lease is still this process's before
                # sending, so that a row is never sent by two living processes.
                try:
                    if row.id not in await self._renew([row.id]):
                        self._lost.discard(row.id)
                        return
                except StorageError as exc:
                    log.warning("%s waits for the database to renew its lease (%s)", row.method, exc)
                    await asyncio.sleep(next(delays))
                    continue
            await self.limiter.acquire(row.chat_id)
            try:
                async with self._connections:
                    await self._send(row)
            except RetryLater as exc:
                self.retries += 1
                if exc.everything:
                    self.limiter.pause(exc.delay)
                delay = next(delays)
                wait = exc.delay if exc.everything else max(exc.delay, delay)
                log.warning("%s failed (%s); retrying in %.1f s", row.method, exc, wait)
                await asyncio.sleep(wait)
                continue
            except Undeliverable as exc:
                self.dropped += 1
                log.warning("%s dropped: %s", row.method, exc)
            else:
                self.sent += 1
            self._sent_ids.append(row.id)
            self._has_sent.set()
            return

    async def _flush_regularly(self) -> None:
        """Strike sent rows off at once, so that a crash repeats as little as possible; under load the rows
        sent while one deletion runs go together in the next (one transaction for many rows)."""
        delays = iter(FLUSH_BACKOFF)
        while not self._closing:
            await self._has_sent.wait()
            self._has_sent.clear()
            try:
                await self.flush()
            except Exception:  # a bug: keep the outbox running, the rows stay listed for the next flush
                log.exception("removing sent messages from the outbox failed")
            if self._sent_ids and not self._closing:
                # Not deleted (the database is away): try again soon, even if this chat stays quiet, so that a
                # crash later does not send them a second time.
                await asyncio.sleep(next(delays))
                self._has_sent.set()
            else:
                delays = iter(FLUSH_BACKOFF)

    async def flush(self) -> None:
        """Delete the rows sent so far. On a database error they stay listed, for the next flush."""
        if not self._sent_ids:
            return
        ids, self._sent_ids = self._sent_ids, []
        try:
            await self.store.delete_outgoing(ids)
            for row_id in ids:
                self._leases.pop(row_id, None)
        except StorageError as exc:
            self._sent_ids[:0] = ids
            log.warning("sent messages not yet removed from the outbox: %s", exc)
        except asyncio.CancelledError:
            self._sent_ids[:0] = ids  # stopped while deleting (close): the last flush deletes them
            raise

    async def drain(self, within: float) -> bool:
        """Wait (at most `within` seconds) until everything queued is sent; True if it was."""
        done = await self._queues.join(within)
        await self.flush()
        return done

    async def close(self) -> None:
        """Stop sending; what is still unsent stays in the outbox for the next start."""
        self._stopped = True
        if self._maintainer is not None:
            await self._tasks.cancel(self._maintainer)
        await self._queues.close()
        if self._flusher is not None:
            # Let a deletion in progress finish rather than cancel it in the middle of its COMMIT; a database
            # that hangs gets a few seconds (the ids of a cancelled deletion go back to the list, flushed below).
            self._closing = True
            self._has_sent.set()
            done, _ = await asyncio.wait({self._flusher}, timeout=CLOSE_GRACE)
            if not done:
                await self._tasks.cancel(self._flusher)
        await self.flush()
