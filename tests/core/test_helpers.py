"""The core's small helpers for the wiring: the backoff rule, the task supervisor and jobs, the live holder."""

from __future__ import annotations

import asyncio
import itertools
import logging

import pytest

from bot.core.backoff import Backoff
from bot.core.live import Live
from bot.core.tasks import Job, Tasks
from bot.core.text import normalise


def test_backoff_doubles_up_to_its_cap_then_stays_there() -> None:
    """Delays start at `first`, double after each failure and stop growing at `cap`, as the hand-written loops did."""
    assert list(itertools.islice(Backoff(0.5, 10.0), 8)) == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    assert list(itertools.islice(Backoff(1.0, 30.0), 7)) == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert [Backoff(0.5, 1.5).delay(n) for n in range(3)] == [0.5, 1.0, 1.5]
    assert Backoff(0.5, 10.0).delay(10_000) == 10.0  # a long outage: no overflow


def test_a_backoff_that_would_not_grow_or_starts_past_its_cap_is_refused() -> None:
    """A wrong rule is refused when it is written, not when the first failure comes."""
    with pytest.raises(ValueError, match="not a backoff"):
        Backoff(2.0, 1.0)
    with pytest.raises(ValueError, match="not a backoff"):
        Backoff(1.0, 8.0, factor=0.5)


async def test_tasks_log_a_failure_without_its_message_and_cancel_the_rest_on_exit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A task that fails is logged with its name, class and frames but not its message (it may hold personal data);
    leaving the supervisor cancels and awaits the tasks still running."""
    log = logging.getLogger("tests.core.tasks")
    started = asyncio.Event()
    cancelled = asyncio.Event()
    secret = "Mme Germaine, 06 12 34 56 78"

    async def fails() -> None:
        raise ValueError(secret)

    async def runs() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with caplog.at_level(logging.ERROR, logger="tests.core.tasks"):
        async with Tasks(log) as tasks:
            tasks.create_task(fails(), name="failing part")
            tasks.create_task(runs(), name="running part")
            await started.wait()
            for _ in range(10):  # the failed task's end is reported on a later turn of the loop
                if len(tasks) == 1:
                    break
                await asyncio.sleep(0)
            assert len(tasks) == 1
        assert cancelled.is_set()
        assert len(tasks) == 0
    [record] = caplog.records
    assert record.getMessage().startswith("background task failing part failed: ValueError\n")
    assert "in fails" in record.getMessage()
    assert "Germaine" not in caplog.text


async def test_a_job_runs_while_its_block_lasts() -> None:
    """A Job's loop starts when its `async with` block is entered, sees its stop event set on leaving, and has
    ended once the block is left."""
    rounds: list[int] = []
    seen_stop = asyncio.Event()

    class Counting(Job):
        job_name = "counting"

        async def run(self, stop: asyncio.Event) -> None:
            try:
                while not stop.is_set():
                    rounds.append(len(rounds))
                    await asyncio.sleep(0.01)
            finally:
                if stop.is_set():
                    seen_stop.set()

    async with Counting():
        await asyncio.sleep(0.05)
    count = len(rounds)
    assert count >= 2
    assert seen_stop.is_set()
    await asyncio.sleep(0.03)
    assert len(rounds) == count


def test_live_holder_parts_follow_a_swap() -> None:
    """What reads a part of the holder sees the new value as soon as it is swapped."""
    files = Live({"queues": "v1", "flow": "f1"})
    queues = files.part(lambda f: f["queues"])
    assert queues.current == "v1"
    files.swap({"queues": "v2", "flow": "f2"})
    assert queues.current == "v2"
    assert files.current["flow"] == "f2"


@pytest.mark.parametrize(
    ("typed", "plain"),
    [("Ma SŒUR !", "ma soeur"), ("mon œil", "mon oeil"), ("Le cœur", "le coeur"), ("Déjà vu", "deja vu")],
)
def test_normalise_writes_ligatures_out(typed: str, plain: str) -> None:
    """« œ » is no accent: a phone's keyboard types it for « oe », and it must compare as « oe »."""
    assert normalise(typed) == plain
