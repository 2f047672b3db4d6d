"""How a place is scored for a person, and explained to them.

Score (additive, in points; higher first, then nearer, then id)
---------------------------------------------------------------
    distance      4 / (1 + d / 5 km)                         4 at the door, 2 at 5 km, 0.8 at 20 km
                  with a difficult mobility: 4 / (1 + d / 2.5 km) for places one has to go to (every km
                  counts more), 4 / (1 + d / 10 km) for help at a distance (no trip needed)
    services      sum over the place's services of 3 / (rank + 1), rank in the persona's list
                  (3, 1.5, 1, 0.75 for the 1st, 2nd, 3rd, 4th preferred service)
                  + 0.75 for each service the person's goals point to (at most 1.5)
    support mode  the best of the place's modes in the persona's list: 2 (1st), 1 (2nd), 0.5 (further)
                  (e.g. "Dans un atelier collectif" is the timide's first: workshops in small groups)
    fees          persona preferring free: +1.5 free, +0.75 free under conditions, -1.5 paid only;
                  doubled when money is a stated brake; otherwise +0.5 free, -0.5 paid only; unknown 0.
                  A place selling devices at a solidarity price is never counted as paid (that is the point)
    assistance    +2.5 (assist is the persona's first solution: the refractaire), +1 (assist further down):
                  places where someone does the procedure for the person (v0.1 "à ma place")
    volunteering  +2 (volunteer is the persona's first solution: the hyper-connecté), +1 (further down, or the
                  person's goal is to help others), for places that can take volunteers. Heuristic: an
                  association, third place, MJC, social centre, fablab or ESS structure (`typologie` ASSO,
                  TIERS_LIEUX, MJC, CS, EVS, MQ, FABLAB, RESSOURCERIE, ESS, or such a word in the name), since
                  they run on volunteers; half as much for places running collective workshops on
                  "Compréhension du monde numérique" (workshops need helpers). Public counters (town hall,
                  France services, CCAS) get nothing: they rarely take volunteers.
    seniors       +1 when the place is dedicated to seniors (`publics_specifiquement_adresses` "Seniors");
                  others are not excluded, and the reason never calls the person a senior
    mobility      with a difficult mobility: +3 for help at a distance ("À distance") or an itinerant place
                  ("Itinérant") when the persona asks for it (`home_or_remote_when_difficult`, or no persona),
                  +1 otherwise
    adapted care  +0.75 when a stated brake meets the place's `prise_en_charge_specifique`: language -> Illettrisme
                  or foreign languages; health -> deafness, disabilities, visual impairment

Every weight is a constant below; tests pin the behaviours, not the numbers.

Reasons are short French phrases for the person, most telling first, at most `MAX_REASONS` plus the distance:
what the place offers for the person's own goals first, then whether it is free and what else it offers that
bears on them ("pour les appels vidéo et messages avec la famille", "gratuit", "aussi : ordinateurs sur
place"); without a goal it answers, the persona's preferred service ("aide aux démarches, gratuite"); then
"ateliers en petit groupe", "à 1,2 km" (or "à Villeurbanne" for a place placed at its commune's centre).
They never label the person.
Distances use an equirectangular projection at the mid latitude (error far below 0.1 % within 100 km).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.core.slots import SlotValue
from bot.language.personas import Persona
from bot.places.catalogue.model import Place
from bot.places.catalogue.phrases import (
    A_DISTANCE,
    ALSO_WORDS,
    ATELIER,
    COMPREHENSION,
    GOAL_SERVICES,
    GOAL_WORDS,
    GRATUIT,
    GRATUIT_SOUS_CONDITION,
    HELP_WITH,
    ITINERANT,
    MATERIEL_SOLIDAIRE,
    MODE_REASONS,
    PAYANT,
    SENIORS,
    SERVICE_REASONS,
)
from bot.places.display import address_line, commune_case, distance_words, km

# Beyond 50 km a place is no help to someone who finds travel hard: the bot says nothing is near and
# proposes the callback instead.
RADII_KM = (5.0, 10.0, 20.0, 50.0)

DISTANCE_POINTS = 4.0
DISTANCE_SCALE_KM = 5.0
DISTANCE_SCALE_DIFFICULT_KM = 2.5
DISTANCE_SCALE_REMOTE_DIFFICULT_KM = 10.0
GOAL_POINTS = 0.75
GOAL_POINTS_MAX = 1.5
MODE_POINTS = (2.0, 1.0)
MODE_POINTS_FURTHER = 0.5
FREE_PREFERRED = 1.5
FREE_CONDITIONAL_PREFERRED = 0.75
PAID_PREFERRED_FREE = -1.5
FREE_DEFAULT = 0.5
PAID_DEFAULT = -0.5
MONEY_BRAKE_FACTOR = 2.0
ASSISTANCE_FIRST = 2.5
ASSISTANCE_FURTHER = 1.0
VOLUNTEER_FIRST = 2.0
VOLUNTEER_FURTHER = 1.0
SENIORS_POINTS = 1.0
MOBILITY_WANTED = 3.0
MOBILITY_DEFAULT = 1.0
ADAPTED_CARE = 0.75
MAX_REASONS = 4

VOLUNTEER_TYPES = {
    "ASSO": "association",
    "TIERS_LIEUX": "tiers-lieu",
    "FABLAB": "fablab",
    "MJC": "MJC",
    "CS": "centre social",
    "EVS": "espace de vie sociale",
    "MQ": "maison de quartier",
    "RESSOURCERIE": "ressourcerie",
    "ESS": "structure de l'économie solidaire",
}
VOLUNTEER_NAME_WORDS = (
    ("association", "association"),
    ("tiers-lieu", "tiers-lieu"),
    ("tiers lieu", "tiers-lieu"),
    ("fablab", "fablab"),
    ("fab lab", "fablab"),
    ("repair café", "association"),
    ("emmaüs", "association"),
    ("centre social", "centre social"),
    ("maison de quartier", "maison de quartier"),
    ("mjc", "MJC"),
)
LANGUAGE_CARE = ("Illettrisme", "Langues étrangères (autres)", "Langues étrangères (anglais)")
HEALTH_CARE = ("Surdité", "Handicaps moteurs", "Handicaps mentaux", "Déficience visuelle")


class Entry:
    """A recommendable place with what scoring needs, computed once at indexing."""

    __slots__ = (
        "address",
        "assistance",
        "care",
        "free",
        "itinerant",
        "lat",
        "lon",
        "modes",
        "order",
        "paid_penalised",
        "place",
        "remote",
        "same_place",
        "seniors",
        "services",
        "volunteer",
        "workshop_helpers",
    )

    def __init__(self, place: Place, lat: float, lon: float, order: int) -> None:
        self.place = place
        self.order = order  # indexing order: the last tie-breaker, so entries are never compared
        self.lat = lat
        self.lon = lon
        self.services = frozenset(place.services)
        self.modes = frozenset(place.modalites_accompagnement)
        fees = set(place.frais_a_charge)
        # True free, "cond" free under conditions, False paid only, None unknown
        self.free: bool | str | None = (
            True if GRATUIT in fees else "cond" if GRATUIT_SOUS_CONDITION in fees else False if PAYANT in fees else None
        )
        # buying a device at a solidarity price is paid by nature: not held against the place when preferring free
        self.paid_penalised = self.free is False and MATERIEL_SOLIDAIRE not in self.services
        self.remote = A_DISTANCE in self.modes
        self.itinerant = ITINERANT in place.itinerance
        self.seniors = SENIORS in place.publics_specifiquement_adresses
        self.assistance = place.assistance
        self.care = frozenset(place.prise_en_charge_specifique)
        self.volunteer = _volunteer_kind(place)
        self.workshop_helpers = ATELIER in self.modes and COMPREHENSION in self.services
        self.address = address_line(place.adresse, place.complement_adresse, place.code_postal, place.commune)
        # the same place published twice (two sources, two ids): same name, same spot within about 10 m
        self.same_place = (" ".join(place.nom.casefold().split()), round(lat, 4), round(lon, 4))


def _volunteer_kind(place: Place) -> str:
    for code in place.typologie.replace(";", "|").split("|"):
        kind = VOLUNTEER_TYPES.get(code.strip().upper())
        if kind:
            return kind
    name = place.nom.lower()
    for word, kind in VOLUNTEER_NAME_WORDS:
        if word in name:
            return kind
    return ""


@dataclass(frozen=True, slots=True)
class Context:
    """Everything a search derives from the persona and the answers, built once per search."""

    goals: tuple[str, ...]  # the person's, in their order
    service_points: Mapping[str, float]
    service_rank: Mapping[str, int]
    goal_services: frozenset[str]
    suitable_services: frozenset[str] | None  # None: every place is suitable
    mode_points: Mapping[str, float]
    mode_rank: Mapping[str, int]
    free_points: float
    conditional_points: float
    paid_points: float
    free_only: bool
    assistance_points: float
    volunteer_points: float
    mobility_difficult: bool
    mobility_points: float
    language_brake: bool
    health_brake: bool
    relative: bool

    @classmethod
    def build(cls, persona: Persona | None, answers: Mapping[str, SlotValue]) -> Context:
        prefs = persona.preferences if persona is not None else None
        services = prefs.services if prefs else ()
        modes = prefs.support_modes if prefs else ()
        solutions = persona.solutions if persona is not None else ()
        goals = _values(answers, "goals")
        brakes = _values(answers, "brakes")
        goal_services = frozenset(s for g in goals for s in GOAL_SERVICES.get(g, ()))
        prefer_free = bool(prefs and (prefs.prefer_free or prefs.free_only)) or "money" in brakes
        factor = MONEY_BRAKE_FACTOR if "money" in brakes else 1.0
        if prefer_free:
            free, conditional, paid = FREE_PREFERRED, FREE_CONDITIONAL_PREFERRED, PAID_PREFERRED_FREE
        else:
            free, conditional, paid = FREE_DEFAULT, 0.0, PAID_DEFAULT
        difficult = "difficult" in _values(answers, "mobility")
        wants_remote = prefs.home_or_remote_when_difficult if prefs else True
        volunteer = _solution_points(solutions, "volunteer", VOLUNTEER_FIRST, VOLUNTEER_FURTHER)
        if "help_others" in goals:
            volunteer = max(volunteer, VOLUNTEER_FURTHER)
        suitable = None if persona is None else frozenset(services) | goal_services
        return cls(
            goals=goals,
            service_points={s: 3.0 / (rank + 1) for rank, s in enumerate(services)},
            service_rank={s: rank for rank, s in enumerate(services)},
            goal_services=goal_services,
            suitable_services=suitable or None,
            mode_points={
                m: MODE_POINTS[rank] if rank < len(MODE_POINTS) else MODE_POINTS_FURTHER for rank, m in enumerate(modes)
            },
            mode_rank={m: rank for rank, m in enumerate(modes)},
            free_points=free * factor,
            conditional_points=conditional * factor,
            paid_points=paid * factor,
            free_only=bool(prefs and prefs.free_only),
            assistance_points=_solution_points(solutions, "assist", ASSISTANCE_FIRST, ASSISTANCE_FURTHER),
            volunteer_points=volunteer,
            mobility_difficult=difficult,
            mobility_points=(MOBILITY_WANTED if wants_remote else MOBILITY_DEFAULT) if difficult else 0.0,
            language_brake="language" in brakes,
            health_brake="health" in brakes,
            relative=_values(answers, "for_whom") == ("relative",),
        )

    def suitable(self, entry: Entry, strict: bool) -> bool:
        if self.free_only and entry.free is False:
            return False
        return not strict or self.suitable_services is None or not self.suitable_services.isdisjoint(entry.services)

    def score(self, entry: Entry, distance_km: float) -> float:
        scale = DISTANCE_SCALE_KM
        if self.mobility_difficult:
            scale = DISTANCE_SCALE_REMOTE_DIFFICULT_KM if entry.remote else DISTANCE_SCALE_DIFFICULT_KM
        points = DISTANCE_POINTS / (1.0 + distance_km / scale)
        service_points = self.service_points
        for service in entry.services:
            points += service_points.get(service, 0.0)
        if self.goal_services:
            points += min(GOAL_POINTS * len(self.goal_services & entry.services), GOAL_POINTS_MAX)
        if self.mode_points and entry.modes:
            points += max((self.mode_points.get(m, 0.0) for m in entry.modes), default=0.0)
        free = entry.free
        if free is True:
            points += self.free_points
        elif free == "cond":
            points += self.conditional_points
        elif entry.paid_penalised:
            points += self.paid_points
        if entry.assistance:
            points += self.assistance_points
        if self.volunteer_points and entry.volunteer:
            points += self.volunteer_points
        elif self.volunteer_points and entry.workshop_helpers:
            points += self.volunteer_points / 2
        if entry.seniors:
            points += SENIORS_POINTS
        if self.mobility_points and (entry.remote or entry.itinerant):
            points += self.mobility_points
        if entry.care and self._care(entry):
            points += ADAPTED_CARE
        return points

    def _care(self, entry: Entry) -> tuple[str, ...]:
        wanted: tuple[str, ...] = ()
        if self.language_brake:
            wanted += LANGUAGE_CARE
        if self.health_brake:
            wanted += HEALTH_CARE
        return tuple(c for c in wanted if c in entry.care)

    def reasons(self, entry: Entry, distance_km: float, widened: bool) -> tuple[str, ...]:
        found: list[str] = []
        service = self._best_service(entry)
        for_goals = self._for_goals(entry)
        if for_goals:
            found += for_goals
        elif service is not None:
            found.append(_service_phrase(service, entry))
        elif entry.free is True:
            found.append("gratuit")
        mode = min((m for m in entry.modes if m in self.mode_rank), key=self.mode_rank.__getitem__, default=None)
        if mode is not None:
            found.append(MODE_REASONS[mode])
        if entry.assistance and self.assistance_points:
            found.append(f"on peut y faire les démarches à {'sa' if self.relative else 'votre'} place")
        if self.mobility_points and entry.remote and mode != A_DISTANCE:
            found.append(MODE_REASONS[A_DISTANCE])
        if self.mobility_points and entry.itinerant:
            found.append("service itinérant, qui se déplace")
        if self.volunteer_points and entry.volunteer:
            found.append(f"{entry.volunteer} : on peut y proposer son aide")
        elif self.volunteer_points and entry.workshop_helpers:
            found.append("ateliers collectifs : on peut y proposer son aide")
        care = self._care(entry) if entry.care else ()
        if care:
            found.append("accompagnement adapté : " + ", ".join(c.lower() for c in care))
        if entry.seniors:
            found.append("habitué à accueillir des retraités")
        # a place placed at its commune's centre is said to be in its commune, not at a made-up distance
        approximate = entry.place.position_precision != "exact" and entry.place.commune.strip()
        where = f"à {commune_case(entry.place.commune)}" if approximate else distance_words(distance_km)
        if widened:
            where = f"{where} (rien à moins de {km(RADII_KM[0])})"
        return (*found[:MAX_REASONS], where)

    def _for_goals(self, entry: Entry) -> list[str]:
        """What the place offers for the person's own goals, at most two, each said once per service (« pour les
        appels vidéo et messages avec la famille »), then whether it is free; [] when it answers none of them."""
        by_service: dict[str, str] = {}
        for goal in self.goals:
            for service in GOAL_SERVICES.get(goal, ()):
                if service in entry.services and goal in GOAL_WORDS and service not in by_service:
                    by_service[service] = goal
        said = [GOAL_WORDS[goal] for goal in list(by_service.values())[:2]]
        if not said:
            return []
        if entry.free is True:
            said.append("gratuit")
        elif entry.free == "cond":
            said.append("gratuit sous conditions")
        also = [
            words for service, words in ALSO_WORDS.items() if service in entry.services and service not in by_service
        ]
        if also:
            said.append("aussi : " + ", ".join(also[:2]))
        return said

    def _best_service(self, entry: Entry) -> str | None:
        ranked = [s for s in entry.services if s in self.service_rank]
        if ranked:
            return min(ranked, key=self.service_rank.__getitem__)
        goals = sorted(s for s in entry.services if s in self.goal_services)
        return goals[0] if goals else None

    def help_with(self, entry: Entry) -> tuple[str, ...]:
        """What the place helps with in plain words: the persona's preferred services first."""
        ordered = sorted(
            (s for s in HELP_WITH if s in entry.services),
            key=lambda s: (self.service_rank.get(s, len(self.service_rank)), list(HELP_WITH).index(s)),
        )
        return tuple(HELP_WITH[s] for s in ordered)


def _service_phrase(service: str, entry: Entry) -> str:
    """« aide aux démarches, gratuite »: the service in plain words, and whether it is free when known."""
    phrase, agreement = SERVICE_REASONS[service]
    if entry.free is True and agreement:
        return f"{phrase}, {agreement}"
    if entry.free == "cond" and agreement:
        return f"{phrase}, {agreement} sous conditions"
    return phrase


def _solution_points(solutions: tuple[str, ...], solution: str, first: float, further: float) -> float:
    if not solutions or solution not in solutions:
        return 0.0
    return first if solutions[0] == solution else further


def _values(answers: Mapping[str, SlotValue], slot: str) -> tuple[str, ...]:
    value = answers.get(slot)
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)
