"""Whatever a person sends, the conversation never breaks: a kind answer, and the same question again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app.root import LoadedFlow
from bot.channels.terminal import parse_line
from bot.core.commands import COMMANDS, CONFIRM
from bot.core.messages import Inbound, Turn
from bot.engine.engine import Engine
from bot.engine.machine import ENDED_STATE, FORGET_STATE
from bot.places.offers import NoCatalogue
from bot.storage import Storage
from bot.storage.memory import MemoryStorage
from tests.conftest import Chat
from tests.engine.test_engine import REACH

KEY = "test:robust"

MakeInbound = Callable[[str], Inbound]

# Inputs nobody should be able to break a conversation with; (id, builder).
TEXTUAL: dict[str, MakeInbound] = {
    "empty": lambda k: Inbound.typed(k, ""),
    "whitespace": lambda k: Inbound.typed(k, " \t\n  "),
    "5000 characters": lambda k: Inbound.typed(k, "Bonjour, je voudrais savoir " * 180),
    "emoji only": lambda k: Inbound.typed(k, "🙂👍🏽❤️"),
    "control characters": lambda k: Inbound.typed(k, "\x00\x07"),
    "arabic": lambda k: Inbound.typed(k, "مرحبا، أحتاج إلى مساعدة"),
    "chinese": lambda k: Inbound.typed(k, "你好，我需要帮助"),
    "english": lambda k: Inbound.typed(k, "Hello, I would like some help please"),
    "sql": lambda k: Inbound.typed(k, "'; DROP TABLE conversations; --"),
    "html": lambda k: Inbound.typed(k, "<script>alert('x')</script><b>gras</b>"),
    "markdown": lambda k: Inbound.typed(k, "**gras** _italique_ [lien](http://exemple.fr) `code`"),
}
NON_TEXTUAL: dict[str, MakeInbound] = {
    "location on a non-location question": lambda k: Inbound.location(k, 45.764, 4.8357),
    "contact on a normal question": lambda k: Inbound.contact(k, "+33612345678"),
    "several values on a one-value question": lambda k: Inbound.choices(k, ("daily", "never")),
    "unknown button value": lambda k: Inbound.button(k, "not-a-value"),
}
# On the place question, letters in any script may be a commune name: only what can never be a place there.
NOT_A_PLACE = ("empty", "whitespace", "5000 characters", "emoji only", "control characters", "sql", "html",
               "markdown", "contact on a normal question", "several values on a one-value question",
               "unknown button value")  # fmt: skip
# A multi question takes CHOICES as an answer; the frequency question is where that is wrong.
CASES = [
    (state, name)
    for state in ("frequence", "appareils", "proposition", "rappel.consent", "rappel.phone", FORGET_STATE)
    for name in [*TEXTUAL, *NON_TEXTUAL]
    if not (state == "appareils" and name == "several values on a one-value question")
    if not (state == "rappel.phone" and name == "contact on a normal question")
    # at the results a shared position searches there (« Chercher ailleurs »: tests/engine/test_places_that_fit.py)
    if not (state == "proposition" and name == "location on a non-location question")
] + [("lieu", name) for name in NOT_A_PLACE]
REACH_ALL = {**REACH, "appareils": [*REACH["envies"], "value:family_contact"]}


@pytest.mark.parametrize(("state", "name"), CASES)
async def test_bad_input_gets_a_kind_answer_and_the_same_question(
    memory_engine: Engine, loaded: LoadedFlow, state: str, name: str
) -> None:
    """Odd input (empty, huge, emoji, control characters, other languages, SQL, markup, a location or a contact
    where none is asked) is met with a kind non-empty message and the same question: same state, same slot."""
    chat = Chat(memory_engine, KEY)
    before = (await chat.script(REACH_ALL[state]))[-1]
    assert before.state == state
    stored_before = await memory_engine.storage.load_conversation(KEY)
    assert stored_before is not None
    turn = await chat.send_inbound({**TEXTUAL, **NON_TEXTUAL}[name](KEY))
    assert (turn.state, turn.slot, turn.multi, turn.done) == (before.state, before.slot, before.multi, False)
    assert len(turn.replies) == 2
    kind = turn.replies[0].text
    assert kind.strip()
    assert kind in {loaded.flow.messages[k].pick(None) for k in (
        "not_understood", "empty_input", "invalid_location", "callback_phone_invalid", "multi_hint")}  # fmt: skip
    assert turn.replies[-1].text == before.replies[-1].text
    assert [b.value for b in turn.buttons] == [b.value for b in before.buttons]
    stored = await memory_engine.storage.load_conversation(KEY)
    assert stored is not None
    assert stored.state == state
    assert stored.data.get("answers") == stored_before.data.get("answers")


async def test_bad_inputs_in_a_row_keep_the_database_consistent(sqlite_engine: Engine, sqlite_storage: Storage) -> None:
    """Every odd input in turn on one conversation stored in SQLite: the question stays, nothing is stored as an
    answer, a person is offered after repeated misses, and a good answer still works afterwards."""
    chat = Chat(sqlite_engine, KEY)
    before = (await chat.script(REACH["frequence"]))[-1]
    for name, make in {**TEXTUAL, **NON_TEXTUAL}.items():
        turn = await chat.send_inbound(make(KEY))
        assert turn.state == "frequence", name
        assert turn.replies[-1].text == before.replies[-1].text, name
        assert "/humain" in [b.value for b in turn.buttons] or name == "empty", name
    stored = await sqlite_storage.load_conversation(KEY)
    assert stored is not None
    assert set(stored.data["answers"]) == {"for_whom", "goals", "equipment"}
    assert (await chat.send("tous les jours")).state == "aisance"


# ----- random conversations ----------------------------------------------------------------------------------


def _all_values(loaded: LoadedFlow) -> list[str]:
    values = {c.value for step in loaded.flow.steps.values() for c in step.choices}
    return sorted(values | {"unknown", CONFIRM, "yes", "no", "morning", "afternoon", "any", "person", "relative"})


Action = tuple[str, object]


def disruptions(values: list[str]) -> st.SearchStrategy[Action]:
    """Anything but a plain answer: any unicode text, commands, stray button values, positions, contacts."""
    return st.one_of(
        st.text(max_size=40).map(lambda t: ("line", t)),
        st.sampled_from([*COMMANDS, "/foo", "/START", "/aide@bot"]).map(lambda c: ("line", c)),
        st.sampled_from(values).map(lambda v: ("line", f"value:{v}")),
        st.lists(st.sampled_from(values), min_size=1, max_size=3).map(lambda vs: ("line", "value:" + ",".join(vs))),
        st.sampled_from(["69003", "Lyon", "oui", "non", "je sais pas", "06 12 34 56 78", "ok", "2"]).map(
            lambda t: ("line", t)
        ),
        st.tuples(st.floats(-95, 95), st.floats(-190, 190)).map(lambda p: ("location", p)),
        st.sampled_from(["06 12 34 56 78", "12", "0696 12 34 56"]).map(lambda p: ("contact", p)),
    )


def inbound_for(action: Action, last: Turn | None) -> Inbound:
    kind, payload = action
    if kind == "current":  # press one of the buttons on screen (payload: which one)
        buttons = last.buttons if last is not None else ()
        if not buttons:
            return Inbound.typed(KEY, "bonjour")
        pick = cast(int, payload)
        if last is not None and last.replies[-1].request == "contact" and pick % 2:
            return Inbound.contact(KEY, "06 12 34 56 78")  # the phone question's share button
        value = buttons[pick % len(buttons)].value
        if last is not None and last.multi and pick % 3 and value != CONFIRM and not value.startswith("/"):
            return Inbound.choices(KEY, (value,))  # ticked and confirmed at once
        return Inbound.button(KEY, value)
    if kind == "location":
        latitude, longitude = cast(tuple[float, float], payload)
        return Inbound.location(KEY, latitude, longitude)
    if kind == "contact":
        return Inbound.contact(KEY, str(payload))
    return parse_line(KEY, str(payload), bool(last and last.multi))


async def play(loaded: LoadedFlow, data: st.DataObject) -> set[str]:
    """One random conversation, every turn checked; returns the states it went through."""
    storage = MemoryStorage()
    engine = Engine(loaded.flow, loaded.personas, storage, NoCatalogue())
    await engine.start()
    machine = engine.current.machine
    noise = data.draw(st.integers(0, 60), label="percent of disruptions")
    length = data.draw(st.integers(1, 60), label="messages")
    others = disruptions(_all_values(loaded))
    last: Turn | None = None
    visited: set[str] = set()
    for _ in range(length):
        if data.draw(st.integers(0, 99)) < noise:
            action = data.draw(others)
        else:
            action = ("current", data.draw(st.integers(0, 20)))
        inbound = inbound_for(action, last)
        turn = await engine.handle(inbound)
        context = (inbound, turn.state)
        assert turn.replies, context
        assert all(reply.text.strip() for reply in turn.replies), context
        assert machine.knows(turn.state) or turn.state == ENDED_STATE, context
        assert turn.done == (turn.state == ENDED_STATE), context
        step = loaded.flow.steps.get(turn.state)
        if turn.slot is not None:
            assert step is not None, context
            assert step.slot == turn.slot, context
        assert turn.multi == bool(step is not None and step.multi), context
        if not turn.done:
            assert turn.buttons, context  # there is always something to press
        if turn.callback is not None:
            assert turn.callback.status == "new", context
            assert turn.callback.id in storage.callbacks, context
        stored = storage.conversations.get(KEY)
        if stored is not None:
            assert stored.state == turn.state, context
        else:
            assert turn.done, context  # only a forgotten conversation leaves no record
        visited.add(turn.state)
        last = turn
    assert len(engine.locks) == 0
    return visited


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_conversations_never_break(loaded: LoadedFlow, data: st.DataObject) -> None:
    """Random sequences of text (any unicode), button values from this and other questions, commands, positions
    and contacts, mixed with plain answers: every turn answers with non-empty text, in a state the flow machine
    knows, done only when ended, always with something to press while the conversation goes on."""
    asyncio.run(play(loaded, data))
