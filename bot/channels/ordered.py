"""Work items handled strictly in order within a key, and concurrently across keys.

A chat's updates (or its outgoing messages) must never overtake each other, while thousands of chats go on
at once: one queue per key, one worker task per key that has work, gone when its queue is empty. There is
no global sequential step, and no race between two items of one key (the engine's per-conversation lock
would serialise them too, but in no guaranteed order).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class KeyedQueues(Generic[T]):
    def __init__(self, handle: Callable[[T], Awaitable[None]], *, concurrency: int | None = None, name: str) -> None:
        """`handle` must deal with its own failures (retrying or giving up, and logging): an exception it lets
        through is logged and the item is dropped, so that one bad item never blocks its chat for ever."""
        self._handle = handle
        self._limit = asyncio.Semaphore(concurrency) if concurrency else None
        self._queues: dict[int | str, deque[T]] = {}
        self._workers: dict[int | str, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._name = name
        self._closed = False

    def __len__(self) -> int:
        """Items waiting or in hand."""
        return sum(len(q) for q in self._queues.values())

    @property
    def active_keys(self) -> int:
        return len(self._workers)

    def put(self, key: int | str, item: T) -> None:
        if self._closed:
            raise RuntimeError(f"{self._name}: closed")
        self._queues.setdefault(key, deque()).append(item)
        if key not in self._workers:
            self._idle.clear()
            self._workers[key] = asyncio.create_task(self._work(key), name=f"{self._name}:{key}")

    async def _work(self, key: int | str) -> None:
        queue = self._queues[key]
        try:
            while queue:
                item = queue[0]
                try:
                    if self._limit is None:
                        await self._handle(item)
                    else:
                        async with self._limit:
                            await self._handle(item)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s: an item of one chat failed and was dropped", self._name)
                queue.popleft()
        finally:
            if not queue:
                self._queues.pop(key, None)
            self._workers.pop(key, None)
            if not self._workers:
                self._idle.set()

    async def join(self, within: float | None = None) -> bool:
        """Wait until every item is handled; False if `within` seconds passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Stop at once: workers are cancelled; what they held stays wherever it is kept (inbox, outbox)."""
        self._closed = True
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._queues.clear()
