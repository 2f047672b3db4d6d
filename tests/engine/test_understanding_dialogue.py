"""Typed answers in the conversation: a doubt is asked back with Oui / Non, « non » shows the buttons, answers a
message gives to later questions are kept and their questions skipped (the first message too, through
`python -m bot chat --jsonl`)."""

from __future__ import annotations

import json
from pathlib import Path

from bot.app.root import LoadedFlow
from bot.engine.engine import Engine
from bot.engine.questions import GUESS_NO, GUESS_YES
from tests.conftest import Chat
from tests.engine.test_engine import TO_GOALS, msg, text, values
from tests.test_cli import bot_env, run_bot

TO_MOBILITY = [*TO_GOALS, "value:family_contact", "value:smartphone", "value:weekly", "value:intermediate",
               "value:unsure", "value:confidence"]  # fmt: skip


async def test_a_doubt_is_asked_back_and_yes_takes_it(memory_engine: Engine, loaded: LoadedFlow) -> None:
    """Half an answer gets « Si je comprends bien : … ? » with Oui / Non, nothing stored; « oui » stores it."""
    chat = Chat(memory_engine)
    await chat.script(TO_MOBILITY)
    turn = await chat.send("il conduit")
    assert turn.state == "mobilite"
    assert text(turn).startswith("Si je comprends bien : oui, facile ?")
    assert values(turn) == [GUESS_YES, GUESS_NO]
    record = await memory_engine.storage.load_conversation(chat.key)
    assert record is not None
    assert "mobility" not in record.data["answers"]
    turn = await chat.send("oui")
    assert turn.state == "lieu"
    record = await memory_engine.storage.load_conversation(chat.key)
    assert record is not None
    assert record.data["answers"]["mobility"] == "easy"
    assert "guess" not in record.data


async def test_no_to_a_doubt_shows_the_buttons(memory_engine: Engine, loaded: LoadedFlow) -> None:
    """« non » to the guess: an apology, the question again with its buttons, nothing stored, no miss counted."""
    chat = Chat(memory_engine)
    await chat.script(TO_MOBILITY)
    await chat.send("il conduit")
    turn = await chat.send(f"value:{GUESS_NO}")
    assert turn.state == "mobilite"
    assert turn.replies[0].text == msg(loaded, "guess_refused")
    assert "easy" in values(turn)
    assert "difficult" in values(turn)
    record = await memory_engine.storage.load_conversation(chat.key)
    assert record is not None
    assert "mobility" not in record.data["answers"]
    assert "misses" not in record.data


async def test_another_answer_instead_of_yes_or_no_is_read(memory_engine: Engine) -> None:
    """Typing a clear answer while a guess waits answers the question itself."""
    chat = Chat(memory_engine)
    await chat.script(TO_MOBILITY)
    await chat.send("il conduit")
    turn = await chat.send("non, elle a du mal à marcher")
    assert turn.state == "lieu"
    record = await memory_engine.storage.load_conversation(chat.key)
    assert record is not None
    assert record.data["answers"]["mobility"] == "difficult"


async def test_an_answer_that_says_more_skips_later_questions(memory_engine: Engine) -> None:
    """« pour ma mère, elle a 85 ans et une tablette » answers who, and the age and devices are not asked."""
    chat = Chat(memory_engine)
    await chat.send("bonjour")
    turn = await chat.send("c'est pour ma mère, elle a 85 ans et une tablette")
    assert turn.slot == "goals"
    assert "J'ai bien noté" in text(turn)
    asked = [turn.slot]
    for line in ("value:family_contact", "value:never", "value:no", "value:curious", "value:confidence",
                 "value:yes"):  # fmt: skip
        turn = await chat.send(line)
        asked.append(turn.slot)
    assert "equipment" not in asked
    assert "age_band" not in asked
    record = await memory_engine.storage.load_conversation(chat.key)
    assert record is not None
    answers = record.data["answers"]
    assert (answers["for_whom"], answers["age_band"], answers["equipment"]) == ("relative", "80_plus", ["tablet"])


def test_a_first_message_with_several_answers_through_chat_jsonl(tmp_path: Path) -> None:
    """The issue's opening message, as the first line of `chat --jsonl`: who, age, devices and attitude are
    kept, said back in one sentence, and the next question asked is one none of them answered."""
    opening = "Bonjour, ma mère a 85 ans, elle n'a qu'un téléphone fixe et ne veut pas entendre parler d'internet"
    done = run_bot(["chat", "--jsonl"], tmp_path, stdin=f"{opening}\nvalue:family_contact\n", env=bot_env(tmp_path))
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert "J'ai bien noté : pour un proche" in first["text"]
    assert "80 ans ou plus" in first["text"]
    assert "aucun" in first["text"].lower()
    assert first["slot"] == "goals"
    assert second["slot"] == "brakes"  # the devices and the attitude were given: not asked


async def test_a_relative_typing_who_to_call_is_understood(memory_engine: Engine) -> None:
    """A relative who types « elle directement » when asked who to call gets the person helped called, and one
    who types « rappelez-moi plutôt » is called themselves."""
    for typed, contact in (("elle directement", "person"), ("rappelez-moi plutôt", "relative")):
        chat = Chat(memory_engine, f"test:who:{contact}")
        await chat.script(["bonjour", "value:relative", "value:family_contact", "value:none", "value:refuses",
                           "value:health", "value:80_plus", "value:no", "value:difficult", "69003", "value:yes",
                           "oui"])  # fmt: skip
        assert chat.last is not None
        assert chat.last.state == "rappel.who"
        assert (await chat.send(typed)).state == "rappel.relation", typed
        turn = (await chat.script(["value:skip", "06 12 34 56 78", "value:morning", "value:skip"]))[-1]
        assert turn.callback is not None, typed
        [request] = await memory_engine.storage.callbacks_for(chat.key)
        assert request.contact == contact


TO_MOMENT = ["bonjour", "value:self", "value:family_contact", "value:none", "value:refuses", "value:health",
             "value:80_plus", "value:no", "value:difficult", "69003", "value:yes", "oui", "06 12 34 56 78"]  # fmt: skip


async def test_a_doubt_about_the_callback_moment_is_asked_back(memory_engine: Engine) -> None:
    """« je travaille le matin » during the callback request: « Si je comprends bien : l'après-midi ? »; « oui »
    records the request for the afternoon."""
    chat = Chat(memory_engine, "test:moment:yes")
    await chat.script(TO_MOMENT)
    assert chat.last is not None
    assert chat.last.state == "rappel.moment"
    turn = await chat.send("je travaille le matin")
    assert turn.state == "rappel.moment"
    assert text(turn) == "Si je comprends bien : l'après-midi ?"
    assert values(turn) == [GUESS_YES, GUESS_NO]
    assert await memory_engine.storage.callbacks_for(chat.key) == []
    assert (await chat.send("oui")).state == "rappel.name"
    turn = await chat.send("value:skip")
    assert turn.callback is not None
    [request] = await memory_engine.storage.callbacks_for(chat.key)
    assert request.moment == "afternoon"


async def test_no_to_a_callback_guess_shows_its_buttons_and_keeps_it_for_coordinators(
    memory_engine: Engine, loaded: LoadedFlow
) -> None:
    """« non » to the guess: the apology and the moment's own buttons; the refused guess goes to the coordinators'
    list, and pressing a button then records the request."""
    chat = Chat(memory_engine, "test:moment:no")
    await chat.script(TO_MOMENT)
    await chat.send("je travaille le matin")
    turn = await chat.send(f"value:{GUESS_NO}")
    assert turn.state == "rappel.moment"
    assert turn.replies[0].text == msg(loaded, "guess_refused")
    assert values(turn) == ["morning", "afternoon", "any"]
    refused = [m for m in await memory_engine.storage.misunderstood() if m.kind == "refused"]
    assert [(m.question, m.text) for m in refused] == [("rappel.moment", "je travaille le matin")]
    await chat.send("value:any")
    turn = await chat.send("value:skip")
    assert turn.callback is not None
    [request] = await memory_engine.storage.callbacks_for(chat.key)
    assert request.moment == "any"
