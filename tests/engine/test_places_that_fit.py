"""Places that fit the person, with the real data: the bundled Auvergne-Rhône-Alpes catalogue, the real PACA file
of La MedNum / ANCT (Licence Ouverte 2.0, « Source : ANCT / La MedNum », under ../shared/data/) and the real
geography. Nearest first and help without a trip first when getting about is difficult, and said so; reasons
named after the person's goals, differing from place to place; « Voir d'autres lieux » going on outwards;
names, addresses, phones and communes tidied; a place known only by its commune said to be there; outside the
loaded regions, which ones the list covers; « 1 lieu », « 3 lieux ».

One place below is invented (marked so) where the real files have none of its kind (help at a distance)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from bot.app.root import LoadedFlow, read_bundled
from bot.core.messages import Offer, Turn
from bot.engine.engine import Engine
from bot.places.catalogue.importer import read_import
from bot.places.catalogue.model import Place
from bot.places.catalogue.phrases import A_DISTANCE, DEMARCHES, GOAL_WORDS, MAITRISE
from bot.places.catalogue.search import CatalogueSearch, PlaceIndex
from bot.places.display import address_line, clean_text, commune_case, phone_display
from bot.places.geo import Geo
from bot.places.locations import GeoLocations
from bot.places.regions import region_of
from bot.storage.memory import MemoryStorage
from tests.conftest import ROOT, SHARED, TIMIDE_TO_MOBILITY, Chat

PACA = SHARED / "data" / "anct_client_paca-hub-du-sud_2023-05-17_rev2024-09-12.json"
# The answers up to the location (a timide who wants to keep in touch with the family), mobility last.
BEFORE_MOBILITY = TIMIDE_TO_MOBILITY


@pytest.fixture(scope="module")
def locations() -> GeoLocations:
    return GeoLocations(Geo.load())


@pytest.fixture(scope="module")
def real_places(locations: GeoLocations) -> list[Place]:
    bundled = [p for places in read_bundled(ROOT / "catalogue", locations).values() for p in places]
    paca = list(read_import([Path(PACA)], source="paca", placer=locations.place).places.values())
    return bundled + paca


def engine(loaded: LoadedFlow, places: list[Place], locations: GeoLocations) -> Engine:
    return Engine(loaded.flow, loaded.personas, MemoryStorage(), CatalogueSearch(PlaceIndex(places)), locations)


async def results(
    loaded: LoadedFlow, places: list[Place], locations: GeoLocations, where: str, mobility: str = "easy"
) -> tuple[Chat, Turn]:
    chat = Chat(engine(loaded, places, locations))
    await chat.script([*BEFORE_MOBILITY, f"value:{mobility}"])
    return chat, await chat.send(where)


def said(turn: Turn) -> str:
    return "\n\n".join(r.text for r in turn.replies)


def place_texts(turn: Turn) -> list[str]:
    return [r.text for r in turn.replies if r.offers]


def distances(turn: Turn) -> list[float]:
    return [o.distance_km or 0.0 for o in turn.offers]


# ----- getting about --------------------------------------------------------------------------------------------
async def test_difficult_mobility_shows_the_nearest_first_and_says_so(
    loaded: LoadedFlow, real_places: list[Place], locations: GeoLocations
) -> None:
    """Near 69008 with « C'est difficile »: the page reads nearest first, the nearest suitable place of the
    neighbourhood (Emmaüs Connect, 1.3 km) is on it, and the message says why the nearest come first."""
    _, turn = await results(loaded, real_places, locations, "69008", "difficult")
    shown = distances(turn)
    assert len(shown) == 3
    assert shown == sorted(shown)
    assert shown[0] < 1.5
    assert loaded.flow.messages["offers_nearest_first"].pick(None) in said(turn)
    _, easy = await results(loaded, real_places, locations, "69008", "easy")
    assert loaded.flow.messages["offers_nearest_first"].pick(None) not in said(easy)


async def test_help_without_a_trip_comes_first_when_getting_about_is_difficult(
    loaded: LoadedFlow, real_places: list[Place], locations: GeoLocations
) -> None:
    """A place helping at a distance (invented: the real files hold none) 4 km from 69008 comes before the
    nearer places when getting about is difficult, and the message says so; with an easy mobility it does
    not lead."""
    near = next(p for p in real_places if p.nom == "Emmaüs Connect Lyon")
    assert near.latitude is not None
    remote = dataclasses.replace(
        near,
        id="invente-a-distance",
        source="test",
        nom="Permanence téléphonique inventée",
        latitude=near.latitude + 4.0 / 111.0,
        services=(MAITRISE,),
        modalites_accompagnement=(A_DISTANCE,),
    )
    places = [*real_places, remote]
    _, turn = await results(loaded, places, locations, "69008", "difficult")
    assert turn.offers[0].id == "invente-a-distance"
    assert turn.offers[0].remote
    assert distances(turn)[1:] == sorted(distances(turn)[1:])
    assert loaded.flow.messages["offers_no_trip_first"].pick(None) in said(turn)
    assert "aide à distance, sans se déplacer" in place_texts(turn)[0]
    _, easy = await results(loaded, places, locations, "69008", "easy")
    assert easy.offers[0].id != "invente-a-distance"


# ----- why each place --------------------------------------------------------------------------------------
async def test_reasons_name_the_persons_goals_and_differ_from_place_to_place(
    loaded: LoadedFlow, real_places: list[Place], locations: GeoLocations
) -> None:
    """Keeping in touch with the family as the goal: every place's « why » begins with it (each offers the
    standard's « Maîtrise des outils numériques du quotidien »), and the three lines are not all the same."""
    _, turn = await results(loaded, real_places, locations, "69008")
    whys = [text.splitlines()[1] for text in place_texts(turn)]
    goal = GOAL_WORDS["family_contact"]
    for why, offer in zip(whys, turn.offers, strict=True):
        assert why.startswith(goal[:1].upper() + goal[1:]), why
        assert MAITRISE in offer.services
    assert len(set(whys)) > 1, whys


async def test_another_goal_gives_another_reason(
    loaded: LoadedFlow, real_places: list[Place], locations: GeoLocations
) -> None:
    """Online procedures as the goal: a place offering the standard's « Aide aux démarches administratives »
    gives procedures as its reason, and none speaks of the family (not a goal here)."""
    chat = Chat(engine(loaded, real_places, locations))
    script = [*BEFORE_MOBILITY, "value:easy", "69003"]
    script[2] = "value:admin_procedures"
    turn = (await chat.script(script))[-1]
    for _ in range(3):  # a few pages, until a place offering procedures was shown
        if any(DEMARCHES in o.services for o in turn.offers):
            break
        turn = await chat.send("value:more")
    texts = dict(zip(turn.offers, place_texts(turn), strict=True))
    with_procedures = [t for o, t in texts.items() if DEMARCHES in o.services]
    assert with_procedures
    for text in with_procedures:
        assert text.splitlines()[1].startswith("Pour les démarches en ligne"), text
    assert not any(GOAL_WORDS["family_contact"][1:] in text for text in texts.values())


# ----- paging ---------------------------------------------------------------------------------------------
async def test_see_more_goes_on_outwards(loaded: LoadedFlow, real_places: list[Place], locations: GeoLocations) -> None:
    """Three pages at Villeurbanne: nine different places, each page farther than the one before."""
    chat, turn = await results(loaded, real_places, locations, "Villeurbanne")
    seen = distances(turn)
    ids = [o.id for o in turn.offers]
    for _ in range(2):
        turn = await chat.send("value:more")
        assert turn.offers
        assert min(distances(turn)) >= max(seen[-3:])
        seen += distances(turn)
        ids += [o.id for o in turn.offers]
    assert seen == sorted(seen)
    assert len(set(ids)) == len(ids) == 9
    assert "Voici 3 autres lieux :" in said(turn)


# ----- what is shown ------------------------------------------------------------------------------------------
def test_display_cleaning_of_real_rows() -> None:
    """The real rows' stray brackets and spaces, capitals and international numbers, as people read them."""
    assert clean_text("La MIETE ( Maison des Initiatives, de l'Engagement, du Troc et de l'Échange )") == (
        "La MIETE (Maison des Initiatives, de l'Engagement, du Troc et de l'Échange)"
    )
    assert address_line("11 Petite rue du Roulet )", "", "69100", "VILLEURBANNE") == (
        "11 Petite rue du Roulet, 69100 Villeurbanne"
    )
    assert address_line("(111 AVENUE MIAGE", "", "74170", "SAINT-GERVAIS-LES-BAINS") == (
        "111 AVENUE MIAGE, 74170 Saint-Gervais-les-Bains"
    )
    assert clean_text("Commune de  Ligné") == "Commune de Ligné"
    assert commune_case("Aix les bains") == "Aix les bains"  # mixed case is the producer's: kept
    assert commune_case("L'ISLE-D'ABEAU") == "L'Isle-d'Abeau"
    assert phone_display("+33953226107") == "09 53 22 61 07"
    assert phone_display("+33478956000") == "04 78 95 60 00"
    assert phone_display("+262262123456") == "0262 12 34 56"
    assert phone_display("not a number") == "not a number"


async def test_real_places_are_shown_tidied(
    loaded: LoadedFlow, real_places: list[Place], locations: GeoLocations
) -> None:
    """Beside La MIETE in Villeurbanne (a shared position): its name without the spaces inside its brackets,
    its phone « 09 53 22 61 07 », the Centre d'Animation Saint Jean's « 11 Petite rue du Roulet, 69100
    Villeurbanne » (published « 11 Petite rue du Roulet ), VILLEURBANNE »); no « +33 » anywhere."""
    _, turn = await results(loaded, real_places, locations, "location:45.76377,4.89017")
    text = said(turn)
    assert "📍 La MIETE (Maison des Initiatives, de l'Engagement, du Troc et de l'Échange), à moins de 100 m" in text
    assert "☎ 09 53 22 61 07" in text
    assert "11 Petite rue du Roulet, 69100 Villeurbanne" in text
    assert "+33" not in text
    assert "VILLEURBANNE" not in text
    assert "( " not in text
    assert " )" not in text


async def test_a_place_known_only_by_its_commune_is_said_to_be_there(
    loaded: LoadedFlow, real_places: list[Place], locations: GeoLocations
) -> None:
    """The CCAS of Roquebrune-Cap-Martin is published without coordinates (placed at its commune's centre): it
    is « à Roquebrune-Cap-Martin », never at a made-up distance; placed places keep their distance."""
    ccas = next(p for p in real_places if p.nom == "CCAS Roquebrune-Cap-Martin")
    assert ccas.position_precision == "commune"
    _, turn = await results(loaded, real_places, locations, "Roquebrune-Cap-Martin")
    texts = {o.id: t for o, t in zip(turn.offers, place_texts(turn), strict=True)}
    assert ccas.id in texts
    assert texts[ccas.id].splitlines()[0] == "📍 CCAS Roquebrune-Cap-Martin, à Roquebrune-Cap-Martin"
    assert not re.search(r"\d m\b|km", texts[ccas.id].splitlines()[0])
    others = [t for i, t in texts.items() if i != ccas.id]
    assert all(re.search(r", à [\d,]+ (km|m)$", t.splitlines()[0]) for t in others), others


# ----- outside the list, and how many -----------------------------------------------------------------------
async def test_outside_the_loaded_regions_the_list_says_which_it_covers(
    loaded: LoadedFlow, real_places: list[Place], locations: GeoLocations
) -> None:
    """In Rennes (Bretagne) with the Auvergne-Rhône-Alpes and PACA lists: which regions the list covers, and the
    callback offered; in a covered region with nothing near, the plain « nothing near »."""
    _, turn = await results(loaded, real_places, locations, "Rennes")
    assert turn.offers == ()
    assert "couvre pour l'instant : Auvergne-Rhône-Alpes et Provence-Alpes-Côte d'Azur." in said(turn)
    assert [b.value for b in turn.buttons] == ["yes", "elsewhere", "no"]  # the callback, or another town
    aura = [p for p in real_places if region_of(p.code_insee, p.code_postal) == "Auvergne-Rhône-Alpes"]
    _, alone = await results(loaded, aura, locations, "Rennes")
    assert "couvre pour l'instant : Auvergne-Rhône-Alpes." in said(alone)
    far = [p for p in aura if p.code_postal[:2] != "15"]  # no place left in the Cantal
    _, inside = await results(loaded, far, locations, "15100")
    if inside.offers == ():
        assert loaded.flow.messages["no_offers"].pick(None) in said(inside)
        assert "couvre" not in said(inside)


async def test_one_place_is_one_lieu(loaded: LoadedFlow, real_places: list[Place], locations: GeoLocations) -> None:
    """« Voici 1 lieu … qui peut aider » when one place is shown, « Voici 3 lieux » for three; never « lieu(x) »;
    « Voici 1 autre lieu » when one more remains."""
    ccas = [p for p in real_places if p.nom == "CCAS Roquebrune-Cap-Martin"]
    _, one = await results(loaded, ccas, locations, "Roquebrune-Cap-Martin")
    assert len(one.offers) == 1
    assert loaded.flow.messages["offers_intro_one"].pick(None) in said(one)
    four = [p for p in real_places if p.code_postal == "06190" or p.code_postal == "06500"][:4]
    chat, three = await results(loaded, four, locations, "Roquebrune-Cap-Martin")
    assert "Voici 3 lieux à proximité" in said(three)
    more = await chat.send("value:more")
    assert len(more.offers) == 1
    assert said(more).startswith("Voici 1 autre lieu :")
    for turn in (one, three, more):
        assert "(x)" not in said(turn)
        assert "(s)" not in said(turn)


def test_offer_carries_where_it_is_and_how_it_helps(real_places: list[Place]) -> None:
    """The search's offers say whether a place is only placed at its commune, its commune in normal case, and
    whether it helps without a trip."""
    index = PlaceIndex(real_places)
    ccas = next(p for p in real_places if p.nom == "CCAS Roquebrune-Cap-Martin")
    assert ccas.latitude is not None
    assert ccas.longitude is not None
    found: list[Offer] = index.search(ccas.latitude, ccas.longitude, None, {}, 5)
    offer = next(o for o in found if o.id == ccas.id)
    assert offer.approximate
    assert offer.commune == "Roquebrune-Cap-Martin"
    assert not offer.remote
    assert offer.reasons[-1] == "à Roquebrune-Cap-Martin"


# ----- change town, keep the list ---------------------------------------------------------------------------
async def test_search_elsewhere_keeps_the_answers_and_starts_a_new_list(
    loaded: LoadedFlow, real_places: list[Place], locations: GeoLocations
) -> None:
    """« Chercher ailleurs » at the results asks where, then shows that town's first page (not the page after the
    ones already seen); every answer but the place is kept, and the persona with them."""
    chat, first = await results(loaded, real_places, locations, "69008")
    assert {"elsewhere", "keep"} <= {b.value for b in first.buttons}
    await chat.send("value:more")
    asked = await chat.send("value:elsewhere")
    assert asked.state == "ailleurs"
    assert asked.slot == "location"
    assert "Où voulez-vous chercher" in said(asked)
    turn = await chat.send("Grenoble")
    assert turn.state == "proposition"
    assert said(turn).startswith("Voici 3 lieux")
    assert all("Grenoble" in o.address or (o.distance_km or 0) < 10 for o in turn.offers)
    stored = await chat.engine.storage.read_conversation(chat.key)
    assert stored is not None
    answers = stored.data["answers"]
    assert answers["location"] == "Grenoble"
    assert answers["goals"] == ["family_contact"]
    assert answers["mobility"] == "easy"
    assert turn.persona == first.persona


@pytest.mark.parametrize("typed", ["38000", "Grenoble", "location:45.1885,5.7245"])
async def test_a_town_typed_at_the_results_searches_there(
    loaded: LoadedFlow, real_places: list[Place], locations: GeoLocations, typed: str
) -> None:
    """A postcode, a commune's name or a shared position sent at the results searches there, answers kept; what
    the menu understands stays the menu's (« non merci »), and a word that is no town is not taken for one."""
    chat, _ = await results(loaded, real_places, locations, "69008")
    turn = await chat.send(typed)
    assert turn.state == "proposition"
    assert any("38000 Grenoble" in o.address for o in turn.offers), [o.address for o in turn.offers]
    missed = await chat.send("bof")
    assert missed.offers == ()
    assert missed.state == "proposition"
    last = await chat.send("non merci")
    assert last.state == "utile"  # the last question: the menu's « non merci » was understood


async def test_keep_the_list_gathers_the_places_shown_in_one_message(
    loaded: LoadedFlow, real_places: list[Place], locations: GeoLocations
) -> None:
    """Two pages seen at Villeurbanne, then « Garder la liste »: one message with the six places in the order
    shown (name, tidied address, French phone), a link label for the web chat's printable page, and the
    results' question again; the engine gives the same six to the printable page."""
    chat, first = await results(loaded, real_places, locations, "Villeurbanne")
    second = await chat.send("value:more")
    shown = [*first.offers, *second.offers]
    turn = await chat.send("value:keep")
    kept = [r for r in turn.replies if r.list_link]
    assert len(kept) == 1
    text = kept[0].text
    assert text.startswith(loaded.flow.messages["kept_list_intro"].pick(None))
    assert kept[0].list_link == loaded.flow.messages["kept_list_page"].pick(None)
    positions = [text.index(f"📍 {o.name}\n") for o in shown]
    assert positions == sorted(positions)
    assert text.count("📍") == 6
    assert "11 Petite rue du Roulet, 69100 Villeurbanne" in text or "09 53 22 61 07" in text
    assert "+33" not in text
    assert turn.state == "proposition"
    assert [o.id for o in await chat.engine.kept_places(chat.key)] == [o.id for o in shown]


async def test_no_list_to_keep_before_any_place_was_shown(
    loaded: LoadedFlow, real_places: list[Place], locations: GeoLocations
) -> None:
    """Outside the loaded regions nothing was shown: « Garder la liste » is not offered, and typed anyway it
    says there is no list yet."""
    chat, turn = await results(loaded, real_places, locations, "Rennes")
    assert "keep" not in {b.value for b in turn.buttons}
    assert "elsewhere" in {b.value for b in turn.buttons}
    typed = await chat.send("garder la liste")
    assert loaded.flow.messages["kept_list_empty"].pick(None) in said(typed)
    assert await chat.engine.kept_places(chat.key) == []
