"""A first end-to-end check: the shipped flow reaches a persona and records a callback on real SQLite."""

from __future__ import annotations

from bot.engine.engine import Engine
from bot.storage import Storage
from tests.conftest import Chat


async def test_timide_path_records_a_callback_on_sqlite(sqlite_engine: Engine, sqlite_storage: Storage) -> None:
    """A hesitant but capable person is classified `timide` and their callback request is stored as `new`."""
    chat = Chat(sqlite_engine)
    turns = await chat.script(["bonjour", "value:self", "value:family_contact,leisure", "value:smartphone",
                               "value:weekly", "value:intermediate", "value:unsure", "value:confidence"])
    assert turns[-1].persona is not None
    assert turns[-1].persona.id == "timide"
    await chat.script(["value:easy", "69003", "value:yes", "oui", "06 12 34 56 78"])
    await chat.send("value:morning")
    final = await chat.send("value:skip")
    assert final.callback is not None
    assert final.state == "utile"  # then the last question
    rows = await sqlite_storage.callbacks_for("test:1")
    assert [(r.status, r.phone, r.persona) for r in rows] == [("new", "+33612345678", "timide")]
