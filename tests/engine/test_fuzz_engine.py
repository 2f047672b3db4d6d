"""Random input sequences against the engine, with the real geography, catalogue and queues: what
tests/engine/test_robustness.py's random conversations leave out. Every command (`/oublier` and its confirmation,
`/annuler`, `/humain`, variants in capitals or with the bot's name), buttons of earlier questions (stale
contexts), values of other questions, several values at once (none, repeated, foreign), positions anywhere (NaN,
infinite, out of range, the poles, the sea, France), contacts, unreadable messages, any unicode, control
characters, 10 kB texts, several people at once and one person's messages arriving together.

Properties, after every input: a turn with something to read; a stored state the flow machine knows; while the
conversation goes on, something to press; and `/start` always brings the first question back, whatever came
before. On SQLite and PostgreSQL too, where the stored conversation must survive the same inputs.
"""

from __future__ import annotations

import asyncio
import functools
import math
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app.root import LoadedFlow, load_flow_with_personas, read_bundled
from bot.callbacks.queuefile import load_queues
from bot.core.commands import COMMANDS, CONFIRM
from bot.core.messages import Inbound, InboundKind, Turn, question_token
from bot.engine.engine import Engine
from bot.engine.machine import ENDED_STATE
from bot.places.catalogue.search import CatalogueSearch, PlaceIndex
from bot.places.geo import Geo
from bot.places.locations import GeoLocations
from bot.storage import Storage
from bot.storage.memory import MemoryStorage
from bot.storage.protocol import ConversationStore
from tests.conftest import FLOWS, ROOT
from tests.support.fuzzing import FUZZ, junk_text

COMMAND_VARIANTS = [*COMMANDS, "/START", "/Oublier", "/aide@passerelle_bot", "/oublier maintenant", "/", "//",
                    "/ start", "/inconnu", "/start@", "/humain\x00", "/annuler /annuler", "/mesdonnees"]  # fmt: skip
# Positions: France, overseas, the sea, the poles, the antimeridian, out of range, not numbers at all.
POSITIONS = st.one_of(
    st.tuples(st.floats(41.0, 51.5), st.floats(-5.5, 10.0)),
    st.tuples(st.floats(), st.floats()),  # NaN, infinities, ±1e308, -0.0
    st.sampled_from(
        [(90.0, 180.0), (-90.0, -180.0), (0.0, 0.0), (45.76, 4.83), (-21.1, 55.5), (91.0, 0.0), (0.0, 181.0),
         (-0.0, -0.0), (45.76, float("nan")), (float("inf"), 4.83)]
    ),
)  # fmt: skip


# Answers that are right, some with characters PostgreSQL refuses to store (NUL) or that turn text around.
PLACES = ["69003", "Villeurbanne", "38000", "Clermont-Ferrand", "69003\x00", "\u202eLyon", "st-étienne "]
PHONES = ["+33612345678", "06 12 34 56 78", "06 12 34 56 78\x00", "\u200f0612345678"]


@dataclass(frozen=True, slots=True)
class World:
    """What the engine runs on in `python -m bot run`, but the database: geography, catalogue, queues."""

    loaded: LoadedFlow
    locations: GeoLocations
    index: PlaceIndex
    values: tuple[str, ...]
    states: tuple[str, ...]

    def engine(self, storage: ConversationStore) -> Engine:
        queues = load_queues(ROOT / "catalogue" / "queues.yaml", default_chat_id=None, geo=self.locations.geo)
        flow, personas = self.loaded.flow, self.loaded.personas
        return Engine(flow, personas, storage, CatalogueSearch(self.index), self.locations, queues=queues)


@functools.cache
def world() -> World:
    """Loaded once for the module (the examples share it; each has its own engine and storage)."""
    loaded = load_flow_with_personas(FLOWS / "orientation.yaml")
    locations = GeoLocations(Geo.load())
    places = [p for found in read_bundled(ROOT / "catalogue", locations).values() for p in found]
    flow = loaded.flow
    values = {c.value for step in flow.steps.values() for c in step.choices}
    values |= {"unknown", CONFIRM, "yes", "no", "morning", "afternoon", "any", "person", "relative", "more", ""}
    return World(loaded, locations, PlaceIndex(places), tuple(sorted(values)), tuple(sorted(flow.steps)))


def disruptions(world: World) -> st.SearchStrategy[tuple[str, Any]]:
    """Anything but a sensible answer to the question on screen."""
    values = st.sampled_from(world.values)
    contexts = st.one_of(st.none(), st.sampled_from(world.states).map(question_token), junk_text(8))
    return st.one_of(
        st.tuples(st.just("press"), st.integers(0, 30)),
        st.tuples(st.just("text"), junk_text()),
        st.tuples(st.just("text"), st.sampled_from(["69003", "Lyon", "Villeurbanne", "st etienne", "oui", "non",
                                                      "je sais pas", "06 12 34 56 78", "2", "1 3", "83 ans", "ok"])),
        st.tuples(st.just("text"), st.integers(1, 10).map(lambda n: "Bonjour, je cherche de l'aide. " * 33 * n)),
        st.tuples(st.just("command"), st.sampled_from(COMMAND_VARIANTS)),
        st.tuples(st.just("button"), st.tuples(values, contexts)),
        st.tuples(st.just("stale"), st.integers(0, 30)),
        st.tuples(st.just("choices"), st.lists(st.one_of(values, junk_text(10)), max_size=5)),
        st.tuples(st.just("location"), POSITIONS),
        st.tuples(st.just("contact"), st.one_of(st.sampled_from(["+33612345678", "0612345678", "12", ""]),
                                                junk_text(20))),
        st.tuples(st.just("unsupported"), st.none()),
        st.tuples(st.just("start"), st.none()),
    )  # fmt: skip


def person(world: World, max_actions: int) -> st.SearchStrategy[list[tuple[str, Any]]]:
    """One person's messages: sensible answers that move the conversation on (to the places, the callback),
    mixed with disruptions, how many depending on the person (from none to more than half)."""
    return st.integers(0, 50).flatmap(
        lambda noise: st.lists(
            st.integers(0, 99).flatmap(
                lambda roll: disruptions(world) if roll < noise else st.tuples(st.just("answer"), st.integers(0, 30))
            ),
            min_size=max_actions // 2,
            max_size=max_actions,
        )
    )


def inbound_for(key: str, action: tuple[str, Any], last: Turn | None) -> Inbound:
    kind, payload = action
    buttons = last.buttons if last is not None else ()
    token = question_token(last.state) if last is not None else None
    if kind == "answer":  # what a person who goes along would send
        answers = [b.value for b in buttons if not b.value.startswith("/")] or [b.value for b in buttons]
        request = last.replies[-1].request if last is not None and last.replies else None
        if last is None or last.done or not buttons:
            return Inbound.typed(key, "/start")
        if request == "location" or last.slot == "location":
            return Inbound.typed(key, PLACES[payload % len(PLACES)])
        if request == "contact":
            phone = PHONES[payload % len(PHONES)]
            return Inbound.contact(key, phone) if payload % 2 else Inbound.typed(key, phone)
        value = answers[payload % len(answers)]
        if last.multi and not value.startswith("/"):
            return Inbound(key, InboundKind.CHOICES, values=(value,), context=token)
        return Inbound.button(key, value, context=token)
    if kind == "press":  # a button on screen, with the question it was shown with (as the channels send it)
        if not buttons:
            return Inbound.typed(key, "bonjour")
        value = buttons[payload % len(buttons)].value
        if last is not None and last.multi and payload % 3 == 1 and not value.startswith("/"):
            return Inbound(key, InboundKind.CHOICES, values=(value,), context=token)
        return Inbound.button(key, value, context=token)
    if kind == "stale":  # a button of this question, sent as if from another question's message
        value = buttons[payload % len(buttons)].value if buttons else "self"
        return Inbound.button(key, value, context=question_token(f"not-{token}"))
    if kind == "button":
        value, context = payload
        return Inbound.button(key, value, context=context)
    if kind == "choices":
        return Inbound(key, InboundKind.CHOICES, values=tuple(payload), context=token)
    if kind == "location":
        return Inbound.location(key, *payload)
    if kind == "contact":
        return Inbound.contact(key, payload)
    if kind == "unsupported":
        return Inbound.unsupported(key)
    if kind == "start":
        return Inbound.typed(key, "/start")
    return Inbound.typed(key, payload)


class Checker:
    """The properties every turn must have, and the first question a /start must bring back."""

    def __init__(self, world: World, engine: Engine, first: Turn) -> None:
        self.world = world
        self.engine = engine
        self.first = first

    async def turn(self, inbound: Inbound, turn: Turn) -> None:
        context = (inbound, turn.state, [r.text[:80] for r in turn.replies])
        assert turn.replies, context
        assert all(reply.text.strip() for reply in turn.replies), context
        machine = self.engine.current.machine
        assert machine.knows(turn.state) or turn.state == ENDED_STATE, context
        assert turn.done == (turn.state == ENDED_STATE), context
        if not turn.done:
            assert turn.buttons, context  # there is always something to press while it goes on
        step = self.world.loaded.flow.steps.get(turn.state)
        if turn.slot is not None:
            assert step is not None, context
            assert step.slot == turn.slot, context
        for offer in turn.offers:
            assert offer.distance_km is None or math.isfinite(offer.distance_km), context
        stored = await self.engine.storage.load_conversation(inbound.key)
        if stored is None:
            assert turn.done, context  # only a forgotten conversation leaves no record
        else:
            assert machine.knows(stored.state) or stored.state == ENDED_STATE, (context, stored.state)
        if inbound.kind is InboundKind.TEXT and inbound.text == "/start":
            self.is_first(turn, context)

    def is_first(self, turn: Turn, context: object) -> None:
        assert (turn.state, turn.slot, turn.done) == (self.first.state, self.first.slot, False), context
        assert [b.value for b in turn.buttons] == [b.value for b in self.first.buttons], context
        assert turn.replies[-1].text == self.first.replies[-1].text, context


async def play(world: World, engine: Engine, people: list[list[tuple[str, Any]]], together: list[bool]) -> None:
    """Each person's actions in order; people take turns, and with `together` two of their messages are handled
    at the same time (another person's, or the same person's next one). Ends with a /start for everyone."""
    first = await engine.handle(Inbound.typed("fuzz:first", "/start"))
    check = Checker(world, engine, first)
    keys = [f"fuzz:{index}:{id(people)}" for index in range(len(people))]
    last: dict[str, Turn | None] = dict.fromkeys(keys)
    queues = [list(actions) for actions in people]
    turn_number = 0
    while any(queues):
        ready = [i for i, queue in enumerate(queues) if queue]
        batch = [ready[turn_number % len(ready)]]
        if together[turn_number % len(together)] and len(ready) > 1:
            batch.append(ready[(turn_number + 1) % len(ready)])
        elif together[turn_number % len(together)] and len(queues[batch[0]]) > 1:
            batch.append(batch[0])  # the same person's next message, arriving at once
        inbounds = [inbound_for(keys[i], queues[i].pop(0), last[keys[i]]) for i in batch]
        turns = await asyncio.gather(*(engine.handle(inbound) for inbound in inbounds))
        for inbound, turn in zip(inbounds, turns, strict=True):
            await check.turn(inbound, turn)
            last[inbound.key] = turn
        turn_number += 1
    for key in keys:  # never stuck: whatever came before, /start gives the first question again
        inbound = Inbound.typed(key, "/start")
        await check.turn(inbound, await engine.handle(inbound))
    assert len(engine.locks) == 0


def people_and_timing(world: World, max_people: int, max_actions: int) -> st.SearchStrategy[Any]:
    people = st.lists(person(world, max_actions), min_size=1, max_size=max_people)
    return st.tuples(people, st.lists(st.booleans(), min_size=1))


@pytest.mark.slow
@settings(FUZZ, max_examples=30)
@given(data=st.data())
def test_random_input_sequences_never_break_the_conversation(data: st.DataObject) -> None:
    """One to three people sending random sequences (buttons on screen, commands, stale and foreign buttons,
    several values, positions anywhere, contacts, unreadable messages, junk and 10 kB texts), some messages handled
    at the same time: every turn has text, a known state, something to press while it goes on; /start always
    brings back the first question."""
    found = world()
    people, together = data.draw(people_and_timing(found, 3, 40), label="people")
    engine = found.engine(MemoryStorage())
    asyncio.run(engine.start())
    asyncio.run(play(found, engine, people, together))


@pytest.fixture
async def sql_storage(database_url: str) -> Any:
    storage = await Storage.open(database_url)
    yield storage
    await storage.close()


@settings(FUZZ, max_examples=8)
@given(data=st.data())
async def test_random_input_sequences_on_a_real_database(sql_storage: Storage, data: st.DataObject) -> None:
    """The same random sequences on SQLite and PostgreSQL (which refuses some texts SQLite takes, such as NUL
    characters): every turn is answered and stored in a known state; /start always brings back the first
    question."""
    found = world()
    people, together = data.draw(people_and_timing(found, 2, 30), label="people")
    engine = found.engine(sql_storage)
    await engine.start()
    await play(found, engine, people, together)
