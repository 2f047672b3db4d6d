"""Callback requests after they are recorded (bot/callbacks/desk.py): claims, calls, retries, cancellation, the audit
trail, what the person is told, concurrency, reminders and summaries, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import traceback
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.app.root import LoadedFlow
from bot.callbacks.desk import CallbackDesk, Notifier, QueueSummary
from bot.callbacks.jobs import CallbackJobs
from bot.callbacks.queues import Queue, QueueSet
from bot.callbacks.rules import Actor, Refused
from bot.channels.web.notices import WEB_CHANNEL
from bot.channels.web.notifier import WebNotifier
from bot.core.clock import now
from bot.core.errors import StorageError
from bot.core.messages import Button
from bot.engine.engine import Engine
from bot.places.offers import NoCatalogue
from bot.storage import Storage
from bot.storage.protocol import TurnTransaction
from bot.storage.records import CallbackEvent, CallbackRow, NewCallback, OutgoingRow
from bot.storage.tables import callback_events, callbacks
from tests.conftest import Chat

MARIE = Actor("web:marie", "Marie D.", "dashboard")
PAUL = Actor("telegram:77", "Paul", "telegram")


@dataclass
class Recorder:
    """A channel that records what the desk asks it to say (and writes nothing)."""

    told: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    posts: list[tuple[str, str]] = field(default_factory=list)
    reminders: list[tuple[str, list[str]]] = field(default_factory=list)
    summaries: list[tuple[str, QueueSummary]] = field(default_factory=list)
    agreed: list[tuple[str, str]] = field(default_factory=list)  # (request, holder) reminded at the agreed time
    handed: list[OutgoingRow] = field(default_factory=list)

    def reaches(self, conversation_key: str) -> bool:
        return conversation_key.startswith("telegram:")

    async def tell_person(
        self, tx: TurnTransaction, conversation_key: str, text: str, buttons: Sequence[Button], callback_id: str
    ) -> list[OutgoingRow]:
        self.told.append((conversation_key, text, tuple(b.value for b in buttons)))
        return []

    async def post_changed(self, tx: TurnTransaction, row: CallbackRow, queue: Queue) -> list[OutgoingRow]:
        self.posts.append((row.id, row.status))
        return []

    async def remind(self, tx: TurnTransaction, queue: Queue, rows: Sequence[CallbackRow]) -> list[OutgoingRow]:
        self.reminders.append((queue.name, [r.id for r in rows]))
        return []

    async def remind_agreed(self, tx: TurnTransaction, queue: Queue, row: CallbackRow) -> list[OutgoingRow]:
        self.agreed.append((row.id, row.claimed_by or ""))
        return []

    async def summarise(self, tx: TurnTransaction, queue: Queue, summary: QueueSummary) -> list[OutgoingRow]:
        self.summaries.append((queue.name, summary))
        return []

    def committed(self, rows: list[OutgoingRow]) -> None:
        self.handed += rows


def queue_set() -> QueueSet:
    default = Queue("default", "l'équipe Passerelle", max_attempts=2, target_minutes=60)
    return QueueSet(default, (Queue("lyon", "la Maison de Lyon", postcodes=frozenset({"69003"})),))


@dataclass
class Desk:
    storage: Storage
    desk: CallbackDesk
    recorder: Recorder


def texts_of(loaded: LoadedFlow) -> Callable[..., str]:
    return lambda key, for_whom=None, called=None: loaded.flow.messages[key].pick(for_whom, called)


@pytest.fixture
async def desk(database_url: str, loaded: LoadedFlow) -> AsyncIterator[Desk]:
    storage = await Storage.open(database_url)
    recorder = Recorder()
    desk = CallbackDesk(storage, queue_set(), texts_of(loaded), notifiers=[recorder, WebNotifier()])
    yield Desk(storage, desk, recorder)
    await storage.close()


@dataclass
class Asked:
    """A conversation on a real engine (with the desk as its callback hook) that has just asked for a callback."""

    storage: Storage
    desk: CallbackDesk
    chat: Chat
    callback_id: str


@asynccontextmanager
async def asked_callback(
    database_url: str, loaded: LoadedFlow, notifier: Notifier | None = None
) -> AsyncIterator[Asked]:
    storage = await Storage.open(database_url)
    try:
        desk = CallbackDesk(storage, queue_set(), texts_of(loaded), notifiers=[notifier] if notifier else [])
        engine = Engine(loaded.flow, loaded.personas, storage, NoCatalogue(), callback_hook=desk)
        await engine.start()
        chat = Chat(engine, "telegram:42")
        await chat.script(["bonjour", "/humain", "oui", "06 12 34 56 78"])
        await chat.send("value:morning")
        turn = await chat.send("Jeanne")
        assert turn.callback is not None
        yield Asked(storage, desk, chat, turn.callback.id)
    finally:
        await storage.close()


async def new_request(storage: Storage, key: str = "telegram:42", queue: str = "default") -> CallbackRow:
    async with storage.transaction() as tx:
        return await tx.create_callback(
            NewCallback(key, queue, "timide", {"for_whom": "self"}, "+33612345678", "morning", "person", now(), "v1")
        )


async def events(storage: Storage, callback_id: str) -> list[tuple[str, str | None, str, str]]:
    async with storage.callback_transaction() as tx:
        rows = await tx.connection.execute(
            select(callback_events.c.action, callback_events.c.from_status, callback_events.c.to_status)
            .add_columns(callback_events.c.actor)
            .where(callback_events.c.callback_id == callback_id)
            .order_by(callback_events.c.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_claim_tells_the_person_and_records_who_when_where(desk: Desk) -> None:
    """A claim holds the request for one mediator, is audited, refreshes the group post, and tells the person."""
    request = await new_request(desk.storage)
    claimed = await desk.desk.claim(request.id, MARIE)
    assert (claimed.status, claimed.claimed_by, claimed.claimed_name) == ("claimed", "web:marie", "Marie D.")
    stored = await desk.desk.get(request.id)
    assert stored is not None
    assert (stored.status, stored.claimed_by, stored.claimed_at is not None) == ("claimed", "web:marie", True)
    assert await events(desk.storage, request.id) == [("claimed", "new", "claimed", "web:marie")]
    [history] = await desk.desk.history(request.id)
    assert (history.via, history.actor_name) == ("dashboard", "Marie D.")
    [(key, text, buttons)] = desk.recorder.told
    assert key == "telegram:42"
    assert "l'équipe Passerelle va vous appeler le matin" in text
    assert buttons == ("/annuler",)
    assert desk.recorder.posts == [(request.id, "claimed")]


async def test_a_claimed_request_cannot_be_taken_by_another_mediator(desk: Desk) -> None:
    """Second claimer refused with the holder's name; the holder claiming again changes nothing."""
    request = await new_request(desk.storage)
    await desk.desk.claim(request.id, MARIE)
    with pytest.raises(Refused, match=r"Marie D\.") as refused:
        await desk.desk.claim(request.id, PAUL)
    assert refused.value.code == "taken"
    again = await desk.desk.claim(request.id, MARIE)
    assert again.claimed_by == "web:marie"
    assert len(await events(desk.storage, request.id)) == 1
    for action in (desk.desk.release, desk.desk.unreachable, desk.desk.call_done):
        with pytest.raises(Refused) as not_holder:
            await action(request.id, PAUL)
        assert not_holder.value.code == "not_holder"


async def test_release_puts_the_request_back_for_anyone(desk: Desk) -> None:
    """Libérer: back to `new`, nobody holds it, another mediator may claim it."""
    request = await new_request(desk.storage)
    await desk.desk.claim(request.id, MARIE)
    released = await desk.desk.release(request.id, MARIE)
    assert (released.status, released.claimed_by) == ("new", None)
    assert (await desk.desk.claim(request.id, PAUL)).claimed_by == "telegram:77"
    with pytest.raises(Refused) as refused:
        await desk.desk.release((await new_request(desk.storage)).id, MARIE)
    assert refused.value.code == "not_claimed"


async def test_call_done_closes_with_outcome_and_note(desk: Desk) -> None:
    """Appel fait: closed with its outcome and note; nothing more can be done to it but notes."""
    request = await new_request(desk.storage)
    await desk.desk.claim(request.id, MARIE)
    done = await desk.desk.call_done(request.id, MARIE, outcome="appointment", note="  RDV jeudi   10 h ")
    assert (done.status, done.outcome, done.note) == ("done", "appointment", "RDV jeudi 10 h")
    stored = await desk.desk.get(request.id)
    assert stored is not None
    assert stored.resolved_at is not None
    for action in (desk.desk.claim, desk.desk.release, desk.desk.unreachable):
        with pytest.raises(Refused) as refused:
            await action(request.id, MARIE)
        assert refused.value.code == "closed"
    noted = await desk.desk.add_note(request.id, PAUL, "rappel de courtoisie fait")
    assert noted.note == "rappel de courtoisie fait"
    assert [e[0] for e in await events(desk.storage, request.id)] == ["claimed", "done", "note"]
    other = await new_request(desk.storage)
    await desk.desk.claim(other.id, MARIE)
    with pytest.raises(Refused) as bad:
        await desk.desk.call_done(other.id, MARIE, outcome="invented")
    assert bad.value.code == "bad_outcome"


async def test_done_and_unreachable_only_once_claimed(desk: Desk) -> None:
    """« Appel fait », « Injoignable » and « Libérer » on a request nobody has taken are refused, saying to take it
    first (issue « mediators at work », point 5); nothing changes; once claimed, its holder resolves it."""
    request = await new_request(desk.storage)
    for action in (desk.desk.call_done, desk.desk.unreachable, desk.desk.release):
        with pytest.raises(Refused) as refused:
            await action(request.id, PAUL)
        assert refused.value.code == "not_claimed"
        assert "« Je m'en occupe »" in refused.value.message
    unchanged = await desk.desk.get(request.id)
    assert unchanged is not None
    assert (unchanged.status, unchanged.claimed_by, unchanged.attempts) == ("new", None, 0)
    await desk.desk.claim(request.id, PAUL)
    done = await desk.desk.call_done(request.id, PAUL)
    assert (done.status, done.claimed_by, done.outcome) == ("done", "telegram:77", "helped")


async def test_unreachable_retries_until_the_queue_limit(desk: Desk) -> None:
    """Injoignable: back to `new` for another try (person told), until max_attempts, then closed (person told)."""
    request = await new_request(desk.storage)
    await desk.desk.claim(request.id, MARIE)
    first = await desk.desk.unreachable(request.id, MARIE, note="messagerie")
    assert (first.status, first.attempts, first.claimed_by) == ("new", 1, None)
    await desk.desk.claim(request.id, PAUL)
    last = await desk.desk.unreachable(request.id, PAUL)
    assert (last.status, last.attempts, last.outcome) == ("unreachable", 2, "unreachable")
    texts = [text for _, text, _ in desk.recorder.told]
    assert "réessaierons" in texts[1]
    assert "malgré plusieurs essais" in texts[3]
    assert [e[:3] for e in await events(desk.storage, request.id)] == [
        ("claimed", "new", "claimed"),
        ("unreachable", "claimed", "new"),
        ("claimed", "new", "claimed"),
        ("unreachable", "claimed", "unreachable"),
    ]


async def test_news_of_a_relative_s_request_speak_of_whoever_will_be_called(desk: Desk) -> None:
    """A relative asked that their relative be called: every news (taken, tried, given up, cancelled) speaks of
    « votre proche », never « vous appeler » ; a relative who will be called themselves is told « vous »."""
    async with desk.storage.transaction() as tx:
        for_person = await tx.create_callback(
            NewCallback(
                "telegram:42",
                "default",
                "timide",
                {"for_whom": "relative"},
                "+33612345678",
                "morning",
                "person",
                now(),
                "v1",
            )
        )
        for_relative = await tx.create_callback(
            NewCallback(
                "telegram:43",
                "default",
                "timide",
                {"for_whom": "relative"},
                "+33612345679",
                "any",
                "relative",
                now(),
                "v1",
            )
        )
    await desk.desk.claim(for_person.id, MARIE)
    await desk.desk.unreachable(for_person.id, MARIE)
    await desk.desk.claim(for_person.id, MARIE)
    await desk.desk.unreachable(for_person.id, MARIE)
    await desk.desk.claim(for_relative.id, MARIE)
    told = [(key, text) for key, text, _ in desk.recorder.told]
    to_person = [text for key, text in told if key == "telegram:42"]
    assert len(to_person) == 4
    assert "l'équipe Passerelle va appeler votre proche le matin" in to_person[0]
    assert "Nous avons appelé votre proche" in to_person[1]
    assert "Nous n'avons pas réussi à joindre votre proche" in to_person[3]
    for text in to_person:
        assert "vous appeler" not in text, text
        assert "vous joindre" not in text, text
    [to_relative] = [text for key, text in told if key == "telegram:43"]
    assert "l'équipe Passerelle va vous appeler dès que possible" in to_relative


async def test_a_mediator_acts_only_on_their_queues(desk: Desk) -> None:
    """A request of another queue is refused (not_allowed), and unknown ids say so."""
    request = await new_request(desk.storage, queue="lyon")
    with pytest.raises(Refused) as refused:
        await desk.desk.claim(request.id, MARIE, queues=["default"])
    assert refused.value.code == "not_allowed"
    assert (await desk.desk.claim(request.id, MARIE, queues=["lyon"])).status == "claimed"
    with pytest.raises(Refused) as missing:
        await desk.desk.claim("nope", MARIE)
    assert missing.value.code == "not_found"
    with pytest.raises(Refused) as empty:
        await desk.desk.add_note(request.id, MARIE, "   ")
    assert empty.value.code == "empty_note"


async def test_a_web_chat_person_is_told_through_a_notice(desk: Desk) -> None:
    """For a web chat's request, the claim leaves a notice row for the page to fetch (with the cancel button)."""
    request = await new_request(desk.storage, key="web:123456")
    await desk.desk.claim(request.id, MARIE)
    [row] = await desk.storage.pending_outgoing(WEB_CHANNEL)
    assert (row.chat_id, row.method) == (123456, "notice")
    assert "va vous appeler" in row.params["text"]
    assert row.params["buttons"] == [{"label": "Annuler ma demande", "value": "/annuler"}]
    assert desk.recorder.told == []  # the Telegram recorder does not reach web chats


async def test_fifty_simultaneous_claims_give_the_request_to_exactly_one(desk: Desk, database_url: str) -> None:
    """50 mediators press "Je m'en occupe" at once, over 5 connections: exactly one holds the request."""
    request = await new_request(desk.storage)
    others = [await Storage.open(database_url) for _ in range(4)]
    desks = [desk.desk] + [CallbackDesk(s, desk.desk.queues, desk.desk.texts) for s in others]
    start = asyncio.Event()

    async def claim(n: int) -> str:
        await start.wait()
        try:
            await desks[n % len(desks)].claim(request.id, Actor(f"web:m{n}", f"M{n}", "dashboard"))
        except Refused as refused:
            messages.append(refused.message)
            return refused.code
        return "won"

    messages: list[str] = []

    tasks = [asyncio.create_task(claim(n)) for n in range(50)]
    await asyncio.sleep(0.05)
    start.set()
    results = await asyncio.gather(*tasks)
    for storage in others:
        await storage.close()
    assert results.count("won") == 1
    assert set(results) == {"won", "taken"}
    stored = await desk.desk.get(request.id)
    assert stored is not None
    winner = results.index("won")
    assert stored.claimed_by == f"web:m{winner}"
    assert set(messages) == {f"Déjà prise en charge par M{winner}."}  # each loser learns who took it
    assert [e[0] for e in await events(desk.storage, request.id)] == ["claimed"]


async def test_five_hundred_requests_ten_mediators_each_claimed_once(desk: Desk, database_url: str) -> None:
    """10 mediators take "the next one" until none is left: each of 500 requests is claimed exactly once."""
    async with desk.storage.transaction() as tx:
        for n in range(500):
            await tx.create_callback(
                NewCallback(f"telegram:{n}", "default", None, {}, "+33612345678", "any", "person", now(), "v1")
            )
    others = [await Storage.open(database_url) for _ in range(4)]
    desks = [desk.desk] + [CallbackDesk(s, desk.desk.queues, desk.desk.texts) for s in others]
    start = asyncio.Event()

    async def mediator(n: int) -> list[str]:
        actor = Actor(f"web:m{n}", f"M{n}", "dashboard")
        mine: list[str] = []
        await start.wait()
        for _ in range(600):  # bounded: more rounds than requests
            row = await desks[n % len(desks)].claim_next(actor, ["default"])
            if row is None:
                return mine
            mine.append(row.id)
            if random.random() < 0.1:
                await asyncio.sleep(0)
        raise AssertionError("the queue never emptied")

    tasks = [asyncio.create_task(mediator(n)) for n in range(10)]
    start.set()
    claimed = [i for ids in await asyncio.gather(*tasks) for i in ids]
    for storage in others:
        await storage.close()
    assert len(claimed) == 500
    assert len(set(claimed)) == 500
    async with desk.storage.callback_transaction() as tx:
        statuses = list(await tx.connection.scalars(select(callbacks.c.status)))
        claims = list(
            await tx.connection.scalars(
                select(callback_events.c.callback_id).where(callback_events.c.action == "claimed")
            )
        )
    assert statuses == ["claimed"] * 500
    assert sorted(claims) == sorted(claimed)


async def test_the_person_cancels_with_annuler(database_url: str, loaded: LoadedFlow) -> None:
    """/annuler in the conversation cancels the open request (audited, post refreshed); a second one says none."""
    recorder = Recorder()
    async with asked_callback(database_url, loaded, recorder) as asked:
        storage, desk, chat, callback_id = asked.storage, asked.desk, asked.chat, asked.callback_id
        assert recorder.posts == [(callback_id, "new")]
        assert await events(storage, callback_id) == [("created", None, "new", "person")]
        await desk.claim(callback_id, MARIE)
        turn = await chat.send("/annuler")
        assert "C'est annulé" in turn.replies[0].text
        stored = await desk.get(callback_id)
        assert stored is not None
        assert stored.status == "cancelled"
        assert [e[:3] for e in await events(storage, callback_id)][-1] == ("cancelled", "claimed", "cancelled")
        assert recorder.posts[-1] == (callback_id, "cancelled")
        turn = await chat.send("/annuler")
        assert "pas de demande de rappel en cours" in turn.replies[0].text
        with pytest.raises(Refused):
            await desk.call_done(callback_id, MARIE)


async def test_forget_cancels_a_claimed_request_and_erases_its_personal_fields(
    database_url: str, loaded: LoadedFlow
) -> None:
    """/oublier: the request the mediator holds is cancelled; phone, first name, notes (history too) erased."""
    async with asked_callback(database_url, loaded) as asked:
        desk, chat, callback_id = asked.desk, asked.chat, asked.callback_id
        await desk.claim(callback_id, MARIE)
        await desk.add_note(callback_id, MARIE, "Mme X, 12 rue Y")
        await chat.script(["/oublier", "value:yes"])
        stored = await desk.get(callback_id)
        assert stored is not None
        assert (stored.status, stored.phone, stored.note, stored.first_name, stored.answers) == (
            "cancelled",
            None,
            None,
            None,
            None,
        )
        assert all(e.note is None for e in await desk.history(callback_id))
        with pytest.raises(Refused) as refused:  # nor can personal details be written back afterwards
            await desk.add_note(callback_id, MARIE, "Mme X, 12 rue Y")
        assert refused.value.code == "erased"
        stored = await desk.get(callback_id)
        assert stored is not None
        assert stored.note is None


async def test_reminders_list_late_requests_once_per_gap_in_working_hours(desk: Desk) -> None:
    """A request waiting past the target is reminded in working hours, not again within the gap, not at night."""
    queue = desk.desk.queues.default  # target 60 min, office hours
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Paris
    late, fresh = await new_request(desk.storage), await new_request(desk.storage)
    async with desk.storage.callback_transaction() as tx:
        for row, age in ((late, timedelta(hours=3)), (fresh, timedelta(minutes=10))):
            await tx.connection.execute(update(callbacks).where(callbacks.c.id == row.id).values(created_at=at - age))
    jobs = CallbackJobs(desk.desk)
    assert await jobs.remind(queue, at) == 1
    assert desk.recorder.reminders == [("default", [late.id])]
    assert await jobs.remind(queue, at + timedelta(minutes=5)) == 0  # reminded within the gap
    await desk.desk.claim(fresh.id, MARIE)  # taken, but nobody has called yet: still reminded once late
    called = await new_request(desk.storage)
    await desk.desk.claim(called.id, MARIE)
    await desk.desk.call_done(called.id, MARIE)  # called: never reminded
    async with desk.storage.callback_transaction() as tx:
        await tx.connection.execute(
            update(callbacks).where(callbacks.c.id == called.id).values(created_at=at - timedelta(hours=5))
        )
    assert await jobs.remind(queue, at + timedelta(hours=2)) == 2  # the gap passed; the other one is late now
    assert sorted(desk.recorder.reminders[-1][1]) == sorted([late.id, fresh.id])
    night = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)
    await jobs.run_once(night + timedelta(hours=5))
    assert len(desk.recorder.reminders) == 2


async def test_the_daily_summary_is_sent_once_a_day(desk: Desk) -> None:
    """At the start of working hours each queue gets one summary per day: what waits, how many are late."""
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    jobs = CallbackJobs(desk.desk)
    queue = desk.desk.queues.default
    assert not await jobs.summarise(queue, at - timedelta(minutes=1))  # nothing happened, nothing waits: silence
    late, fresh = await new_request(desk.storage), await new_request(desk.storage)
    async with desk.storage.callback_transaction() as tx:
        for row, age in ((late, timedelta(hours=5)), (fresh, timedelta(minutes=10))):
            await tx.connection.execute(update(callbacks).where(callbacks.c.id == row.id).values(created_at=at - age))
    assert await jobs.summarise(queue, at)  # the silent round did not use up the day's summary
    assert not await jobs.summarise(queue, at + timedelta(hours=1))
    [(name, summary)] = desk.recorder.summaries
    assert (name, summary.waiting, summary.late) == ("default", 2, 1)
    assert await jobs.summarise(queue, at + timedelta(days=1))


@dataclass
class HeldPost(Recorder):
    """A recorder whose group post waits for `release`: the desk's transaction stays open (its row locked)."""

    holding: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def post_changed(self, tx: TurnTransaction, row: CallbackRow, queue: Queue) -> list[OutgoingRow]:
        if row.status == "done":
            self.holding.set()
            await self.release.wait()
        return await super().post_changed(tx, row, queue)


async def test_annuler_while_a_call_is_marked_done_never_turns_done_into_cancelled(
    database_url: str, loaded: LoadedFlow
) -> None:
    """/annuler sent while a mediator's « Appel fait » is being committed: the request stays done (no done →
    cancelled transition), the person hears none is open, and the trail has no cancellation."""
    held = HeldPost()
    async with asked_callback(database_url, loaded, held) as asked:
        storage, desk, chat, callback_id = asked.storage, asked.desk, asked.chat, asked.callback_id
        await desk.claim(callback_id, MARIE)
        done = asyncio.create_task(desk.call_done(callback_id, MARIE))
        await asyncio.wait_for(held.holding.wait(), 5)  # the row is changed, not yet committed
        cancel = asyncio.create_task(chat.send("/annuler"))
        await asyncio.sleep(0.5)  # the turn reaches its transaction and waits for the mediator's one
        held.release.set()
        await done
        turn = await cancel
        stored = await desk.get(callback_id)
        assert stored is not None
        assert stored.status == "done"
        assert "pas de demande de rappel en cours" in turn.replies[0].text
        assert [e[0] for e in await events(storage, callback_id)] == ["created", "claimed", "done"]


async def test_a_failed_statement_never_puts_its_personal_values_in_the_error(desk: Desk) -> None:
    """A database error (logged with its traceback by the edges: dashboard, jobs) names the statement, never its
    values: no phone number, answers or note in the logs."""
    request = await new_request(desk.storage)
    personal = NewCallback(
        "telegram:9", "default", None, {"goals": "secret"}, "+33699887766", "any", "person", now(), "v1"
    )
    with pytest.raises(StorageError) as failed:
        async with desk.storage.callback_transaction() as tx:
            await tx.create_callback(personal, request.id)  # the same id again: refused
    logged = "".join(traceback.format_exception(failed.value))
    assert "IntegrityError" in logged or "UniqueViolation" in logged
    assert "+33699887766" not in logged
    assert "secret" not in logged


async def test_monday_summary_covers_friday_and_the_weekend(desk: Desk) -> None:
    """A Monday-Friday team's Monday summary counts what happened since Friday morning (Friday's and the
    weekend's activity appear in no other summary); Tuesday's counts Monday only."""
    friday_noon = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
    saturday_noon, monday_noon = friday_noon + timedelta(days=1), friday_noon + timedelta(days=3)
    thursday_noon = friday_noon - timedelta(days=1)  # in Friday's summary
    request = await new_request(desk.storage)
    async with desk.storage.callback_transaction() as tx:
        await tx.add_callback_events(
            [
                CallbackEvent(request.id, moment, action, None, "new", "person", "la personne", "telegram")
                for moment, action in (
                    (thursday_noon, "created"),
                    (friday_noon, "created"),
                    (saturday_noon, "created"),
                    (monday_noon, "done"),
                )
            ]
        )
    jobs = CallbackJobs(desk.desk)
    queue = desk.desk.queues.default  # office hours, Monday to Friday
    monday_9h = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert await jobs.summarise(queue, monday_9h)
    assert await jobs.summarise(queue, monday_9h + timedelta(days=1))
    [(_, monday), (_, tuesday)] = desk.recorder.summaries
    assert (monday.counts, monday.days) == ({"created": 2}, 3)
    assert (tuesday.counts, tuesday.days) == ({"done": 1}, 1)


# ----- « Rappeler le … à … » and what the person hears (issue « mediators at work », points 4 and 6) ----------------
TUESDAY_10H = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)  # 10:00 in Paris
THURSDAY_14H = datetime(2026, 12, 10, 13, 0, tzinfo=UTC)  # 14:00 in Paris


async def stored(desk: Desk, callback_id: str) -> CallbackRow:
    row = await desk.desk.get(callback_id)
    assert row is not None
    return row


async def test_schedule_records_the_agreed_time_and_tells_the_person_in_words(desk: Desk) -> None:
    """The holder agrees « jeudi à 14 h »: stored, audited « Rappel programmé le jeudi 10/12 à 14:00 », the group
    post refreshed, the person told the date in words (with the cancel button still there); another mediator or a
    past time is refused; a new time replaces it; releasing forgets it."""
    desk.desk.clock = lambda: TUESDAY_10H
    request = await new_request(desk.storage)
    with pytest.raises(Refused) as early:
        await desk.desk.schedule(request.id, MARIE, datetime(2026, 12, 10, 14, 0))
    assert early.value.code == "not_claimed"
    await desk.desk.claim(request.id, MARIE)
    scheduled = await desk.desk.schedule(request.id, MARIE, datetime(2026, 12, 10, 14, 0))  # Paris wall clock
    assert (await stored(desk, request.id)).scheduled_at == THURSDAY_14H == scheduled.scheduled_at
    [*_, (key, text, buttons)] = desk.recorder.told
    assert key == "telegram:42"
    assert "une personne de l'équipe Passerelle vous appellera le jeudi 10 décembre à 14 h, comme convenu" in text
    assert buttons == ("/annuler",)
    assert desk.recorder.posts[-1] == (request.id, "claimed")
    [*_, event] = await desk.desk.history(request.id)
    assert (event.action, event.from_status, event.to_status, event.note) == (
        "scheduled",
        "claimed",
        "claimed",
        "Rappel programmé le jeudi 10/12 à 14:00",
    )
    with pytest.raises(Refused) as other:
        await desk.desk.schedule(request.id, PAUL, datetime(2026, 12, 10, 15, 0))
    assert other.value.code == "not_holder"
    with pytest.raises(Refused) as past:
        await desk.desk.schedule(request.id, MARIE, datetime(2026, 12, 7, 14, 0))
    assert "déjà passé" in past.value.message
    assert (await stored(desk, request.id)).scheduled_at == THURSDAY_14H  # a refusal changes nothing
    await desk.desk.schedule(request.id, MARIE, datetime(2026, 12, 11, 9, 30))
    assert (await stored(desk, request.id)).scheduled_at == datetime(2026, 12, 11, 8, 30, tzinfo=UTC)
    await desk.desk.release(request.id, MARIE)
    assert (await stored(desk, request.id)).scheduled_at is None


async def test_a_relative_and_a_web_chat_hear_of_the_agreed_time_in_their_words(desk: Desk) -> None:
    """A relative who asked that their relative be called hears « appellera votre proche le … »; in the web chat
    the news is a notice keeping « Annuler ma demande »."""
    desk.desk.clock = lambda: TUESDAY_10H
    async with desk.storage.transaction() as tx:
        for_person = await tx.create_callback(
            NewCallback(
                "telegram:42", "default", None, {"for_whom": "relative"}, "+33612345678", "any", "person", now(), "v1"
            )
        )
    web = await new_request(desk.storage, key="web:123456")
    for row in (for_person, web):
        await desk.desk.claim(row.id, MARIE)
        await desk.desk.schedule(row.id, MARIE, datetime(2026, 12, 10, 14, 0))
    [*_, (_, text, _)] = desk.recorder.told
    assert "appellera votre proche le jeudi 10 décembre à 14 h" in text
    assert "vous appeler" not in text
    *_, notice = await desk.storage.pending_outgoing(WEB_CHANNEL)
    assert "vous appellera le jeudi 10 décembre à 14 h" in notice.params["text"]
    assert notice.params["buttons"] == [{"label": "Annuler ma demande", "value": "/annuler"}]


async def test_the_agreed_time_is_reminded_once_when_it_comes(desk: Desk, database_url: str) -> None:
    """Not before the agreed time (nor listed as late meanwhile: the call is expected, not forgotten); at it, one
    reminder to the holder, audited; never again in later rounds nor from a second process; a new time is reminded
    again; once the call is done, nothing."""
    desk.desk.clock = lambda: TUESDAY_10H
    request = await new_request(desk.storage)
    async with desk.storage.callback_transaction() as tx:  # made a week before: past the queue's target
        await tx.connection.execute(
            update(callbacks).where(callbacks.c.id == request.id).values(created_at=TUESDAY_10H - timedelta(days=7))
        )
    await desk.desk.claim(request.id, MARIE)
    await desk.desk.schedule(request.id, MARIE, datetime(2026, 12, 10, 14, 0))
    jobs = CallbackJobs(desk.desk)
    for before in (TUESDAY_10H + timedelta(hours=1), THURSDAY_14H - timedelta(minutes=1)):
        await jobs.run_once(before)
    assert desk.recorder.agreed == []
    assert all(request.id not in ids for _, ids in desk.recorder.reminders)
    await jobs.run_once(THURSDAY_14H)
    assert desk.recorder.agreed == [(request.id, "web:marie")]
    assert all(request.id not in ids for _, ids in desk.recorder.reminders)  # its reminder stands for the late one
    other = await Storage.open(database_url)
    try:
        other_jobs = CallbackJobs(CallbackDesk(other, desk.desk.queues, desk.desk.texts, notifiers=[desk.recorder]))
        await other_jobs.run_once(THURSDAY_14H + timedelta(seconds=10))  # another process, the same minute
    finally:
        await other.close()
    for later in (1, 2, 30):
        await jobs.run_once(THURSDAY_14H + timedelta(minutes=later))
    assert len(desk.recorder.agreed) == 1
    [reminded] = [e for e in await desk.desk.history(request.id) if e.action == "reminded"]
    assert (reminded.actor, reminded.note) == ("system", "Heure convenue : le jeudi 10/12 à 14:00")
    desk.desk.clock = lambda: THURSDAY_14H + timedelta(minutes=40)  # the person did not answer: another time
    await desk.desk.schedule(request.id, MARIE, datetime(2026, 12, 11, 10, 0))
    await jobs.run_once(datetime(2026, 12, 11, 9, 0, tzinfo=UTC))
    assert len(desk.recorder.agreed) == 2
    await desk.desk.schedule(request.id, MARIE, datetime(2026, 12, 14, 10, 0))
    await desk.desk.call_done(request.id, MARIE)
    assert (await stored(desk, request.id)).scheduled_at is None
    await jobs.run_once(datetime(2026, 12, 14, 9, 0, tzinfo=UTC))
    assert len(desk.recorder.agreed) == 2


async def test_an_unanswered_call_says_when_the_next_try_comes(desk: Desk) -> None:
    """« Injoignable » at 16:00 on a Friday, for a person who chose the morning: « Nous réessaierons lundi matin »
    (the queue's working time), with « Annuler ma demande » (still open); never « bientôt »."""
    desk.desk.clock = lambda: datetime(2026, 12, 11, 15, 0, tzinfo=UTC)
    request = await new_request(desk.storage)  # moment: morning
    await desk.desk.claim(request.id, MARIE)
    await desk.desk.unreachable(request.id, MARIE)
    [*_, (_, text, buttons)] = desk.recorder.told
    assert "Nous réessaierons lundi matin." in text
    assert "bientôt" not in text
    assert buttons == ("/annuler",)


@pytest.mark.parametrize("fast_sqlite", [True, False])
async def test_cancelling_forgets_the_agreed_time(database_url: str, loaded: LoadedFlow, fast_sqlite: bool) -> None:
    """/annuler on a request with an agreed time: cancelled, the time forgotten (never reminded), on every path."""
    storage = await Storage.open(database_url, fast_sqlite=fast_sqlite)
    try:
        recorder = Recorder()
        desk = CallbackDesk(storage, queue_set(), texts_of(loaded), notifiers=[recorder], clock=lambda: TUESDAY_10H)
        engine = Engine(loaded.flow, loaded.personas, storage, NoCatalogue(), callback_hook=desk)
        await engine.start()
        chat = Chat(engine, "telegram:42")
        await chat.script(["bonjour", "/humain", "oui", "06 12 34 56 78", "value:morning"])
        turn = await chat.send("value:skip")
        assert turn.callback is not None
        await desk.claim(turn.callback.id, MARIE)
        await desk.schedule(turn.callback.id, MARIE, datetime(2026, 12, 10, 14, 0))
        await chat.send("/annuler")
        row = await desk.get(turn.callback.id)
        assert row is not None
        assert (row.status, row.scheduled_at) == ("cancelled", None)
        await CallbackJobs(desk).run_once(THURSDAY_14H)
        assert recorder.agreed == []
    finally:
        await storage.close()
