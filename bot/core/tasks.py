"""Background tasks with an owner: started by one supervisor, logged when they fail, cancelled and awaited when
the owner stops (python-telegram-bot's `Application.create_task` is the model). The per-chat workers of
KeyedQueues are the one other kind of task in the bot, and their queue owns them the same way.

    async with Tasks(log) as tasks:
        tasks.create_task(sweep(), name="inbox sweep")
        ...                                   # on leaving: every task still running is cancelled, then awaited

`Job` is the same for one loop that runs while an `async with` block lasts (a scheduled job, a file watcher).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, Self

from bot.core.errors import failure_frames, failure_summary


class Tasks:
    """The background tasks of one part of the bot. A task that ends on an unexpected error says so in `log`
    (its class and frames), instead of vanishing; `aclose` (or leaving `async with`) cancels what still runs
    and waits for it."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def create_task(self, coroutine: Coroutine[Any, Any, None], *, name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._ended)
        return task

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or (error := task.exception()) is None:
            return
        name = task.get_name()
        self.log.error("background task %s failed: %s\n%s", name, failure_summary(error), failure_frames(error))

    @staticmethod
    async def cancel(task: asyncio.Task[None]) -> None:
        """Cancel one task and wait until it has ended (its failure, if any, is logged as usual)."""
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()


class Job:
    """One loop in the background while an `async with` block lasts: on entry `run(stop)` starts under a supervisor
    of its own (failures logged under the subclass's module); on exit `stop` is set and the loop cancelled and
    awaited. A subclass writes `run`, which may also be called directly (tests, one-off runs)."""

    job_name = "job"

    async def run(self, stop: asyncio.Event) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        self._job_stop = asyncio.Event()
        self._job_tasks = Tasks(logging.getLogger(type(self).__module__))
        self._job_tasks.create_task(self.run(self._job_stop), name=self.job_name)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._job_stop.set()
        await self._job_tasks.aclose()
