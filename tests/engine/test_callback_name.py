"""The callback request's two optional questions: who a relative is to the person (« Et vous êtes, pour votre
proche »), asked of relatives only, and how to call the person (« Comment doit-on vous appeler ? »), asked last,
both with « Passer ». The name given is the one the mediators read (never the channel's own first name), it is never
kept as « not understood », and what is not a name is asked again kindly."""

from __future__ import annotations

import pytest

from bot.core.text import parse_name
from bot.engine.engine import Engine
from tests.conftest import Chat

on_loop = pytest.mark.asyncio(loop_scope="session")

TO_NAME = ["bonjour", "value:self", "/humain", "oui", "06 12 34 56 78", "value:morning"]
RELATIVE_TO_RELATION = ["bonjour", "value:relative", "/humain", "oui", "value:relative"]


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("marie", "Marie"),
        ("Marie", "Marie"),
        ("  jean-pierre ", "Jean-Pierre"),
        ("Je m'appelle Odette.", "Odette"),
        ("je m’appelle rose", "Rose"),
        ("c'est Paul", "Paul"),
        ("Moi c'est Germaine", "Germaine"),
        ("appelez-moi Madame Martin", "Madame Martin"),
        ("elle s'appelle Huguette", "Huguette"),
        ("Mme Le Goff", "Mme Le Goff"),
        ("M. Dupont", "M. Dupont"),
        ("Anne-Marie de la Tour", "Anne-Marie de la Tour"),
        ("d'artagnan", "D'Artagnan"),
        ("Zoé", "Zoé"),
    ],
)
def test_a_name_is_read_from_what_people_type(typed: str, name: str) -> None:
    assert parse_name(typed) == name


@pytest.mark.parametrize(
    "typed",
    ["", "   ", "06 12 34 56 78", "Marie 06 12", "X", "?!", "marie@example.fr", "12 rue des Lilas",
     "je ne sais pas trop comment vous dire ça en fait", "a" * 41],
)  # fmt: skip
def test_what_is_not_a_name_is_refused(typed: str) -> None:
    assert parse_name(typed) is None


@on_loop
@pytest.mark.parametrize("typed", ["passer", "non merci", "je préfère ne pas le dire", "pas besoin", "value:skip"])
async def test_the_name_can_be_passed_in_words_or_with_the_button(memory_engine: Engine, typed: str) -> None:
    chat = Chat(memory_engine, f"test:skip:{typed}")
    asked = (await chat.script(TO_NAME))[-1]
    assert asked.state == "rappel.name"
    assert [(b.value, b.label) for b in asked.buttons] == [("skip", "Passer")]
    done = await chat.send(typed)
    assert done.callback is not None, typed
    [request] = await memory_engine.storage.callbacks_for(chat.key)
    assert request.first_name is None


@on_loop
async def test_what_is_not_a_name_is_asked_again_and_never_kept(memory_engine: Engine) -> None:
    """A number typed where the name is asked: « Écrivez simplement un prénom… », the question again, nothing
    recorded, and the text is not kept in the coordinators' list of answers not understood (it is personal)."""
    chat = Chat(memory_engine, "test:name:bad")
    await chat.script(TO_NAME)
    again = await chat.send("07 00 00 00 00 Marie")
    assert again.state == "rappel.name"
    assert "Écrivez simplement un prénom" in again.replies[0].text
    assert again.callback is None
    assert await memory_engine.storage.callbacks_for(chat.key) == []
    done = await chat.send("Marie")
    assert done.callback is not None
    [request] = await memory_engine.storage.callbacks_for(chat.key)
    assert request.first_name == "Marie"
    kept = await memory_engine.storage.misunderstood()
    assert not [m for m in kept if "Marie" in m.text or m.question == "rappel.name"]


@on_loop
@pytest.mark.parametrize(
    ("typed", "relation"),
    [
        ("value:child", "child"),
        ("je suis sa fille", "child"),
        ("son fils", "child"),
        ("sa femme", "partner"),
        ("sa petite-fille", "family"),
        ("je suis sa voisine", "friend"),
        ("son aide à domicile", "pro"),
        ("value:skip", None),
        ("passer", None),
    ],
)
async def test_a_relative_says_who_they_are_to_the_person(
    memory_engine: Engine, typed: str, relation: str | None
) -> None:
    """Asked of relatives only, after who to call and before the number; typed or pressed; « Passer » keeps
    nothing."""
    chat = Chat(memory_engine, f"test:relation:{typed}")
    asked = (await chat.script(RELATIVE_TO_RELATION))[-1]
    assert asked.state == "rappel.relation"
    assert [b.value for b in asked.buttons] == ["child", "partner", "family", "friend", "pro", "skip"]
    assert (await chat.send(typed)).state == "rappel.phone", typed
    await chat.script(["06 12 34 56 78", "value:any", "value:skip"])
    [request] = await memory_engine.storage.callbacks_for(chat.key)
    assert (request.relation, request.contact) == (relation, "relative")


@on_loop
async def test_someone_writing_for_themselves_is_not_asked_who_they_are(memory_engine: Engine) -> None:
    chat = Chat(memory_engine, "test:self:states")
    turns = await chat.script([*TO_NAME, "Rose"])
    states = [t.state for t in turns]
    assert "rappel.relation" not in states
    assert "rappel.who" not in states
    assert states[-2:] == ["rappel.name", "envies"]  # then back to the question /humain interrupted
