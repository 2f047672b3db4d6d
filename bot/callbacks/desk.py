"""Callback requests after they are recorded: claimed by a mediator, called, resolved; the person told.

A request lives `new → claimed → done | unreachable | cancelled`. "Injoignable" puts it back to `new` (anyone
may try again) until the queue's `max_attempts`, then it ends as `unreachable`. Its holder may agree a time with
the person (`schedule`: « Rappeler le … à … »); the mediators are reminded when it comes (jobs.py). The rules are
one pure table (rules.py). Every change is one transaction holding the request's new state, its audit event (who,
when, from where) and the messages it causes (the person told, the mediators' group post refreshed) as outbox
rows: all of it, or nothing.

This module is channel-neutral: the channels plug in as `Notifier`s (bot/channels/…); the dashboard and the
Telegram group call the same methods.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from bot.callbacks import when as words
from bot.callbacks.queues import Queue, QueueSet
from bot.callbacks.rules import MAX_NOTE, Action, Actor, Plan, Refused, person, plan
from bot.core.clock import now
from bot.core.commands import CANCEL, HUMAN
from bot.core.live import Current, Live
from bot.core.messages import Button
from bot.storage import Storage, Transaction
from bot.storage import callback_queries as sql
from bot.storage.protocol import TurnTransaction
from bot.storage.records import CallbackEvent, CallbackRow, Listed, OutgoingRow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class QueueSummary:
    """A queue's day, for its daily summary: changes by action (created, done, unreachable…), what waits now."""

    counts: dict[str, int]
    waiting: int
    late: int
    days: int = 1  # the days `counts` covers: 1 (yesterday), 3 on a Monday (since Friday, for a Monday-Friday team)


class Notifier(Protocol):
    """A channel telling people and mediators about requests. Each method writes outbox rows in the caller's
    transaction and returns them; `committed` hands them over for sending once the transaction is committed."""

    def reaches(self, conversation_key: str) -> bool: ...

    async def tell_person(
        self, tx: TurnTransaction, conversation_key: str, text: str, buttons: Sequence[Button], callback_id: str
    ) -> list[OutgoingRow]: ...

    async def post_changed(self, tx: TurnTransaction, row: CallbackRow, queue: Queue) -> list[OutgoingRow]: ...

    async def remind(self, tx: TurnTransaction, queue: Queue, rows: Sequence[CallbackRow]) -> list[OutgoingRow]: ...

    async def remind_agreed(self, tx: TurnTransaction, queue: Queue, row: CallbackRow) -> list[OutgoingRow]: ...

    async def summarise(self, tx: TurnTransaction, queue: Queue, summary: QueueSummary) -> list[OutgoingRow]: ...

    def committed(self, rows: list[OutgoingRow]) -> None: ...


class Texts(Protocol):
    """A text of the flow's messages (flows/messages.yaml), by key; its variant for who wrote (`for_whom`) and who
    is called back (`called`), when the request says so."""

    def __call__(self, key: str, for_whom: str | None = None, called: str | None = None, /) -> str: ...


Effects = Callable[[Transaction], Awaitable[None]]  # a caller's own writes, committed with the change


class CallbackDesk:
    """Every change to a recorded request, for every channel and the dashboard."""

    def __init__(
        self,
        storage: Storage,
        queues: QueueSet | Current[QueueSet],
        texts: Texts,
        *,
        notifiers: list[Notifier] | None = None,
        clock: Callable[[], datetime] = now,
    ) -> None:
        """`queues`: a `Current` when a reload may replace them. `notifiers`: the channels that tell people and
        mediators; the list is kept, not copied (the composition root completes it before anything runs)."""
        self.storage = storage
        self._queues = Live(queues) if isinstance(queues, QueueSet) else queues
        self.texts = texts
        self.clock = clock
        self.notifiers = notifiers if notifiers is not None else []

    @property
    def queues(self) -> QueueSet:
        return self._queues.current

    def queue_of(self, row: CallbackRow) -> Queue:
        return self.queues.get(row.queue) or self.queues.default

    # ----- mediators' actions --------------------------------------------------------------------------------
    async def claim(self, callback_id: str, actor: Actor, *, queues: Collection[str] | None = None) -> CallbackRow:
        return await self._act(callback_id, "claim", actor, queues)

    async def claim_next(self, actor: Actor, queues: Collection[str]) -> CallbackRow | None:
        """Claim the request waiting longest in `queues` ("je prends la suivante"); None when none waits."""
        sent: list[tuple[Notifier, list[OutgoingRow]]] = []
        async with self.storage.callback_transaction() as tx:
            row = await sql.oldest_new(tx, queues)
            if row is None:
                return None
            queue = self.queue_of(row)
            decided = plan(row, "claim", actor, queue, self.clock(), outcome=None, note=None)
            assert decided is not None  # a new request is always claimable
            changed = await self._apply(tx, row, queue, decided, sent)
        self.committed(sent)
        return changed

    async def take_over(self, callback_id: str, actor: Actor, *, queues: Collection[str] | None = None) -> CallbackRow:
        """A request another mediator holds, taken over (they are away; the caller asked for a confirmation)."""
        return await self._act(callback_id, "take_over", actor, queues)

    async def release(self, callback_id: str, actor: Actor, *, queues: Collection[str] | None = None) -> CallbackRow:
        return await self._act(callback_id, "release", actor, queues)

    async def call_done(
        self,
        callback_id: str,
        actor: Actor,
        *,
        outcome: str | None = None,
        note: str | None = None,
        queues: Collection[str] | None = None,
    ) -> CallbackRow:
        return await self._act(callback_id, "done", actor, queues, outcome=outcome, note=note)

    async def unreachable(
        self, callback_id: str, actor: Actor, *, note: str | None = None, queues: Collection[str] | None = None
    ) -> CallbackRow:
        return await self._act(callback_id, "unreachable", actor, queues, note=note)

    async def schedule(
        self, callback_id: str, actor: Actor, when: datetime | None, *, queues: Collection[str] | None = None
    ) -> CallbackRow:
        """« Rappeler le … à … »: the time agreed with the person (naive: a wall-clock time in the request's queue's
        time zone; None: none given, refused)."""
        return await self._act(callback_id, "schedule", actor, queues, when=when)

    async def add_note(
        self, callback_id: str, actor: Actor, note: str, *, queues: Collection[str] | None = None
    ) -> CallbackRow:
        return await self._act(callback_id, "note", actor, queues, note=note)

    async def act(
        self, callback_id: str, action: Action, actor: Actor, queues: Collection[str] | None, *, effects: Effects
    ) -> CallbackRow:
        """An action whose caller writes in the same transaction (`effects`): a Telegram press marked handled
        together with its change, so that a press replayed after a crash cannot apply twice."""
        return await self._act(callback_id, action, actor, queues, effects=effects)

    async def _act(
        self,
        callback_id: str,
        action: Action,
        actor: Actor,
        queues: Collection[str] | None,
        *,
        outcome: str | None = None,
        note: str | None = None,
        when: datetime | None = None,
        effects: Effects | None = None,
    ) -> CallbackRow:
        note = " ".join((note or "").split())[:MAX_NOTE] or None
        sent: list[tuple[Notifier, list[OutgoingRow]]] = []
        async with self.storage.callback_transaction() as tx:
            # Locked until the commit: a concurrent change of this request (another mediator's claim, a reminder)
            # is waited for, then this one is decided on its result ("Déjà prise en charge par Marie"). Taking
            # "the next one" (claim_next) skips locked requests instead.
            row = await sql.fetch_callback(tx, callback_id, lock=True)
            if row is None:
                raise Refused("not_found")
            if queues is not None and row.queue not in queues:
                raise Refused("not_allowed")
            queue = self.queue_of(row)
            decided = plan(row, action, actor, queue, self.clock(), outcome=outcome, note=note, when=when)
            if effects is not None:
                await effects(tx)
            if decided is None:
                return row
            changed = await self._apply(tx, row, queue, decided, sent)
        self.committed(sent)
        return changed

    async def _apply(
        self,
        tx: Transaction,
        row: CallbackRow,
        queue: Queue,
        decided: Plan,
        sent: list[tuple[Notifier, list[OutgoingRow]]],
    ) -> CallbackRow:
        await sql.update_callback(tx, row.id, decided.values)
        await tx.add_callback_events([decided.event])
        changed = replace(row, **decided.values)
        if decided.tell is not None and changed.conversation_key:
            sent += await self._tell(tx, changed, queue, decided.tell, decided.event.at)
        if decided.event.action != "note":
            sent += await self._post(tx, changed, queue)
        event = decided.event
        log.info("callback %s: %s by %s via %s", row.id, event.action, event.actor, event.via)
        return changed

    # ----- within a conversation's turn (the engine) ----------------------------------------------------------
    async def turn_changes(
        self, tx: TurnTransaction, created: Sequence[CallbackRow], cancelled: Sequence[CallbackRow]
    ) -> Callable[[], None]:
        """Requests a turn created or cancelled (/annuler, /oublier): their audit events and group posts, in the
        turn's transaction. Returns what to do once it is committed."""
        at = self.clock()
        events = []
        sent: list[tuple[Notifier, list[OutgoingRow]]] = []
        for row in created:
            actor = person(row.conversation_key or "")
            events.append(CallbackEvent(row.id, at, "created", None, "new", actor.id, actor.name, actor.via))
            sent += await self._post(tx, row, self.queue_of(row))
        for row in cancelled:
            actor = person(row.conversation_key or "")
            events.append(
                CallbackEvent(row.id, at, "cancelled", row.status, "cancelled", actor.id, actor.name, actor.via)
            )
            sent += await self._post(tx, replace(row, status="cancelled"), self.queue_of(row))
        await tx.add_callback_events(events)
        return lambda: self.committed(sent)

    # ----- reading ------------------------------------------------------------------------------------------
    async def get(self, callback_id: str) -> CallbackRow | None:
        async with self.storage.callback_transaction() as tx:
            return await sql.fetch_callback(tx, callback_id)

    async def find_by_phone(self, queues: Collection[str], phone: str) -> list[CallbackRow]:
        """The requests of `queues` made with `phone` (E.164), newest first (the dashboard's « Rechercher un
        numéro »: someone calls a mediator back)."""
        async with self.storage.callback_transaction() as tx:
            return await sql.find_by_phone(tx, queues, phone)

    async def history(self, callback_id: str) -> list[CallbackEvent]:
        async with self.storage.callback_transaction() as tx:
            return await sql.events_of(tx, callback_id)

    async def listing(
        self,
        queues: Collection[str] | None,
        statuses: Collection[str] | None = None,
        *,
        limit: int = 200,
        offset: int = 0,
    ) -> list[CallbackRow]:
        async with self.storage.callback_transaction() as tx:
            return await sql.list_callbacks(tx, queues, statuses, limit=limit, offset=offset)

    async def page(self, listed: Listed, *, limit: int, offset: int) -> tuple[list[CallbackRow], int]:
        """A page of the requests `listed` picks, and how many it picks in all."""
        async with self.storage.callback_transaction() as tx:
            rows = await sql.list_matching(tx, listed, limit=limit, offset=offset)
            return rows, await sql.count_matching(tx, listed)

    async def communes(self, queues: Collection[str]) -> list[str]:
        async with self.storage.callback_transaction() as tx:
            return await sql.communes_of(tx, queues)

    async def last_change(self, queues: Collection[str]) -> tuple[int, datetime | None]:
        async with self.storage.callback_transaction() as tx:
            return await sql.last_change(tx, queues)

    async def counts(self, queues: Collection[str] | None) -> dict[tuple[str, str], int]:
        async with self.storage.callback_transaction() as tx:
            return await sql.count_callbacks(tx, queues)

    async def activity(
        self, queues: Collection[str] | None, since: datetime, until: datetime
    ) -> list[tuple[CallbackEvent, str]]:
        async with self.storage.callback_transaction() as tx:
            return await sql.events_between(tx, queues, since, until)

    async def changed_between(
        self, queues: Collection[str] | None, since: datetime, until: datetime
    ) -> list[CallbackRow]:
        """Requests created or changed in [since, until), oldest first (activity reports)."""
        async with self.storage.callback_transaction() as tx:
            return await sql.changed_between(tx, queues, since, until)

    async def done_between(self, queues: Collection[str] | None, since: datetime, until: datetime) -> list[CallbackRow]:
        """Calls made (« Appel fait ») in [since, until), in the order they were made (the Coop's activity reports)."""
        async with self.storage.callback_transaction() as tx:
            return await sql.done_between(tx, queues, since, until)

    # ----- the group post ------------------------------------------------------------------------------------
    async def set_notice(self, callback_id: str, message_id: int) -> int | None:
        """The person's newest Telegram message about the request; returns the one it replaces (its buttons are
        then taken away), None if none."""
        async with self.storage.callback_transaction() as tx:
            row = await sql.fetch_callback(tx, callback_id, lock=True)
            if row is None:
                return None
            await sql.update_callback(tx, callback_id, {"notice_message_id": message_id})
            return row.notice_message_id if row.notice_message_id != message_id else None

    async def set_post(self, callback_id: str, chat_id: int, message_id: int) -> None:
        """The request's message in the mediators' group, to edit it in place later."""
        async with self.storage.callback_transaction() as tx:
            await sql.update_callback(tx, callback_id, {"post_chat_id": chat_id, "post_message_id": message_id})

    # ----- helpers ------------------------------------------------------------------------------------------
    async def _tell(
        self, tx: TurnTransaction, row: CallbackRow, queue: Queue, key: str, at: datetime
    ) -> list[tuple[Notifier, list[OutgoingRow]]]:
        assert row.conversation_key is not None
        moment = self.texts(f"moment_said_{row.moment}") if row.moment else ""  # « le matin », « dès que possible »
        for_whom = (row.answers or {}).get("for_whom")  # the person is told of whoever will be called
        wording = self.texts(key, for_whom if isinstance(for_whom, str) else None, row.contact)
        values = _Blank(queue=queue.label, moment=moment)
        if row.scheduled_at is not None:  # « jeudi 10 décembre à 14 h »
            values["when"] = words.said(row.scheduled_at, words.zone_of(queue))
        if key == "callback_retry":  # « demain matin », from the queue's working time and the moment chosen
            values["next_try"] = words.next_try_words(queue, at, row.moment)
        text = wording.format_map(values)
        # A way on from each notice: cancel while the request is open (the web chat keeps only the newest
        # notice's buttons); ask again once nobody could be reached; nothing once it is closed.
        cancel = (Button(self.texts("cancel_label"), CANCEL),)
        buttons = {
            "callback_claimed": cancel,
            "callback_scheduled": cancel,
            "callback_retry": cancel,
            "callback_gave_up": (Button(self.texts("human_label"), HUMAN),),
        }.get(key, ())
        return [
            (n, await n.tell_person(tx, row.conversation_key, text, buttons, row.id))
            for n in self.notifiers
            if n.reaches(row.conversation_key)
        ]

    async def _post(
        self, tx: TurnTransaction, row: CallbackRow, queue: Queue
    ) -> list[tuple[Notifier, list[OutgoingRow]]]:
        return [(n, await n.post_changed(tx, row, queue)) for n in self.notifiers]

    @staticmethod
    def committed(sent: list[tuple[Notifier, list[OutgoingRow]]]) -> None:
        for notifier, rows in sent:
            if rows:
                notifier.committed(rows)


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""
