"""Conversations stored by the code before the conversation was typed (rows with no `format`, written here in
that exact shape) continue correctly on a real SQLite file: mid-callback, on the forget question, between
homonyms, after the privacy notice; what is written back keeps the keys (the interruptions as one list) and
adds `format`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.app.root import LoadedFlow
from bot.core.messages import Turn
from bot.engine.conversation import FORMAT
from bot.engine.engine import Engine
from bot.engine.privacy_dialogue import day_and_time
from bot.places.offers import NoCatalogue
from bot.storage import ConversationRecord, Storage
from bot.storage.crypto import Keyring
from tests.conftest import Chat

KEY = "telegram:4242"
SHOWN = "2026-11-23T09:00:00.123456+00:00"
ACCEPTED = "2026-11-23T09:01:30.654321+00:00"
CONSENTED = "2026-11-23T09:05:00.000042+00:00"
NOTICE = {"version": "notice-v1", "shown_at": SHOWN, "accepted_at": ACCEPTED}
SAINT_DENIS_93 = {
    "label": "Saint-Denis (93)",
    "latitude": 48.94,
    "longitude": 2.36,
    "commune": "Saint-Denis",
    "postcode": "93200",
    "code_insee": "93066",
    "precision": "commune",
}
SAINT_DENIS_974 = {
    "label": "Saint-Denis (974)",
    "latitude": -20.88,
    "longitude": 55.45,
    "commune": "Saint-Denis",
    "postcode": "97400",
    "code_insee": "97411",
    "precision": "commune",
}
ANSWERED_TO_LOCATION = {
    "for_whom": "self",
    "goals": ["family_contact"],
    "equipment": ["smartphone"],
    "usage_frequency": "weekly",
    "skills": "intermediate",
    "attitude": "unsure",
    "brakes": ["confidence"],
    "mobility": "easy",
}
PERSONA = {"id": "timide", "confidence": 0.47, "reasons": ["Aimerait être plus sûr de soi (+3)"]}


class Database:
    """One SQLite file, opened the way the bot opens it (with a data key: the draft number is encrypted)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite+aiosqlite:///{path}"
        self.keyring = Keyring.from_text(Keyring.new_key())

    async def store_as_before(self, loaded: LoadedFlow, state: str, data: dict[str, Any]) -> None:
        """A row as the untyped dialogue left it: its `data` dict saved by the storage layer, unchanged since."""
        storage = await Storage.open(self.url, keyring=self.keyring)
        try:
            async with storage.transaction() as tx:
                await tx.save_conversation(ConversationRecord(KEY, loaded.flow.name, loaded.flow.version, state, data))
        finally:
            await storage.close()

    @asynccontextmanager
    async def engine(self, loaded: LoadedFlow) -> AsyncIterator[Engine]:
        storage = await Storage.open(self.url, keyring=self.keyring)
        try:
            engine = Engine(loaded.flow, loaded.personas, storage, NoCatalogue())
            await engine.start()
            yield engine
        finally:
            await storage.close()

    def row(self) -> tuple[str, dict[str, Any]]:
        """The conversation's state and data as the file holds them."""
        with sqlite3.connect(self.path) as db:
            state, data = db.execute("SELECT state, data FROM conversations WHERE key = ?", (KEY,)).fetchone()
        return state, json.loads(data)


def said(turn: Turn) -> str:
    return "\n".join(r.text for r in turn.replies)


def msg(loaded: LoadedFlow, key: str) -> str:
    return loaded.flow.messages[key].pick(None)


async def test_mid_callback_with_a_draft_and_a_question_to_resume(tmp_path: Path, loaded: LoadedFlow) -> None:
    """Stored asking the moment of a callback requested with /humain from the equipment question: the moment, then
    how to call them (asked since), complete the request with the number and consent stored before, then the
    equipment question comes back."""
    database = Database(tmp_path / "before.db")
    data = {
        "answers": {"for_whom": "self", "goals": ["leisure"]},
        "privacy": {"notice": NOTICE},
        "callback_draft": {"consent_at": CONSENTED, "phone": "+33612345678"},
        "resume": "appareils",
    }
    await database.store_as_before(loaded, "rappel.moment", data)
    assert "+33612345678" not in database.path.read_bytes().decode("latin-1")  # the draft number: encrypted
    async with database.engine(loaded) as engine:
        chat = Chat(engine, KEY)
        assert (await chat.send("value:morning")).state == "rappel.name"
        turn = await chat.send("value:skip")
        [request] = await engine.storage.callbacks_for(KEY)
    assert turn.callback is not None
    assert turn.callback.id == request.id
    assert (request.phone, request.moment, request.contact) == ("+33612345678", "morning", "person")
    assert request.answers == {"for_whom": "self", "goals": ["leisure"], "offers": []}
    assert msg(loaded, "resume") in said(turn)
    assert turn.state == "appareils"
    assert turn.slot == "equipment"
    state, stored = database.row()
    assert state == "appareils"
    assert stored == {
        "format": FORMAT,
        "answers": {"for_whom": "self", "goals": ["leisure"]},
        "callbacks": [request.id],
        "privacy": {"notice": NOTICE, "callbacks": {request.id: {"consent_at": CONSENTED, "version": "callback-v1"}}},
    }


async def test_on_the_forget_question_no_goes_back_where_the_person_was(tmp_path: Path, loaded: LoadedFlow) -> None:
    """Stored on the /oublier confirmation asked from the goals question: "non" erases nothing and asks the goals
    again; the answers and the notice stay."""
    database = Database(tmp_path / "before.db")
    data = {"answers": {"for_whom": "self"}, "privacy": {"notice": NOTICE}, "forget_return": "envies"}
    await database.store_as_before(loaded, "forget.confirm", data)
    async with database.engine(loaded) as engine:
        turn = await Chat(engine, KEY).send("non")
    assert msg(loaded, "forget_cancelled") in said(turn)
    assert turn.state == "envies"
    assert turn.slot == "goals"
    assert database.row() == (
        "envies",
        {"format": FORMAT, "answers": {"for_whom": "self"}, "privacy": {"notice": NOTICE}},
    )


async def test_forget_asked_during_a_callback_asked_from_a_question(tmp_path: Path, loaded: LoadedFlow) -> None:
    """Both interruptions at once (/humain from a question, then /oublier while the number was asked): "non" goes
    back to the number, and once the request is made, back to the question."""
    database = Database(tmp_path / "before.db")
    data = {
        "answers": {"for_whom": "relative"},
        "privacy": {"notice": NOTICE},
        "callback_draft": {"consent_at": CONSENTED},
        "resume": "envies",
        "forget_return": "rappel.phone",
    }
    await database.store_as_before(loaded, "forget.confirm", data)
    async with database.engine(loaded) as engine:
        chat = Chat(engine, KEY)
        turn = await chat.send("value:no")
        assert turn.state == "rappel.phone"
        assert database.row()[1]["interruptions"] == [{"kind": "human", "resume": "envies"}]
        turns = await chat.script(["06 12 34 56 78", "value:relative", "value:skip", "value:afternoon", "Paul"])
        [request] = await engine.storage.callbacks_for(KEY)
    # who to call (and who they are) before the rest, as in a request begun today
    assert [t.state for t in turns] == ["rappel.who", "rappel.relation", "rappel.moment", "rappel.name", "envies"]
    assert (request.first_name, request.relation) == ("Paul", None)
    assert (request.phone, request.moment, request.contact) == ("+33612345678", "afternoon", "relative")
    assert request.answers is not None
    assert request.answers["for_whom"] == "relative"
    assert msg(loaded, "resume") in said(turns[-1])
    assert "interruptions" not in database.row()[1]


async def test_between_homonyms_a_department_picks_the_stored_commune(tmp_path: Path, loaded: LoadedFlow) -> None:
    """Stored after "Saint-Denis" was found twice: the button of the second department picks that commune, from
    the stored choices (the geography is not asked again); its position is kept for the search."""
    database = Database(tmp_path / "before.db")
    data = {
        "answers": dict(ANSWERED_TO_LOCATION),
        "persona": PERSONA,
        "privacy": {"notice": NOTICE},
        "location_choices": {"Saint-Denis (93)": SAINT_DENIS_93, "Saint-Denis (974)": SAINT_DENIS_974},
    }
    await database.store_as_before(loaded, "lieu", data)
    async with database.engine(loaded) as engine:
        turn = await Chat(engine, KEY).send("value:@1")
    assert turn.state == "proposition"
    assert turn.persona is not None
    assert turn.persona.id == "timide"
    assert turn.persona.confidence == 0.47
    state, stored = database.row()
    assert state == "proposition"
    assert stored["answers"]["location"] == "Saint-Denis (974)"
    assert stored["position"] == SAINT_DENIS_974
    assert "location_choices" not in stored
    assert stored["persona"] == PERSONA


async def test_a_department_typed_between_homonyms(tmp_path: Path, loaded: LoadedFlow) -> None:
    """The same stored homonyms, picked by typing the department."""
    database = Database(tmp_path / "before.db")
    data = {
        "answers": dict(ANSWERED_TO_LOCATION),
        "privacy": {"notice": NOTICE},
        "location_choices": {"Saint-Denis (93)": SAINT_DENIS_93, "Saint-Denis (974)": SAINT_DENIS_974},
    }
    await database.store_as_before(loaded, "lieu", data)
    async with database.engine(loaded) as engine:
        turn = await Chat(engine, KEY).send("93")
    assert turn.state == "proposition"
    assert database.row()[1]["position"] == SAINT_DENIS_93


async def test_a_notice_accepted_before_is_neither_shown_again_nor_accepted_again(
    tmp_path: Path, loaded: LoadedFlow
) -> None:
    """Stored after the notice was read and accepted: the next answers do not show it again, the acceptance keeps
    its first moment, and /mesdonnees tells that moment."""
    database = Database(tmp_path / "before.db")
    data = {"answers": {"for_whom": "self"}, "privacy": {"notice": NOTICE}}
    await database.store_as_before(loaded, "envies", data)
    async with database.engine(loaded) as engine:
        chat = Chat(engine, KEY)
        turns = await chat.script(["/aide", "value:leisure,family_contact", "/mesdonnees"])
    notice_text = msg(loaded, "privacy_notice").split("{")[0][:40]
    assert notice_text
    assert not [t for t in turns[:2] if notice_text in said(t)]
    assert turns[1].state == "appareils"
    assert day_and_time(datetime.fromisoformat(ACCEPTED)) in said(turns[2])
    state, stored = database.row()
    assert state == "appareils"
    assert stored["privacy"] == {"notice": NOTICE}
    assert stored["answers"] == {"for_whom": "self", "goals": ["leisure", "family_contact"]}


async def test_a_notice_shown_but_not_yet_accepted_is_accepted_by_the_next_answer(
    tmp_path: Path, loaded: LoadedFlow
) -> None:
    """Stored with the notice shown and no answer since: the first answer records the acceptance, once."""
    database = Database(tmp_path / "before.db")
    await database.store_as_before(
        loaded, "pour_qui", {"answers": {}, "privacy": {"notice": {"version": "notice-v1", "shown_at": SHOWN}}}
    )
    async with database.engine(loaded) as engine:
        await Chat(engine, KEY).send("value:self")
    notice = database.row()[1]["privacy"]["notice"]
    assert notice["shown_at"] == SHOWN
    assert notice["accepted_at"] > SHOWN


async def test_misses_toggles_and_places_shown_carry_on(tmp_path: Path, loaded: LoadedFlow) -> None:
    """Stored with one miss on the proposal, the places already shown and no more to show: the next miss offers a
    person, "see more" is not offered, and the places shown go with the callback request."""
    database = Database(tmp_path / "before.db")
    data = {
        "answers": {**ANSWERED_TO_LOCATION, "location": "69003"},
        "persona": PERSONA,
        "privacy": {"notice": NOTICE},
        "offers_exhausted": True,
        "offers_page": 1,
        "offers": ["lieu-1", "lieu-2"],
        "misses": 1,
    }
    await database.store_as_before(loaded, "proposition", data)
    async with database.engine(loaded) as engine:
        chat = Chat(engine, KEY)
        missed = await chat.send("blabla")
        turns = await chat.script(["value:yes", "value:yes", "0612345678", "value:any", "value:skip"])
        [request] = await engine.storage.callbacks_for(KEY)
    assert msg(loaded, "not_understood_human") in said(missed)
    # no "more": none left to show; another town can still be searched, and the two places shown kept
    assert [b.value for b in missed.buttons] == ["yes", "elsewhere", "keep", "no", "/humain"]
    assert turns[-1].callback is not None
    assert request.answers is not None
    assert request.answers["offers"] == ["lieu-1", "lieu-2"]
    assert request.persona == "timide"


async def test_ticked_buttons_stored_before_are_still_ticked(tmp_path: Path, loaded: LoadedFlow) -> None:
    """Stored with two devices ticked and not yet confirmed: they show ticked, and "Valider" keeps them."""
    database = Database(tmp_path / "before.db")
    data = {"answers": {"for_whom": "self", "goals": ["leisure"]}, "privacy": {"notice": NOTICE}}
    await database.store_as_before(loaded, "appareils", {**data, "pending": ["smartphone", "computer"]})
    async with database.engine(loaded) as engine:
        chat = Chat(engine, KEY)
        shown = await chat.send("/aide")
        turn = await chat.send("value:/valider")
    assert {b.value for b in shown.buttons if b.selected} == {"smartphone", "computer"}
    assert turn.state == "frequence"
    stored = database.row()[1]
    assert stored["answers"]["equipment"] == ["smartphone", "computer"]
    assert "pending" not in stored


async def test_a_draft_whose_number_no_longer_decrypts_asks_for_the_number_again(
    tmp_path: Path, loaded: LoadedFlow
) -> None:
    """Stored asking the moment, the draft number encrypted with a key since dropped (read without it): the moment
    answered (and kept), the number is asked again rather than the request failing; then the request is made."""
    database = Database(tmp_path / "before.db")
    data = {"answers": {"for_whom": "self"}, "privacy": {"notice": NOTICE}}
    await database.store_as_before(
        loaded, "rappel.moment", {**data, "callback_draft": {"consent_at": CONSENTED, "phone": "+33612345678"}}
    )
    database.keyring = Keyring.from_text(Keyring.new_key())  # the key that encrypted the number is gone
    async with database.engine(loaded) as engine:
        chat = Chat(engine, KEY)
        asked = await chat.send("value:morning")
        turns = await chat.script(["06 98 76 54 32", "value:skip"])
        [request] = await engine.storage.callbacks_for(KEY)
    assert asked.state == "rappel.phone"
    assert asked.callback is None
    assert [t.state for t in turns] == ["rappel.name", "utile"]  # recorded, then the last question
    assert (request.phone, request.moment) == ("+33698765432", "morning")
