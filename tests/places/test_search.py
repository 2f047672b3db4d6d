"""Persona-aware search (bot/places/catalogue/search.py) on invented places around an invented town centre."""

from __future__ import annotations

import dataclasses
import math
import random
import time
from datetime import datetime

import pytest

from bot.app.root import LoadedFlow
from bot.core.clock import PARIS
from bot.core.messages import Offer
from bot.language.personas import SERVICES, SUPPORT_MODES, Persona, Personas
from bot.places.catalogue.model import Place
from bot.places.catalogue.phrases import (
    A_DISTANCE,
    ACCES,
    ATELIER,
    COMPREHENSION,
    DEMARCHES,
    HELP_WITH,
    INDIVIDUEL,
    INSERTION,
    ITINERANT,
    LOISIRS,
    MAITRISE,
    MATERIEL_SOLIDAIRE,
    MODE_REASONS,
    SECURITE,
    SERVICE_REASONS,
)
from bot.places.catalogue.search import CatalogueSearch, PlaceIndex
from bot.places.offers import OfferSearch, ResolvedLocation

CENTRE = (45.0, 1.0)  # an invented town centre
NOW = datetime(2025, 3, 11, 10, 30, tzinfo=PARIS)  # a Tuesday morning


def place(pid: str, east_km: float = 0.0, north_km: float = 0.0, **fields: object) -> Place:
    """A clearly invented place `east_km`/`north_km` away from the centre."""
    lat = CENTRE[0] + north_km / 111.195
    lon = CENTRE[1] + east_km / (111.195 * math.cos(math.radians(lat)))
    values: dict[str, object] = {
        "id": pid,
        "source": "test",
        "nom": f"Lieu {pid}",
        "commune": "Villefictive",
        "code_postal": "99999",
        "adresse": f"{len(pid)} rue des Essais",
        "latitude": lat,
        "longitude": lon,
        "services": (MAITRISE,),
    }
    values.update(fields)
    return Place(**values)  # type: ignore[arg-type]


def search(
    places: list[Place],
    persona: Persona | None = None,
    limit: int = 10,
    at: tuple[float, float] = CENTRE,
    **answers: str | list[str],
) -> list[Offer]:
    return PlaceIndex(places).search(at[0], at[1], persona, answers, limit, NOW)


def ids(offers: list[Offer]) -> list[str]:
    return [o.id for o in offers]


@pytest.fixture(scope="module")
def personas(loaded: LoadedFlow) -> Personas:
    return loaded.personas


def persona(personas: Personas, persona_id: str) -> Persona:
    return personas.personas[persona_id]


# One small town holding one place made for each kind of person, all a little further than a plain place.
TOWN = [
    place("plain", 0.5, services=(MAITRISE,), modalites_accompagnement=(INDIVIDUEL,)),
    place(
        "townhall",
        1.5,
        services=(DEMARCHES,),
        modalites_accompagnement=(INDIVIDUEL,),
        assistance=True,
        frais_a_charge=("Gratuit",),
    ),
    place(
        "workshop",
        -1.5,
        services=(MAITRISE, SECURITE, LOISIRS),
        modalites_accompagnement=(ATELIER,),
        frais_a_charge=("Gratuit",),
    ),
    place(
        "solidarity",
        0,
        1.5,
        services=(MATERIEL_SOLIDAIRE, ACCES),
        modalites_accompagnement=(INDIVIDUEL,),
        frais_a_charge=("Payant",),
    ),
    place(
        "association",
        0,
        -1.5,
        services=(COMPREHENSION, LOISIRS),
        modalites_accompagnement=(ATELIER,),
        typologie="ASSO",
        frais_a_charge=("Gratuit",),
    ),
]


def test_equal_places_come_nearest_first() -> None:
    """Places alike in everything but distance are ordered by distance, whatever the order given."""
    places = [place(f"p{km}", km) for km in (7.0, 0.4, 3.0, 1.2, 12.0)]
    offers = search(list(reversed(places)))
    assert ids(offers) == ["p0.4", "p1.2", "p3.0", "p7.0", "p12.0"]
    assert [o.distance_km for o in offers] == sorted(o.distance_km or 0 for o in offers)
    assert offers[0].distance_km == pytest.approx(0.4, abs=0.01)


def test_ties_are_broken_by_id() -> None:
    """Two identical places at the same distance come in id order (deterministic output)."""
    offers = search([place("b", 1.0), place("a", -1.0), place("c", 0, 1.0)])
    assert ids(offers) == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("persona_id", "expected"),
    [
        ("refractaire", "townhall"),  # someone does the procedure for them ("à ma place")
        ("timide", "workshop"),  # small-group workshops
        ("novice_curieux", "solidarity"),  # devices at a solidarity price, even if paid
        ("hyper_connecte", "association"),  # somewhere to volunteer
    ],
)
def test_each_persona_gets_its_kind_of_place_first(personas: Personas, persona_id: str, expected: str) -> None:
    """The persona's preferences put its kind of place first, ahead of a nearer plain place."""
    offers = search(TOWN, persona(personas, persona_id))
    assert offers[0].id == expected
    assert (offers[0].distance_km or 0) > (search(TOWN)[0].distance_km or 0)  # not merely the nearest


@pytest.mark.parametrize(
    ("wants", "minds_not", "services", "featured"),
    [
        # the refractaire: someone does the procedure for the person
        ("refractaire", "modere", (DEMARCHES,), {"assistance": True}),
        # the timide: a workshop rather than one-to-one help
        ("timide", "modere", (MAITRISE, SECURITE), {"modalites_accompagnement": (ATELIER,)}),
        # the hyper-connecté: an association or a third place, by type or by name
        ("hyper_connecte", "melancolique", (COMPREHENSION,), {"typologie": "ASSO"}),
        ("hyper_connecte", "melancolique", (COMPREHENSION,), {"typologie": "TIERS_LIEUX"}),
        ("hyper_connecte", "melancolique", (COMPREHENSION,), {"nom": "Association Clic Solidaire"}),
    ],
)
def test_one_feature_flips_the_order_for_the_persona_that_wants_it(
    personas: Personas, wants: str, minds_not: str, services: tuple[str, ...], featured: dict[str, object]
) -> None:
    """Two places alike but for one feature: the persona wanting it takes the farther one, another the nearer."""
    common: dict[str, object] = {"services": services, "modalites_accompagnement": (INDIVIDUEL,)}
    places = [place("nearer", 1.0, **common), place("featured", 2.5, **{**common, **featured})]
    assert ids(search(places, persona(personas, wants))) == ["featured", "nearer"]
    assert ids(search(places, persona(personas, minds_not))) == ["nearer", "featured"]


def test_preferences_change_the_ranking(personas: Personas) -> None:
    """The same town gives four different first places to four personas, and the nearest to nobody in particular."""
    firsts = {
        pid: search(TOWN, persona(personas, pid))[0].id
        for pid in ("refractaire", "timide", "novice_curieux", "hyper_connecte")
    }
    assert len(set(firsts.values())) == 4
    assert search(TOWN)[0].id == "plain"


def test_reasons_say_why_for_each_persona(personas: Personas) -> None:
    """The first place's reasons name what made it chosen, in the person's words."""
    assert search(TOWN, persona(personas, "refractaire"))[0].reasons[:3] == (
        "aide aux démarches, gratuite",
        "aide individuelle",
        "on peut y faire les démarches à votre place",
    )
    relative = search(TOWN, persona(personas, "refractaire"), for_whom="relative")[0]
    assert "on peut y faire les démarches à sa place" in relative.reasons
    assert "ateliers en petit groupe" in search(TOWN, persona(personas, "timide"))[0].reasons
    assert "appareils à prix solidaire" in search(TOWN, persona(personas, "novice_curieux"))[0].reasons
    assert "association : on peut y proposer son aide" in search(TOWN, persona(personas, "hyper_connecte"))[0].reasons


def test_places_outside_the_persona_services_are_left_out(personas: Personas) -> None:
    """A place offering none of the persona's services is not proposed while suitable ones exist."""
    places = [place("jobs", 0.2, services=(INSERTION,)), place("basics", 3.0, services=(MAITRISE,))]
    assert ids(search(places, persona(personas, "timide"))) == ["basics"]
    assert ids(search(places)) == ["jobs", "basics"]  # no persona: everything with services


def test_unsuitable_places_are_better_than_nothing(personas: Personas) -> None:
    """When no suitable place exists at all, the places with other services are proposed rather than nothing."""
    offers = search([place("jobs", 2.0, services=(INSERTION,))], persona(personas, "timide"))
    assert ids(offers) == ["jobs"]


def test_free_preference(personas: Personas) -> None:
    """A persona preferring free help gets the free place first; one that does not mind gets the nearer paid one."""
    places = [
        place("paid", 0.2, services=(DEMARCHES,), frais_a_charge=("Payant",)),
        place("free", 3.0, services=(DEMARCHES,), frais_a_charge=("Gratuit",)),
    ]
    assert persona(personas, "refractaire").preferences.prefer_free
    assert not persona(personas, "modere").preferences.prefer_free
    assert ids(search(places, persona(personas, "refractaire"))) == ["free", "paid"]
    assert ids(search(places, persona(personas, "modere"))) == ["paid", "free"]
    offers = {o.id: o for o in search(places, persona(personas, "modere"))}
    assert offers["free"].free is True
    assert offers["paid"].free is False
    assert "gratuite" in offers["free"].reasons[0]
    assert not any("gratuit" in r for r in offers["paid"].reasons)
    unsaid = [
        place("unsaid", 0.2, services=(DEMARCHES,)),
        place("free", 2.5, services=(DEMARCHES,), frais_a_charge=("Gratuit",)),
    ]
    assert ids(search(unsaid, persona(personas, "refractaire"))) == ["free", "unsaid"]
    assert ids(search(unsaid, persona(personas, "modere"))) == ["unsaid", "free"]


def test_money_brake_makes_free_matter_more(personas: Personas) -> None:
    """Money named as a brake turns even an indifferent persona towards the free place."""
    places = [
        place("paid", 0.2, services=(DEMARCHES,), frais_a_charge=("Payant",)),
        place("free", 3.0, services=(DEMARCHES,), frais_a_charge=("Gratuit",)),
    ]
    assert ids(search(places, persona(personas, "modere"), brakes=["money"]))[0] == "free"


def test_free_only_leaves_out_paid_places(personas: Personas) -> None:
    """`free_only` drops places known to charge, keeps those that do not say."""
    base = persona(personas, "modere")
    strict = dataclasses.replace(base, preferences=dataclasses.replace(base.preferences, free_only=True))
    places = [
        place("paid", 0.2, services=(DEMARCHES,), frais_a_charge=("Payant",)),
        place("unknown", 1.0, services=(DEMARCHES,)),
        place("free", 3.0, services=(DEMARCHES,), frais_a_charge=("Gratuit",)),
    ]
    assert sorted(ids(search(places, strict))) == ["free", "unknown"]
    assert unknown_free(search(places, strict)) is None


def unknown_free(offers: list[Offer]) -> bool | None:
    return next(o.free for o in offers if o.id == "unknown")


def test_seniors_boost_does_not_exclude_others(personas: Personas) -> None:
    """A place dedicated to seniors passes a slightly nearer equal place, which is still shown; no label."""
    places = [place("everyone", 1.0), place("seniors", 2.0, publics_specifiquement_adresses=("Seniors",))]
    offers = search(places, persona(personas, "timide"))
    assert ids(offers) == ["seniors", "everyone"]
    assert "habitué à accueillir des retraités" in offers[0].reasons
    assert not any("senior" in r.lower() for o in offers for r in o.reasons)
    far = [place("everyone", 0.2), place("seniors", 15.0, publics_specifiquement_adresses=("Seniors",))]
    assert ids(search(far, persona(personas, "timide"))) == ["everyone", "seniors"]


def test_places_without_services_or_position_are_never_returned() -> None:
    """A place listing no services (not open to the public), or without a position, is never proposed."""
    places = [
        place("closed", 0.0, services=()),
        place("nowhere", services=(MAITRISE,), latitude=None, longitude=None),
        place("open", 30.0),
    ]
    index = PlaceIndex(places)
    assert len(index) == 1
    assert ids(index.search(*CENTRE, None, {}, 10, NOW)) == ["open"]
    assert search([place("closed", 0.0, services=())]) == []


def test_radius_widens_when_nothing_is_near_and_says_so() -> None:
    """Nothing within 5 km: places at 30 and 45 km are proposed, the reasons saying nothing is nearer; 80 km
    (beyond the last radius, 50 km) never: no help to someone for whom travel is hard."""
    offers = search([place("far", 45.0), place("farther", 80.0), place("near", 0, 30.0)])
    assert ids(offers) == ["near", "far"]
    assert offers[0].reasons[-1] == "à 30 km (rien à moins de 5 km)"
    assert offers[1].reasons[-1] == "à 45 km (rien à moins de 5 km)"
    assert search([place("door")])[0].reasons[-1] == "à moins de 100 m"
    assert search([place("street", 0.34)])[0].reasons[-1] == "à 300 m"
    near = search([place("near", 1.2), place("far", 30.0)])
    assert near[0].reasons[-1] == "à 1,2 km"
    assert near[1].reasons[-1] == "à 30 km"


def test_neighbourhood_first_then_further_rings() -> None:
    """A well-matched place beyond the neighbourhood comes after the neighbourhood's places, not before."""
    nearby = [place(f"n{i}", 0.5 + i * 0.5) for i in range(6)]  # six places within 5 km: the neighbourhood
    great = place(
        "great",
        8.0,
        services=(MAITRISE, DEMARCHES),
        frais_a_charge=("Gratuit",),
        publics_specifiquement_adresses=("Seniors",),
        modalites_accompagnement=(ATELIER,),
    )
    offers = search([*nearby, great], limit=7)
    assert ids(offers)[:6] == [f"n{i}" for i in range(6)]
    assert offers[6].id == "great"


def test_results_are_a_prefix_whatever_the_limit(personas: Personas) -> None:
    """Asking for more never reorders what was already shown (the dialogue pages through the list)."""
    rng = random.Random(4)
    services = [MAITRISE, DEMARCHES, LOISIRS, COMPREHENSION, SECURITE, ACCES]
    places = [
        place(
            f"r{i}",
            rng.uniform(-40, 40),
            rng.uniform(-40, 40),
            services=tuple(rng.sample(services, rng.randint(1, 3))),
            modalites_accompagnement=tuple(rng.sample([ATELIER, INDIVIDUEL, A_DISTANCE], rng.randint(0, 2))),
            frais_a_charge=rng.choice([(), ("Gratuit",), ("Payant",)]),
        )
        for i in range(300)
    ]
    index = PlaceIndex(places)
    for pid in ("refractaire", "timide", "hyper_connecte"):
        full = ids(index.search(*CENTRE, persona(personas, pid), {"mobility": "difficult"}, 40, NOW))
        assert len(full) == 40
        for limit in (1, 4, 7, 10, 13, 25):
            assert (
                ids(index.search(*CENTRE, persona(personas, pid), {"mobility": "difficult"}, limit, NOW))
                == (full[:limit])
            )


def test_difficult_mobility_prefers_remote_and_itinerant(personas: Personas) -> None:
    """With a difficult mobility, help at a distance and itinerant places pass a nearer fixed place."""
    places = [
        place("fixed", 1.0, services=(DEMARCHES,), modalites_accompagnement=(INDIVIDUEL,)),
        place("remote", 8.0, services=(DEMARCHES,), modalites_accompagnement=(A_DISTANCE,)),
        place(
            "itinerant", -8.0, services=(DEMARCHES,), modalites_accompagnement=(INDIVIDUEL,), itinerance=(ITINERANT,)
        ),
    ]
    refractaire = persona(personas, "refractaire")
    assert ids(search(places, refractaire, mobility="easy"))[0] == "fixed"
    difficult = search(places, refractaire, mobility="difficult")
    assert ids(difficult)[-1] == "fixed"
    reasons = {o.id: o.reasons for o in difficult}
    assert "aide à distance, sans se déplacer" in reasons["remote"]
    assert "service itinérant, qui se déplace" in reasons["itinerant"]


def test_reasons_are_short_french_and_end_with_the_distance(personas: Personas) -> None:
    """Every offer of every persona has reasons: short French phrases, the distance last, no label."""
    for persona_id, p in personas.personas.items():
        for offer in search(TOWN, p, mobility="difficult", goals=["leisure"]):
            assert offer.reasons, persona_id
            assert offer.reasons[-1].startswith("à ")
            for reason in offer.reasons:
                assert 3 <= len(reason) <= 60
                assert reason == reason.strip()
                assert "senior" not in reason.lower()
            assert any(ch in "".join(offer.reasons) for ch in "àéèêç")


def test_offer_fields_for_the_person() -> None:
    """An offer carries the address (street, postcode, town), the stored phone and what it helps with in words."""
    p = place(
        "full",
        1.0,
        services=(DEMARCHES, MAITRISE),
        telephone="+33512345678",
        complement_adresse="Bât. B",
        frais_a_charge=("Gratuit",),
    )
    (offer,) = search([p])
    assert offer.name == "Lieu full"
    assert offer.address == "4 rue des Essais, Bât. B, 99999 Villefictive"
    assert offer.phone == "+33512345678"
    assert offer.services == (DEMARCHES, MAITRISE)
    assert offer.help_with == ("démarches en ligne", "se servir d'un téléphone, d'une tablette ou d'un ordinateur")
    assert offer.free is True
    assert offer.latitude == p.latitude
    assert offer.longitude == p.longitude


def test_help_with_puts_the_persona_services_first(personas: Personas) -> None:
    """What a place helps with starts with what the persona came for."""
    p = place("both", 1.0, services=(DEMARCHES, LOISIRS))
    assert search([p], persona(personas, "hyper_connecte"))[0].help_with[0] == "photos, loisirs, créations"
    assert search([p], persona(personas, "refractaire"))[0].help_with[0] == "démarches en ligne"


def test_goals_favour_the_matching_service() -> None:
    """Without a persona, a stated goal (leisure) lifts the place offering it above a nearer plain one."""
    places = [place("plain", 0.5), place("leisure", 1.5, services=(LOISIRS,))]
    assert ids(search(places)) == ["plain", "leisure"]
    assert ids(search(places, goals=["leisure"])) == ["leisure", "plain"]


def test_duplicate_publication_is_shown_once() -> None:
    """The same place published twice (two ids, same name, same spot) is proposed once."""
    offers = search([place("a", 1.0, nom="Médiathèque"), place("b", 1.0, nom="MÉDIATHÈQUE"), place("c", 2.0)])
    assert ids(offers) == ["a", "c"]


def test_opening_hours_reach_the_offer() -> None:
    """open_now and next_opening come from the hours at the injected moment; malformed hours show nothing."""
    places = [
        place("open", 1.0, horaires="Mo-Fr 09:00-12:00,14:00-18:00"),
        place("closed", 2.0, horaires="Sa 09:00-12:00"),
        place("broken", 3.0, horaires="Mo-Fr 09:00-19:00; Sa 17:00"),
        place("none", 4.0),
    ]
    offers = {o.id: o for o in search(places)}
    assert (offers["open"].open_now, offers["open"].next_opening) == (True, "ouvert maintenant jusqu'à 12 h")
    assert (offers["closed"].open_now, offers["closed"].next_opening) == (False, "ouvert samedi de 9 h à 12 h")
    assert (offers["broken"].open_now, offers["broken"].next_opening) == (None, "")
    assert (offers["none"].open_now, offers["none"].next_opening) == (None, "")


def test_bad_queries_return_nothing() -> None:
    """A zero limit or a position that is not a number gives an empty list, not an error."""
    index = PlaceIndex(TOWN)
    assert index.search(*CENTRE, None, {}, 0, NOW) == []
    assert index.search(math.nan, 1.0, None, {}, 5, NOW) == []
    assert PlaceIndex([]).search(*CENTRE, None, {}, 5, NOW) == []


def test_index_of_20000_places_is_quick(personas: Personas) -> None:
    """20,000 places index in well under 2 s, and a search takes well under 10 ms on average."""
    rng = random.Random(1)
    places = [
        place(
            f"q{i}",
            rng.uniform(-300, 300),
            rng.uniform(-300, 300),
            services=(rng.choice([MAITRISE, DEMARCHES, LOISIRS, COMPREHENSION]),),
            horaires="Mo-Fr 09:00-12:00,14:00-18:00",
        )
        for i in range(20_000)
    ]
    # The processor time of this process, not the wall clock: other tests run beside this one (parallel workers)
    # and must not turn their load into this test's slowness.
    started = time.process_time()
    index = PlaceIndex(places)
    assert time.process_time() - started < 2.0
    assert len(index) == 20_000
    all_personas = list(personas.personas.values())
    started = time.process_time()
    for i in range(200):
        lat, lon = CENTRE[0] + rng.uniform(-2, 2), CENTRE[1] + rng.uniform(-2, 2)
        assert index.search(lat, lon, all_personas[i % 7], {"mobility": "easy"}, 4, NOW)
    assert (time.process_time() - started) / 200 < 0.010


async def test_catalogue_search_fits_the_dialogue_seam(personas: Personas) -> None:
    """CatalogueSearch answers the dialogue's OfferSearch: a placed location gets offers, an unplaced one none."""
    seam: OfferSearch = CatalogueSearch(PlaceIndex(TOWN), clock=lambda: NOW)
    here = ResolvedLocation("Villefictive", CENTRE[0], CENTRE[1], "Villefictive", "99999", precision="commune")
    offers = await seam.search(here, persona(personas, "timide"), {}, 3)
    assert offers is not None
    assert offers[0].id == "workshop"
    assert await seam.search(ResolvedLocation("Nullepart"), None, {}, 3) == []


def test_every_standard_value_has_words() -> None:
    """Each national-standard service and support mode has plain French words (no value shown raw)."""
    assert set(HELP_WITH) == set(SERVICES)
    assert set(SERVICE_REASONS) == set(SERVICES)
    assert set(MODE_REASONS) == set(SUPPORT_MODES)


def test_conditional_fees_and_adapted_care(personas: Personas) -> None:
    """Free under conditions is said as such (not "free"); a language brake favours help with reading and writing."""
    (offer,) = search(
        [place("cond", 1.0, services=(DEMARCHES,), frais_a_charge=("Gratuit sous condition",))],
        persona(personas, "refractaire"),
    )
    assert offer.reasons[0] == "aide aux démarches, gratuite sous conditions"
    assert offer.free is None
    places = [place("plain", 1.0), place("literacy", 2.0, prise_en_charge_specifique=("Illettrisme",))]
    novice = persona(personas, "novice_curieux")
    assert ids(search(places, novice)) == ["plain", "literacy"]
    offers = search(places, novice, brakes=["language"])
    assert ids(offers) == ["literacy", "plain"]
    assert "accompagnement adapté : illettrisme" in offers[0].reasons


def test_helping_others_as_a_goal_points_to_associations(personas: Personas) -> None:
    """Someone whose goal is to help others, whatever the persona, sees the association before a nearer counter."""
    places = [
        place("counter", 1.0, services=(COMPREHENSION,), typologie="MUNI"),
        place("asso", 2.0, services=(COMPREHENSION,), typologie="ASSO"),
    ]
    melancolique = persona(personas, "melancolique")
    assert ids(search(places, melancolique)) == ["counter", "asso"]
    offers = search(places, melancolique, goals=["help_others"])
    assert ids(offers) == ["asso", "counter"]
    assert "association : on peut y proposer son aide" in offers[0].reasons
