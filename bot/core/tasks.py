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
import traceback
from collections.abc import Coroutine
from typing import Any, Self


def failure_frames(error: BaseException) -> str:
    """Where an error happened, without what it said: messages may quote personal data (what a person wrote, the
    parameters of a SQL statement), the frames do not."""
    return "".join(traceback.format_tb(error.__traceback__)).rstrip()


def failure_causes(error: BaseException, at_most: int = 5) -> list[str]:
    """The classes of the errors that led to this one, nearest first (their messages left out, as above)."""
    causes: list[str] = []
    cause = error.__cause__ or error.__context__
    while cause is not None and len(causes) < at_most:
        causes.append(cause.__class__.__name__)
        cause = cause.__cause__ or cause.__context__
    return causes


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
        causes = failure_causes(error)
        after = f" (from {' < '.join(causes)})" if causes else ""
        name, kind = task.get_name(), error.__class__.__name__
        self.log.error("background task %s failed: %s%s\n%s", name, kind, after, failure_frames(error))

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
