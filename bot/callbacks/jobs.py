"""Scheduled work on callback requests: reminders when the time agreed with the person comes, reminders when a
request waits past its queue's target time, and each queue's daily summary, all in working hours only. Several
processes may run this: each run is claimed in the database (`scheduled_runs`), so one of them does it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from datetime import date, datetime, time, timedelta

from bot.callbacks import when as words
from bot.callbacks.desk import CallbackDesk, Notifier, QueueSummary
from bot.callbacks.queues import Queue
from bot.core.clock import PARIS, now
from bot.core.tasks import Job
from bot.storage import callback_queries as sql
from bot.storage.records import CallbackEvent, OutgoingRow

log = logging.getLogger(__name__)
EVERY = 60.0  # seconds between two rounds
MIN_REMINDER_GAP = timedelta(hours=1)  # a request is reminded at most this often (or once per target time)
EPOCH = datetime(2000, 1, 1, tzinfo=PARIS)
SYSTEM = ("system", "Passerelle", "system")  # an event's actor, actor_name, via


class CallbackJobs(Job):
    """Runs its rounds while `async with jobs:` lasts (or call `run` / `run_once`)."""

    job_name = "callback jobs"

    def __init__(self, desk: CallbackDesk) -> None:
        self.desk = desk

    async def run(self, stop: asyncio.Event, every: float = EVERY) -> None:
        """Rounds until `stop` is set; a failed round is logged and the next one comes as planned."""
        while not stop.is_set():
            try:
                await self.run_once(now())
            except Exception:
                log.exception("scheduled callback jobs failed; trying again in %.0f s", every)
            with contextlib.suppress(TimeoutError):  # the round's interval passed without a stop
                await asyncio.wait_for(stop.wait(), every)

    async def run_once(self, at: datetime) -> None:
        for queue in self.desk.queues.all:
            if queue.is_working_time(at):
                await self.remind_agreed(queue, at)  # first: its reminder stands for this round's late one
                await self.remind(queue, at)
                await self.summarise(queue, at)

    async def remind(self, queue: Queue, at: datetime) -> int:
        """One message per queue listing the requests waiting past the target; returns how many."""
        gap = max(timedelta(minutes=queue.target_minutes), MIN_REMINDER_GAP)
        sent: list[tuple[Notifier, list[OutgoingRow]]] = []
        async with self.desk.storage.callback_transaction() as tx:
            if not await sql.claim_run(tx, f"reminders:{queue.name}", at, at - timedelta(seconds=EVERY / 2)):
                return 0
            # made before this moment, a request is due by now (its target counted in the queue's working time)
            due_by_now = queue.hours.before(at, queue.target_minutes) + timedelta(microseconds=1)
            late = await sql.waiting_since(tx, queue.name, due_by_now, at - gap, at)
            if not late:
                return 0
            for row in late:
                await sql.update_callback(tx, row.id, {"reminded_at": at})
            for notifier in self.desk.notifiers:
                sent.append((notifier, await notifier.remind(tx, queue, late)))
        self.desk.committed(sent)
        log.info("queue %s: reminder for %d waiting request(s)", queue.name, len(late))
        return len(late)

    async def remind_agreed(self, queue: Queue, at: datetime) -> int:
        """One message per request whose agreed time has come (« Rappel : appeler … maintenant »), to its holder,
        once: `reminded_at` set at or after the agreed time says it was sent (a new time agreed later is reminded
        again). Audited. Returns how many."""
        sent: list[tuple[Notifier, list[OutgoingRow]]] = []
        async with self.desk.storage.callback_transaction() as tx:
            if not await sql.claim_run(tx, f"agreed:{queue.name}", at, at - timedelta(seconds=EVERY / 2)):
                return 0
            due = await sql.agreed_due(tx, queue.name, at)
            for row in due:
                assert row.scheduled_at is not None
                await sql.update_callback(tx, row.id, {"reminded_at": at})
                agreed = f"Heure convenue : le {words.short(row.scheduled_at, words.zone_of(queue))}"
                event = CallbackEvent(row.id, at, "reminded", row.status, row.status, *SYSTEM, agreed)
                await tx.add_callback_events([event])
                for notifier in self.desk.notifiers:
                    sent.append((notifier, await notifier.remind_agreed(tx, queue, row)))
        self.desk.committed(sent)
        if due:
            log.info("queue %s: %d agreed call(s) reminded", queue.name, len(due))
        return len(due)

    async def summarise(self, queue: Queue, at: datetime) -> bool:
        """The activity since the previous working day (yesterday, mostly) and what waits now, once a day, at the
        start of the queue's working hours."""
        zone = queue.hours.calendar.zone
        today = at.astimezone(zone).date()
        start_of_today = datetime.combine(today, time(0), tzinfo=zone)
        # Since the previous working day: on a Monday, Friday's and the weekend's activity (no summary then).
        first_day = previous_working_day(queue, today)
        since = datetime.combine(first_day, time(0), tzinfo=zone)
        sent: list[tuple[Notifier, list[OutgoingRow]]] = []
        async with self.desk.storage.callback_transaction() as tx:
            events = await sql.events_between(tx, [queue.name], since, start_of_today)
            counts = Counter(event.action for event, _ in events)
            waiting = await sql.list_callbacks(tx, [queue.name], ["new"], limit=10_000)
            if not counts and not waiting:
                return False  # nothing to say (yet): no message; a request arriving later today brings one
            if not await sql.claim_run(tx, f"summary:{queue.name}:{today.isoformat()}", at, EPOCH):
                return False
            late = sum(1 for row in waiting if row.created_at is not None and queue.overdue(row.created_at, at))
            summary = QueueSummary(dict(counts), len(waiting), late, (today - first_day).days)
            for notifier in self.desk.notifiers:
                sent.append((notifier, await notifier.summarise(tx, queue, summary)))
        self.desk.committed(sent)
        return True


def previous_working_day(queue: Queue, today: date) -> date:
    """The latest day before `today` on which the queue works; yesterday when no day of the last week is one."""
    for back in range(1, 8):
        day = today - timedelta(days=back)
        if queue.hours.works_on(day):  # a working weekday that is no public holiday
            return day
    return today - timedelta(days=1)
