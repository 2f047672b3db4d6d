"""A relative writing for someone else, a mother or a father: every question, button and callback message speaks
of « votre proche », with the same neutral words whoever it is, and of whoever will be called back."""

from __future__ import annotations

import re

import pytest

from bot.core.messages import Turn
from bot.engine.engine import Engine
from tests.conftest import Chat

# A relative's whole path to the callback, through every question of the flow but « aisance » (see AT_EASE).
PATH = [
    "value:family_contact,leisure",
    "value:smartphone",
    "value:rarely",
    "value:yes",  # internet at home
    "value:unsure",
    "value:confidence",
    "value:70_79",
    "value:difficult",
    "69003",
    "value:yes",  # « Oui, qu'on nous rappelle »
    "value:yes",  # consent
]
# Someone using internet every week is asked how at ease they are, and skips the age.
AT_EASE = ["value:family_contact", "value:smartphone,computer", "value:weekly", "value:basic", "value:critical"]
OPENINGS = {"feminine": "c'est pour ma mère", "masculine": "c'est pour mon père"}
# Words a relative must not read about the one they help, or about themselves when the other one is called.
FIRST_PERSON = re.compile(r"(?<![\w])(?:[jm]['’]|(?:je|me|moi|ma|mes)(?![\w]))", re.IGNORECASE)
GENDERED = re.compile(r"(?<!-)\b(?:perdu|sûr|seul|il|elle|lui)\b", re.IGNORECASE)  # « est-il » is no one
# Buttons that speak for the one writing, rightly: « Mon proche directement », « Moi », « Je ne sais pas ».
WRITER_BUTTONS = {"unknown", "person", "relative", "/humain"}


def said(turn: Turn) -> str:
    return "\n".join(reply.text for reply in turn.replies)


async def walk(engine: Engine, key: str, opening: str, who: str) -> list[Turn]:
    lines = ["bonjour", opening, *PATH, f"value:{who}", "value:child", "06 12 34 56 78", "value:any", "Mme Martin"]
    return await Chat(engine, key).script(lines)


@pytest.mark.parametrize("gender", sorted(OPENINGS))
async def test_a_relative_reads_votre_proche_in_every_question_and_button(memory_engine: Engine, gender: str) -> None:
    """For a mother as for a father: each question speaks of « votre proche », no button of a question about them
    speaks in the first person or in the masculine, and the callback asks who to call before the number."""
    turns = await walk(memory_engine, f"test:{gender}", OPENINGS[gender], "person")
    turns += await Chat(memory_engine, f"test:ease:{gender}").script(["bonjour", OPENINGS[gender], *AT_EASE])
    asked = [t for t in turns if t.slot is not None and t.slot != "for_whom"]
    assert {t.state for t in asked} >= {
        "envies", "appareils", "frequence", "connexion", "aisance", "attitude", "freins", "age", "mobilite"
    }  # fmt: skip
    for turn in asked:
        question = turn.replies[-1].text
        assert "votre proche" in question, question
        assert not GENDERED.search(question), question
        for button in turn.buttons:
            if button.value not in WRITER_BUTTONS:
                assert not FIRST_PERSON.search(button.label), (turn.state, button.label)
                assert not GENDERED.search(button.label), (turn.state, button.label)
    attitude = next(t for t in asked if t.state == "attitude")
    labels = {b.value: b.label for b in attitude.buttons}
    assert labels["refuses"] == "Mon proche n'en veut pas"
    assert labels["unsure"] == "Mon proche manque d'assurance"
    states = [t.state for t in turns]
    assert "rappel.who" in states
    assert states.index("rappel.who") < states.index("rappel.relation") < states.index("rappel.phone")
    assert states.index("rappel.phone") < states.index("rappel.moment") < states.index("rappel.name")


@pytest.mark.parametrize("gender", sorted(OPENINGS))
async def test_a_relative_who_has_their_relative_called_reads_of_them_to_the_end(
    memory_engine: Engine, gender: str
) -> None:
    """« Mon proche directement »: the number, the moment, how to call them and the confirmation speak of « votre
    proche », never « vous appeler »; the same words for a mother and a father."""
    turns = await walk(memory_engine, f"test:called:{gender}", OPENINGS[gender], "person")
    phone, moment, name, done = turns[-4:]
    assert (phone.state, moment.state, name.state) == ("rappel.phone", "rappel.moment", "rappel.name")
    assert said(phone).endswith("À quel numéro peut-on appeler votre proche ?")
    assert said(moment) == "Quel moment arrange le mieux votre proche pour l'appel ?"
    assert said(name).startswith("Comment doit-on appeler votre proche ?")
    assert done.callback is not None
    assert "une personne appellera votre proche dès que possible" in said(done)
    [request] = await memory_engine.storage.callbacks_for(f"test:called:{gender}")
    assert (request.first_name, request.relation, request.contact) == ("Mme Martin", "child", "person")
    for turn in (phone, moment, name, done):
        assert "vous appeler" not in said(turn)
        assert "vous appellera" not in said(turn)


async def test_the_same_words_for_a_mother_and_a_father(memory_engine: Engine) -> None:
    """Whether the relative wrote « ma mère » or « mon père », the bot says exactly the same thing."""
    mother = await walk(memory_engine, "test:mother", OPENINGS["feminine"], "person")
    father = await walk(memory_engine, "test:father", OPENINGS["masculine"], "person")
    assert [said(t) for t in mother[2:]] == [said(t) for t in father[2:]]
    assert [[b.label for b in t.buttons] for t in mother] == [[b.label for b in t.buttons] for t in father]


async def test_a_relative_called_themselves_is_spoken_to(memory_engine: Engine) -> None:
    """« Moi » as who to call: the number and the confirmation are the relative's own (« vous »)."""
    turns = await walk(memory_engine, "test:me", OPENINGS["feminine"], "relative")
    phone, name, done = turns[-4], turns[-2], turns[-1]
    assert said(name).startswith("Comment doit-on vous appeler ?")
    assert said(phone).endswith("À quel numéro peut-on vous appeler ?")
    assert done.callback is not None
    assert "une personne vous appellera dès que possible" in said(done)
    assert "votre proche dès que possible" not in said(done)
