"""The end of the conversation with places: location resolved (homonyms, unknown places), offers three at a time.

The geography and catalogue here are small invented stand-ins at the engine's seams (the real ones have their
own tests): places and communes below are fictitious.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from bot.app.root import LoadedFlow
from bot.core.messages import Button, Inbound, Offer
from bot.core.slots import SlotValue
from bot.engine.engine import Engine
from bot.language.personas import Persona
from bot.places.offers import LocationChoice, ResolvedLocation
from bot.storage.memory import MemoryStorage
from tests.conftest import TIMIDE_TO_MOBILITY, Chat

TO_LOCATION = [*TIMIDE_TO_MOBILITY, "value:easy"]
LYON = ResolvedLocation("Lyon", 45.76, 4.84, "Lyon", "69001", "69123", "commune")
SAINT_DENIS_93 = ResolvedLocation("Saint-Denis (93)", 48.94, 2.36, "Saint-Denis", "93200", "93066", "commune")
SAINT_DENIS_974 = ResolvedLocation("Saint-Denis (974)", -20.88, 55.45, "Saint-Denis", "97400", "97411", "commune")


class SmallGeography:
    def resolve(self, text: str) -> ResolvedLocation | LocationChoice | None:
        key = text.strip().lower()
        if key == "lyon":
            return LYON
        if key == "saint-denis":
            return LocationChoice((SAINT_DENIS_93, SAINT_DENIS_974))
        return None

    def resolve_position(self, latitude: float, longitude: float) -> ResolvedLocation | None:
        return ResolvedLocation(
            f"{latitude:.5f},{longitude:.5f}", latitude, longitude, "Lyon", "69001", "69123", "commune"
        )


class InventedCatalogue:
    """`count` fictitious places, 1 km apart; records where it was asked to search."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.asked: list[ResolvedLocation] = []

    async def search(
        self, location: ResolvedLocation, persona: Persona | None, answers: Mapping[str, SlotValue], limit: int
    ) -> list[Offer] | None:
        self.asked.append(location)
        return [
            Offer(
                id=f"lieu-{n}",
                name=f"Lieu inventé {n}",
                distance_km=float(n),
                services=("Aide",),
                address=f"{n} rue Imaginaire",
                phone="" if n == 2 else "+33478956000",
                help_with=("les démarches",),
                next_opening="ouvert demain de 9 h à 12 h",
                free=n % 2 == 1,
                reasons=("aide aux démarches, gratuite", "ateliers en petit groupe", f"à {n},0 km"),
            )
            for n in range(1, min(self.count, limit) + 1)
        ]

    def coverage(self) -> tuple[str, ...]:
        return ("Auvergne-Rhône-Alpes",)


def engine_with(loaded: LoadedFlow, places: int) -> tuple[Engine, InventedCatalogue]:
    catalogue = InventedCatalogue(places)
    return Engine(loaded.flow, loaded.personas, MemoryStorage(), catalogue, SmallGeography()), catalogue


async def test_offers_are_shown_three_at_a_time_each_in_its_own_message(loaded: LoadedFlow) -> None:
    """Three places, one message each (name, distance, why it was chosen, next opening, phone, address),
    then "see more" shows the next ones, and is no longer offered once nothing is left."""
    engine, catalogue = engine_with(loaded, places=5)
    chat = Chat(engine)
    await chat.script(TO_LOCATION)
    turn = await chat.send("Lyon")
    assert catalogue.asked == [LYON]
    assert [o.id for o in turn.offers] == ["lieu-1", "lieu-2", "lieu-3"]
    place_messages = [r for r in turn.replies if r.offers]
    assert len(place_messages) == 3
    first = place_messages[0].text
    for piece in (
        "Lieu inventé 1",
        "Lieu inventé 1, à 1 km",
        "Aide aux démarches, gratuite · ateliers en petit groupe",
        "ouvert demain de 9 h à 12 h",
        "04 78 95 60 00",
        "1 rue Imaginaire",
    ):
        assert piece in first
    assert first.count("1 km") == 1  # the distance is said once, not again among the reasons
    assert "☎" not in place_messages[1].text  # no phone: the phone line is left out, not shown empty
    assert "more" in [b.value for b in turn.buttons]
    turn = await chat.send("value:more")
    assert [o.id for o in turn.offers] == ["lieu-4", "lieu-5"]
    assert "more" not in [b.value for b in turn.buttons]
    assert turn.state == "proposition"


async def test_without_catalogue_no_see_more_is_offered(memory_engine: Engine) -> None:
    """With no catalogue the bot says so and offers the callback, without a pointless "see more"."""
    chat = Chat(memory_engine)
    await chat.script(TO_LOCATION)
    turn = await chat.send("69003")
    assert turn.offers == ()
    assert "pas encore la liste" in " ".join(r.text for r in turn.replies)
    assert [b.value for b in turn.buttons] == ["yes", "elsewhere", "no"]


async def test_homonyms_are_asked_by_department(loaded: LoadedFlow) -> None:
    """A commune name shared by several communes: the bot asks which one, with one button per department;
    a button or the department typed picks it, and the search uses that commune."""
    engine, catalogue = engine_with(loaded, places=1)
    chat = Chat(engine)
    await chat.script(TO_LOCATION)
    turn = await chat.send("Saint-Denis")
    assert turn.state == "lieu"
    assert "Plusieurs communes" in " ".join(r.text for r in turn.replies)
    assert [b.label for b in turn.buttons][:2] == ["Saint-Denis (93)", "Saint-Denis (974)"]
    turn = await chat.send("974")
    assert turn.state == "proposition"
    assert catalogue.asked == [SAINT_DENIS_974]
    record = await engine.storage.load_conversation(chat.key)
    assert record is not None
    assert record.data["answers"]["location"] == "Saint-Denis (974)"


async def test_homonym_picked_by_button(loaded: LoadedFlow) -> None:
    """Pressing a department button picks that commune."""
    engine, catalogue = engine_with(loaded, places=1)
    chat = Chat(engine)
    await chat.script([*TO_LOCATION, "Saint-Denis"])
    assert turn_button(chat, "Saint-Denis (93)").value == "@0"  # short: Telegram buttons hold 64 bytes
    turn = await chat.send("value:@0")
    assert turn.state == "proposition"
    assert catalogue.asked == [SAINT_DENIS_93]


@pytest.mark.parametrize("typed", ["Nulle-Part-sur-Mer", "12345 x"])
async def test_an_unknown_place_is_asked_again_kindly(loaded: LoadedFlow, typed: str) -> None:
    """A place the geography does not know: a kind re-ask, the same question, nothing stored."""
    engine, catalogue = engine_with(loaded, places=1)
    chat = Chat(engine)
    await chat.script(TO_LOCATION)
    turn = await chat.send(typed)
    assert (turn.state, turn.slot) == ("lieu", "location")
    assert "pas reconnu ce lieu" in " ".join(r.text for r in turn.replies)
    assert catalogue.asked == []


async def test_a_shared_position_is_used_for_the_search(loaded: LoadedFlow) -> None:
    """A location shared from the phone is resolved and searched around."""
    engine, catalogue = engine_with(loaded, places=2)
    chat = Chat(engine)
    await chat.script(TO_LOCATION)
    turn = await chat.send_inbound(Inbound.location(chat.key, 45.75, 4.85))
    assert turn.state == "proposition"
    assert (catalogue.asked[0].latitude, catalogue.asked[0].longitude) == (45.75, 4.85)


async def test_unknown_location_finds_no_place_but_offers_the_callback(loaded: LoadedFlow) -> None:
    """ "Je ne sais pas" to the location: no search, the bot says it found nothing near and offers a callback."""
    engine, catalogue = engine_with(loaded, places=3)
    chat = Chat(engine)
    await chat.script(TO_LOCATION)
    turn = await chat.send("value:unknown")
    assert catalogue.asked == []
    assert turn.state == "proposition"
    assert "yes" in [b.value for b in turn.buttons]


def turn_button(chat: Chat, label: str) -> Button:
    assert chat.last is not None
    return next(b for b in chat.last.buttons if b.label == label)
