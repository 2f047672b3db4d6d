"""Scripted conversations through the real flow: every persona is reached in a few questions, kindly worded."""

from __future__ import annotations

import pytest

from bot.core.messages import Turn
from bot.engine.engine import Engine
from tests.conftest import Chat

MAX_QUESTIONS = 8

# Button presses (after "bonjour" and the "for whom" answer) that lead to each persona through the default flow,
# following the study's persona sheets.
PATHS: dict[str, list[str]] = {
    # Christine: basic mobile, "pas de mon âge", hearing and money trouble, 83.
    "refractaire": [
        "value:admin_procedures",
        "value:basic_phone",
        "value:refuses",
        "value:health,money",
        "value:80_plus",
        "value:yes",
    ],
    # Matias: phone without 4G, curious, money and written French, 67, nobody to help.
    "novice_curieux": [
        "value:family_contact,daily_life",
        "value:basic_phone",
        "value:curious",
        "value:money,language",
        "value:60_69",
        "value:no",
    ],
    # Jean-Pierre: smartphone given by the family, used now and then, not really interested, 76.
    "sans_reperes": [
        "value:family_contact",
        "value:smartphone",
        "value:rarely",
        "value:yes",
        "value:indifferent",
        "value:interest",
        "value:70_79",
    ],
    # Hélène: smartphone and computer every day, gets by, wants to feel sure of herself.
    "timide": [
        "value:family_contact,leisure",
        "value:smartphone,computer",
        "value:daily",
        "value:intermediate",
        "value:unsure",
        "value:confidence",
    ],
    # Anne: computer and a little-used smartphone, word processing for her associations, critical.
    "melancolique": [
        "value:office_skills,admin_procedures",
        "value:computer,smartphone",
        "value:weekly",
        "value:intermediate",
        "value:critical",
        "value:interest",
    ],
    # Xavier: multi-equipped, at ease, "utile, sans plus", little time, new online procedures.
    "modere": [
        "value:admin_procedures",
        "value:smartphone,tablet,computer",
        "value:weekly",
        "value:advanced",
        "value:pragmatic",
        "value:time",
    ],
    # Jérôme: multi-equipped, every day, passionate, wants to pass it on.
    "hyper_connecte": [
        "value:help_others,new_tools",
        "value:smartphone,tablet,computer",
        "value:daily",
        "value:advanced",
        "value:passionate",
        "value:none",
    ],
}
# After the persona: mobility, place, no callback; the conversation then ends.
ENDING = ["value:easy", "69003", "value:no", "value:skip"]  # the last question passed
FORBIDDEN_WORD = "senior"


def script_for(persona: str, for_whom: str) -> list[str]:
    return ["bonjour", f"value:{for_whom}", *PATHS[persona]]


def questions_before_persona(turns: list[Turn]) -> list[Turn]:
    """The question turns (those waiting for a slot) before the turn that first carries the persona."""
    asked: list[Turn] = []
    for turn in turns:
        if turn.persona is not None:
            return asked
        if turn.slot is not None:
            asked.append(turn)
    raise AssertionError("no persona was given")


def all_text(turns: list[Turn]) -> str:
    """Everything the bot said: replies and button labels."""
    return "\n".join(
        [reply.text for turn in turns for reply in turn.replies]
        + [button.label for turn in turns for reply in turn.replies for button in reply.buttons]
    )


def question_text(turn: Turn) -> str:
    return "\n".join(reply.text for reply in turn.replies)


async def run(engine: Engine, lines: list[str], key: str = "test:q") -> list[Turn]:
    return await Chat(engine, key).script(lines)


PERSONA_AND_WHO = [
    pytest.param(persona, who, id=f"{persona}-{who}") for persona in PATHS for who in ("self", "relative")
]


@pytest.mark.parametrize(("persona", "for_whom"), PERSONA_AND_WHO)
async def test_each_persona_is_reached_in_at_most_eight_questions(
    memory_engine: Engine, persona: str, for_whom: str
) -> None:
    """Pressing the study persona's buttons reaches that persona after no more than eight questions."""
    turns = await run(memory_engine, script_for(persona, for_whom))
    last = turns[-1]
    assert last.persona is not None
    assert last.persona.id == persona, last.persona.reasons
    assert last.state == "mobilite"
    asked = questions_before_persona(turns)
    assert len(asked) <= MAX_QUESTIONS, [t.slot for t in asked]
    assert len({t.slot for t in asked}) == len(asked), "a question was asked twice"
    # every input moved the conversation on: no "not understood" on the way
    assert len(asked) == len(turns) - 1


@pytest.mark.parametrize(("persona", "for_whom"), PERSONA_AND_WHO)
async def test_each_persona_path_ends_and_never_says_senior(memory_engine: Engine, persona: str, for_whom: str) -> None:
    """The whole conversation, result and ending included, never uses the word "senior"."""
    turns = await run(memory_engine, [*script_for(persona, for_whom), *ENDING])
    assert turns[-1].done
    assert FORBIDDEN_WORD not in all_text(turns).casefold()


async def test_question_counts_per_path(memory_engine: Engine) -> None:
    """The longest path (a device used now and then: connection and age asked too) is exactly eight questions."""
    counts = {}
    for index, persona in enumerate(PATHS):
        turns = await run(memory_engine, script_for(persona, "self"), key=f"count:{index}")
        counts[persona] = [t.slot for t in questions_before_persona(turns)]
    assert max(len(slots) for slots in counts.values()) == MAX_QUESTIONS
    assert counts["sans_reperes"] == [
        "for_whom",
        "goals",
        "equipment",
        "usage_frequency",
        "internet_at_home",
        "attitude",
        "brakes",
        "age_band",
    ]
    # without a connected device, no question about internet use or skills
    assert "usage_frequency" not in counts["refractaire"]
    assert "skills" not in counts["novice_curieux"]
    # a daily user is not asked the age nor the connection at home
    assert "age_band" not in counts["hyper_connecte"]
    assert "internet_at_home" not in counts["timide"]


async def test_relative_path_speaks_of_votre_proche(memory_engine: Engine) -> None:
    """Writing for a relative, every question after "for whom" speaks of "votre proche", up to the place asked."""
    turns = await run(memory_engine, [*script_for("sans_reperes", "relative"), "value:difficult"])
    asked = [t for t in turns if t.slot is not None and t.slot != "for_whom"]
    assert [t.slot for t in asked][-2:] == ["mobility", "location"]
    for turn in asked:
        assert "votre proche" in question_text(turn).casefold(), turn.slot
    persona_turn = next(t for t in turns if t.persona is not None)
    assert "votre proche" in question_text(persona_turn).casefold()


async def test_self_path_never_speaks_of_votre_proche(memory_engine: Engine) -> None:
    """Writing for oneself, no question speaks of "votre proche"."""
    turns = await run(memory_engine, [*script_for("sans_reperes", "self"), "value:easy"])
    for turn in turns:
        if turn.slot is not None and turn.slot != "for_whom":
            assert "votre proche" not in question_text(turn).casefold(), turn.slot


async def test_relative_callback_asks_whom_to_call_and_never_says_senior(memory_engine: Engine) -> None:
    """A relative asking for a callback is asked who should be called; the request is recorded as new."""
    lines = [
        *script_for("refractaire", "relative"),
        "value:difficult",
        "Lescar",
        "value:yes",
        "value:yes",
    ]
    turns = await run(memory_engine, lines)
    assert turns[-1].state == "rappel.who"  # right after the consent, before the number
    assert "votre proche" in all_text(turns).casefold()
    turns += await Chat(memory_engine, "test:q").script(["value:person", "value:friend", "06 12 34 56 78"])
    turns += await Chat(memory_engine, "test:q").script(["value:afternoon"])
    final = await Chat(memory_engine, "test:q").send("value:skip")
    assert final.callback is not None
    assert final.callback.status == "new"
    assert (final.done, final.state) == (False, "utile")  # the last question, asked once the request is recorded
    ending = await Chat(memory_engine, "test:q").send("value:skip")
    assert ending.done
    assert FORBIDDEN_WORD not in all_text([*turns, final, ending]).casefold()


async def test_hesitant_person_answering_je_ne_sais_pas_everywhere(memory_engine: Engine) -> None:
    """Answering "je ne sais pas" to everything still ends with a persona (the most in need), within eight questions."""
    turns = await run(memory_engine, ["bonjour", "value:self", *["value:unknown"] * 6])
    last = turns[-1]
    assert last.persona is not None
    assert (last.persona.id, last.persona.confidence) == ("refractaire", 0.0)
    assert len(questions_before_persona(turns)) <= MAX_QUESTIONS


async def test_unknown_internet_use_takes_the_longest_branch_within_eight(memory_engine: Engine) -> None:
    """With a smartphone but not knowing how often it is used, the questions still stop at eight."""
    lines = [
        "bonjour",
        "value:relative",
        "value:family_contact",
        "value:smartphone",
        "value:unknown",
        "value:unknown",
        "value:indifferent",
        "value:unknown",
        "value:80_plus",
    ]
    turns = await run(memory_engine, lines)
    assert turns[-1].persona is not None
    assert turns[-1].persona.id == "sans_reperes"
    assert len(questions_before_persona(turns)) == MAX_QUESTIONS


async def test_commands_and_misses_never_say_senior(memory_engine: Engine) -> None:
    """Help, not-understood replies, restart and stop are worded without the word "senior"."""
    lines = [
        "bonjour",
        "/aide",
        "value:self",
        "blablabla",
        "xyzzy",
        "/humain",
        "value:no",
        "/start",
        "/oublier",
        "value:no",
        "/inconnue",
        "/stop",
    ]
    turns = await run(memory_engine, lines)
    assert turns[-1].done
    assert FORBIDDEN_WORD not in all_text(turns).casefold()
