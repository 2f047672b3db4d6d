"""Mediator queues: routing callback requests by territory on the real geography, working hours and waiting
colours, `queues.yaml` validation (every problem on its line), `flows check`, the app and the engine."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bot.app.root import LoadedFlow, open_app
from bot.callbacks.queuefile import (
    AROUND_KEYS,
    DEFAULT_KEYS,
    HOURS_KEYS,
    QUEUE_KEYS,
    TERRITORY_KEYS,
    TOP_KEYS,
    load_queues,
)
from bot.callbacks.queues import Queue, QueueSet, city_of, department_of_insee, department_of_postcode
from bot.config import Settings
from bot.core.errors import FlowError
from bot.engine.engine import Engine
from bot.language.yamlload import load_yaml
from bot.places.geo import Geo
from bot.places.locations import GeoLocations
from bot.places.offers import NoCatalogue, ResolvedLocation
from bot.storage.memory import MemoryStorage
from bot.tools.check import check, kind_of
from tests.conftest import FLOWS, ROOT, Chat
from tests.engine.test_engine import TO_LOCATION
from tests.test_cli import bot_env, run_bot

SHIPPED = ROOT / "catalogue" / "queues.yaml"
SCHEMA = ROOT / "catalogue" / "queues.schema.json"
PROBLEM_LINE = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+): (?P<message>.+)$")

# A file exercising every routing level; `lyon3` and `lyon_postcodes` overlap on purpose (different levels).
ROUTING = """\
default:
  label: "l'équipe Passerelle"
queues:
  - name: lyon3
    label: "la Maison du 3e"
    territory: {insee: ["69383"]}
  - name: lyon_city
    label: "l'équipe de Lyon"
    territory: {insee: ["69123"]}
  - name: lyon_postcodes
    label: "l'équipe des codes postaux"
    territory: {postcodes: ["69003", "69100", "38080"]}
  - name: rhone
    label: "l'équipe du Rhône"
    territory: {departments: ["69"]}
  - name: isere
    label: "l'équipe de l'Isère"
    territory: {departments: ["38"]}
  - name: isle
    label: "l'équipe de L'Isle-d'Abeau"
    territory: {insee: ["38193"]}
  - name: caluire_wide
    label: "le grand cercle"
    territory: {around: {lat: 45.7946, lon: 4.8464, km: 30}}
  - name: caluire_small
    label: "le petit cercle"
    territory: {around: {lat: 45.7946, lon: 4.8464, km: 3}}
  - name: clermont_west
    label: "l'ouest clermontois"
    territory: {around: {lat: 45.78, lon: 3.00, km: 20}}
  - name: clermont_east
    label: "l'est clermontois"
    territory: {around: {lat: 45.78, lon: 3.20, km: 20}}
  - name: ajaccio
    label: "l'équipe de Corse-du-Sud"
    territory: {departments: ["2A"]}
  - name: reunion
    label: "l'équipe de La Réunion"
    territory: {departments: ["974"]}
"""


@pytest.fixture(scope="module")
def geo() -> Geo:
    return Geo.load()


@pytest.fixture(scope="module")
def places(geo: Geo) -> GeoLocations:
    return GeoLocations(geo)


@pytest.fixture(scope="module")
def routing(tmp_path_factory: pytest.TempPathFactory, geo: Geo) -> QueueSet:
    path = tmp_path_factory.mktemp("routing") / "queues.yaml"
    path.write_text(ROUTING, encoding="utf-8")
    return load_queues(path, default_chat_id=None, geo=geo)


@pytest.fixture(scope="module")
def shipped(geo: Geo) -> QueueSet:
    return load_queues(SHIPPED, default_chat_id=None, geo=geo)


def where(places: GeoLocations, text: str) -> ResolvedLocation:
    found = places.resolve(text)
    assert isinstance(found, ResolvedLocation), (text, found)
    return found


# ----- routing on the real geography -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "queue"),
    [
        ("69003", "lyon"),  # a Lyon postcode (and its arrondissement's commune)
        ("Lyon 3e", "lyon"),
        ("Lyon", "lyon"),  # the city itself, no postcode: by its INSEE code
        ("Villeurbanne", "lyon"),
        ("Tarare", "rhone"),  # elsewhere in the Rhône: the department
        ("69340", "rhone"),
        ("Vienne 38", "isere"),
        ("Grenoble", "isere"),
        ("63000", "clermont"),  # Clermont-Ferrand, inside the circle
        ("Riom", "clermont"),
        ("Thiers", "default"),  # Puy-de-Dôme but 40 km away: outside the circle, no department queue
        ("Bourg-en-Bresse", "default"),
        ("Ajaccio", "default"),
    ],
)
def test_shipped_queues_route_real_places(places: GeoLocations, shipped: QueueSet, typed: str, queue: str) -> None:
    """The shipped queues.yaml sends a place typed by a person to the team covering it, else to default."""
    assert shipped.route(where(places, typed)).name == queue


def test_a_postcode_goes_to_the_queue_claiming_it(places: GeoLocations, geo: Geo) -> None:
    """69003 (Lyon 3e) goes to the queue listing the postcode 69003, over a department queue."""
    queues = QueueSet(
        Queue("default", "l'équipe Passerelle"),
        (
            Queue("rhone", "le Rhône", departments=frozenset({"69"})),
            Queue("lyon", "Lyon", postcodes=frozenset({"69003"})),
        ),
    )
    assert queues.route(where(places, "69003")).name == "lyon"
    assert queues.route(where(places, "69001")).name == "rhone"


def test_a_commune_covered_only_by_its_department(places: GeoLocations, routing: QueueSet) -> None:
    """Tarare (69170) is named by no queue but its department's: it goes to the Rhône queue."""
    assert routing.route(where(places, "Tarare")).name == "rhone"
    assert routing.route(where(places, "Voiron")).name == "isere"


def test_the_commune_wins_over_the_postcode_and_the_arrondissement_over_its_city(
    places: GeoLocations, routing: QueueSet
) -> None:
    """Lyon 3e's INSEE code beats its postcode's queue; another arrondissement falls to the city's INSEE code."""
    assert routing.route(where(places, "69003")).name == "lyon3"
    assert routing.route(where(places, "Lyon 3e")).name == "lyon3"
    assert routing.route(where(places, "Lyon 7e")).name == "lyon_city"
    assert routing.route(where(places, "Lyon")).name == "lyon_city"


def test_the_postcode_wins_over_circles_and_department(places: GeoLocations, routing: QueueSet) -> None:
    """Villeurbanne (69100) is inside both circles and the Rhône, but its postcode is claimed: that queue."""
    assert routing.route(where(places, "Villeurbanne")).name == "lyon_postcodes"


def test_a_postcode_of_several_communes_does_not_trust_its_main_commune(
    places: GeoLocations, routing: QueueSet
) -> None:
    """38080 covers four communes: typed alone it goes by postcode, not to L'Isle-d'Abeau's own queue; the
    commune named goes to its queue."""
    located = where(places, "38080")
    assert (located.precision, located.code_insee) == ("postcode", "38193")
    assert routing.route(located).name == "lyon_postcodes"
    assert routing.route(where(places, "L'Isle-d'Abeau")).name == "isle"


def test_a_shared_position_inside_circles_goes_to_the_smallest(places: GeoLocations, routing: QueueSet) -> None:
    """A position shared 1 km from Caluire's centre is in both circles: the 3 km one wins; 10 km away, the 30 km
    one; the circle beats the Rhône department."""
    near = places.resolve_position(45.80, 4.85)
    assert near is not None
    assert near.precision == "exact"
    assert routing.route(near).name == "caluire_small"
    farther = places.resolve_position(45.86, 4.93)
    assert farther is not None
    assert routing.route(farther).name == "caluire_wide"
    assert routing.route(where(places, "Caluire-et-Cuire")).name == "caluire_small"


def test_equal_circles_go_to_the_nearest_centre(places: GeoLocations, routing: QueueSet) -> None:
    """Two 20 km circles both hold Clermont-Ferrand (3.09 E) and Cournon (3.20 E): each goes to the circle whose
    centre is nearer (west at 3.00 for Clermont, east at 3.20 for Cournon)."""
    clermont = where(places, "Clermont-Ferrand")
    assert abs(clermont.longitude - 3.00) < abs(clermont.longitude - 3.20)  # type: ignore[operator]
    assert routing.route(clermont).name == "clermont_west"
    assert routing.route(where(places, "Cournon-d'Auvergne")).name == "clermont_east"


def test_corsica_postcode_and_communes_use_2a_and_2b(places: GeoLocations, routing: QueueSet) -> None:
    """20000 Ajaccio routes to the Corse-du-Sud (2A) queue; Bastia (2B) does not."""
    assert routing.route(where(places, "20000")).name == "ajaccio"
    assert routing.route(where(places, "Ajaccio")).name == "ajaccio"
    assert routing.route(where(places, "Bastia")).name == "default"


def test_an_overseas_postcode_uses_its_three_digit_department(places: GeoLocations, routing: QueueSet) -> None:
    """97400 (Saint-Denis, La Réunion) routes to the 974 queue, not to a 97 one."""
    assert routing.route(where(places, "97400")).name == "reunion"
    assert routing.route(where(places, "Saint-Pierre 974")).name == "reunion"


def test_unknown_places_go_to_the_default_queue(places: GeoLocations, routing: QueueSet) -> None:
    """No place, a place the geography could not find, or an unplaced one: the default queue."""
    assert routing.route(None) is routing.default
    assert routing.route(ResolvedLocation("quelque part")) is routing.default
    assert places.resolve("98000") is None
    assert routing.route(where(places, "Bourg-en-Bresse")).name == "default"


def test_a_postcode_missing_from_the_table_routes_by_its_department_only(
    places: GeoLocations, routing: QueueSet
) -> None:
    """69999 is placed at the Rhône's seat (precision department): neither Lyon's INSEE code nor the circles
    around Lyon claim it; the Rhône queue does."""
    located = where(places, "69999")
    assert (located.precision, located.code_insee) == ("department", "69123")
    assert routing.route(located).name == "rhone"


def test_department_and_city_helpers() -> None:
    """Departments from INSEE codes and postcodes (Corsica, overseas), and arrondissements' cities."""
    assert [department_of_insee(c) for c in ("69123", "2A004", "2B033", "97411", "20004", "6912")] == [
        "69",
        "2A",
        "2B",
        "974",
        "20",
        "",
    ]
    assert [department_of_postcode(c) for c in ("01000", "20000", "20200", "97400", "6900")] == [
        "01",
        "2A",
        "2B",
        "974",
        "",
    ]
    assert [city_of(c) for c in ("75101", "75120", "69389", "13216", "69123", "13217")] == [
        "75056",
        "75056",
        "69123",
        "13055",
        "",
        "",
    ]


# ----- hours, due times, defaults ---------------------------------------------------------------------------------
def test_working_time_is_read_in_paris_time(routing: QueueSet) -> None:
    """Monday-Friday 9:00-17:00 Paris: 9:30 in winter is 8:30 UTC, in summer 7:30 UTC; 17:00 and weekends are off."""
    office = routing.default
    assert office.is_working_time(datetime(2024, 1, 8, 8, 30, tzinfo=UTC))  # Monday 9:30 CET
    assert not office.is_working_time(datetime(2024, 1, 8, 7, 30, tzinfo=UTC))  # 8:30 CET
    assert office.is_working_time(datetime(2024, 6, 3, 7, 30, tzinfo=UTC))  # Monday 9:30 CEST
    assert not office.is_working_time(datetime(2024, 6, 3, 15, 0, tzinfo=UTC))  # 17:00 CEST: closed
    assert not office.is_working_time(datetime(2024, 6, 8, 10, 0, tzinfo=UTC))  # Saturday
    assert office.is_working_time(datetime(2024, 1, 8, 8, 30))  # naive: read as UTC


def test_hours_with_a_lunch_break_and_day_ranges(shipped: QueueSet) -> None:
    """The shipped Lyon queue works 9:00-12:30 and 13:30-18:00, Monday to Friday (`lundi-vendredi`)."""
    lyon = shipped.get("lyon")
    assert lyon is not None
    paris_summer = timedelta(hours=2)
    friday = datetime(2024, 6, 7, tzinfo=UTC) - paris_summer
    assert lyon.is_working_time(friday + timedelta(hours=12, minutes=29))
    assert not lyon.is_working_time(friday + timedelta(hours=13))
    assert lyon.is_working_time(friday + timedelta(hours=17, minutes=59))
    assert not lyon.is_working_time(friday + timedelta(days=1, hours=10))


def test_due_time_overdue_and_waiting_colours() -> None:
    """Due at created + target_minutes; green before half of it, orange after, red (overdue) from the due time."""
    queue = Queue("q", "x", target_minutes=240)
    created = datetime(2024, 6, 3, 8, 0, tzinfo=UTC)
    assert queue.due_at(created) == created + timedelta(hours=4)
    colours = [queue.waiting_colour(created, created + timedelta(minutes=m)) for m in (0, 119, 120, 239, 240, 600)]
    assert colours == ["green", "green", "orange", "orange", "red", "red"]
    assert not queue.overdue(created, created + timedelta(minutes=239))
    assert queue.overdue(created, created + timedelta(minutes=240))


def test_queues_inherit_the_default_settings_and_groups(shipped: QueueSet) -> None:
    """A queue without hours, target or attempts takes the default's; without a group, the default's group."""
    rhone, lyon = shipped.get("rhone"), shipped.get("lyon")
    assert rhone is not None
    assert lyon is not None
    assert (rhone.hours, rhone.target_minutes, rhone.max_attempts) == (
        shipped.default.hours,
        shipped.default.target_minutes,
        3,
    )
    assert lyon.target_minutes == 240
    assert shipped.get("nowhere") is None
    assert [q.name for q in shipped.all] == ["default", "lyon", "rhone", "isere", "clermont"]
    with_group = load_queues(SHIPPED, default_chat_id=-100500, geo=None)
    assert with_group.default.telegram_chat_id == -100500
    assert with_group.chat_id_for(with_group.get("lyon")) == -100500  # type: ignore[arg-type]
    assert shipped.chat_id_for(shipped.default) is None


def test_mediators_restrict_who_may_act() -> None:
    """An empty mediators list lets anyone in the group act; a list, only those Telegram users."""
    assert Queue("q", "x").may_act(42)
    listed = Queue("q", "x", mediators=frozenset({7}))
    assert listed.may_act(7)
    assert not listed.may_act(42)


def test_no_file_gives_only_the_default_queue_in_the_mediator_group(tmp_path: Path) -> None:
    """Without queues.yaml (a small deployment) there is one queue, `default`, in MEDIATOR_CHAT_ID's group."""
    queues = load_queues(tmp_path / "queues.yaml", default_chat_id=-1001234, geo=None)
    assert [q.name for q in queues.all] == ["default"]
    assert queues.default.telegram_chat_id == -1001234
    assert queues.default.label == "l'équipe Passerelle"
    assert queues.route(ResolvedLocation("69003", 45.76, 4.85, "Lyon", "69003", "69383", "commune")).name == "default"
    assert load_queues(None, default_chat_id=None).default.telegram_chat_id is None


def test_mediator_chat_id_overrides_the_file(tmp_path: Path) -> None:
    """MEDIATOR_CHAT_ID wins over the default block's telegram_chat_id; without it, the file's is kept."""
    path = tmp_path / "queues.yaml"
    path.write_text('default:\n  label: "l\'équipe"\n  telegram_chat_id: -1009\n', encoding="utf-8")
    assert load_queues(path, default_chat_id=None).default.telegram_chat_id == -1009
    assert load_queues(path, default_chat_id=-1002).default.telegram_chat_id == -1002


# ----- validation -------------------------------------------------------------------------------------------------
# Each `# @name` marks the line of a mistake; BROKEN_EXPECTED gives what is said there.
BROKEN = """\
wrong_top: 1                                   # @top
default:
  label: "l'équipe Passerelle"
  territory: {departments: ["01"]}             # @default_territory
  telegram_chat_id: 12345                      # @default_chat
  horaires: {days: [lundi], from: "09:00", to: "17:00"}   # @french_key
  max_attempts: 11                             # @attempts_high
queues:
  - name: lyon                                 # @first_lyon
    label: "l'équipe de Lyon"
    territory:
      postcodes:
        - "69001"                              # @first_69001
        - "6900A"                              # @postcode_format
        - "69099"                              # @postcode_unknown
        - "69001"                              # @postcode_twice
      insee:
        - "69999"                              # @insee_unknown
        - "38000"                              # @insee_is_postcode
        - "20004"                              # @insee_corsica
      departments: ["96"]                      # @department_bad
    telegram_chat_id: "-100123"                # @chat_string
    mediators:
      - 123
      - -5                                     # @mediator_negative
    hours:
      - {days: [lundi, mardo], from: "09:00", to: "12:00"}   # @day_unknown
      - {days: [mardi], from: "9h", to: "12:00"}             # @time_bad
      - {days: [jeudi], from: "14:00", to: "13:00"}          # @from_after_to
      - {from: "09:00", to: "12:00"}                         # @days_missing
    target_minutes: 0                          # @target_zero
    lable: "x"                                 # @label_typo
  - name: lyon                                 # @name_duplicate
    label: "doublon"
    territory:
      postcodes: ["69001"]                     # @postcode_claimed
      departments: ["20"]                      # @department_corsica
  - name: "Lyon Centre"                        # @name_format
    label: "x"
    territory:
      insee: ["69123"]
  - name: default                              # @name_reserved
    label: "x"
    territory:
      departments: ["42"]                      # @first_42
  - name: loire
    label: "x"
    territory:
      departments: ["42"]                      # @department_claimed
  - name: vide
    label: "x"
    territory: {}                              # @territory_empty
  - name: sans_territoire                      # @territory_missing
    label: "x"
  - name: sans_label                           # @label_missing
    territory:
      around: {lat: 45.76, lon: 4.83, km: 0}   # @km_zero
  - name: inverse
    label: "x"
    territory:
      around: {lat: 4.83, lon: 45.76, km: 10}  # @swapped
  - name: loin
    label: "x"
    territory:
      around: {lat: 95, lon: 4.83, km: 250}    # @out_of_range
  - name: essais
    label: "x"
    territory: {departments: ["01"]}
    max_attempts: 0                            # @attempts_zero
"""


def marker_lines(text: str) -> dict[str, int]:
    return {m: n for n, line in enumerate(text.splitlines(), 1) for m in re.findall(r"@(\w+)", line)}


LINES = marker_lines(BROKEN)
BROKEN_EXPECTED: list[tuple[str, str]] = [
    ("top", "clé `wrong_top` inconnue ; clés permises : default, queues"),
    ("default_territory", "file par défaut : pas de `territory`"),
    ("default_chat", "file par défaut : `telegram_chat_id` doit être l'identifiant négatif d'un groupe Telegram"),
    ("french_key", "file par défaut : clé `horaires` inconnue ; vouliez-vous dire `hours` ?"),
    ("attempts_high", "file par défaut : `max_attempts` doit être un nombre entier de 1 à 10, pas 11"),
    ("postcode_format", "file `lyon` : code postal `6900A` : 5 chiffres attendus"),
    ("postcode_unknown", "file `lyon` : le code postal `69099` n'existe pas dans la table géographique"),
    ("postcode_twice", f"file `lyon` : code postal `69001` écrit deux fois (aussi ligne {LINES['first_69001']})"),
    ("insee_unknown", "file `lyon` : le code INSEE `69999` n'est pas une commune de la table géographique"),
    ("insee_is_postcode", "file `lyon` : `38000` est un code postal, pas un code INSEE : mettez-le sous `postcodes`"),
    ("insee_corsica", "file `lyon` : code INSEE `20004` : les codes des communes corses commencent par 2A ou 2B"),
    ("department_bad", "file `lyon` : le département `96` n'existe pas ; écrivez 01 à 95, 2A, 2B ou 971 à 976"),
    (
        "chat_string",
        "file `lyon` : `telegram_chat_id` doit être l'identifiant négatif d'un groupe Telegram, sans guillemets",
    ),
    ("mediator_negative", "file `lyon` : le médiateur `-5` doit être un identifiant Telegram"),
    ("day_unknown", "file `lyon` : hours : jour `mardo` inconnu ; vouliez-vous dire `mardi` ?"),
    ("time_bad", 'file `lyon` : hours : `from` `9h` n\'est pas une heure ; écrivez-la "HH:MM"'),
    ("from_after_to", "file `lyon` : hours : `from` (14:00) doit précéder `to` (13:00)"),
    ("days_missing", "file `lyon` : hours : il manque `days`"),
    ("target_zero", "file `lyon` : `target_minutes` doit être un nombre entier d'au moins 1, pas 0"),
    ("label_typo", "file `lyon` : clé `lable` inconnue ; vouliez-vous dire `label` ?"),
    ("name_duplicate", f"le nom de file `lyon` est déjà pris ligne {LINES['first_lyon']}"),
    (
        "postcode_claimed",
        f"file `lyon` : code postal `69001` déjà dans la file `lyon` (ligne {LINES['first_69001']}) ; "
        "un code postal n'appartient qu'à une file",
    ),
    ("department_corsica", "département `20` : la Corse, c'est `2A` (Corse-du-Sud) et `2B` (Haute-Corse)"),
    ("name_format", "nom de file `Lyon Centre` : 1 à 64 caractères parmi a-z, 0-9, _ et -"),
    ("name_reserved", "le nom `default` est réservé au bloc `default:`"),
    (
        "department_claimed",
        f"file `loire` : département `42` déjà dans la file `default` (ligne {LINES['first_42']})",
    ),
    ("territory_empty", "file `vide` : territoire vide"),
    ("territory_missing", "file `sans_territoire` : il manque `territory`"),
    ("label_missing", "file `sans_label` : il manque `label`"),
    (
        "km_zero",
        "file `sans_label` : around : `km` incorrect ; écrivez un rayon en kilomètres, plus de 0 et au plus 200",
    ),
    ("swapped", "file `inverse` : le centre 4.83, 45.76 n'est pas en France ; `lat` et `lon` seraient-ils inversés ?"),
    ("out_of_range", "file `loin` : around : `lat` incorrect ; écrivez une latitude en degrés entre -90 et 90"),
    ("out_of_range", "file `loin` : around : `km` incorrect"),
    ("attempts_zero", "file `essais` : `max_attempts` doit être un nombre entier de 1 à 10, pas 0"),
]


def problems_of(tmp_path: Path, text: str, geo: Geo | None) -> list[tuple[int, str]]:
    path = tmp_path / "queues.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        load_queues(path, default_chat_id=None, geo=geo)
    assert all(p.file == str(path) for p in caught.value.problems)
    return [(p.line, p.message) for p in caught.value.problems]


def test_every_validation_problem_is_reported_on_its_line(tmp_path: Path, geo: Geo) -> None:
    """A file with every kind of mistake gives each problem, with the fix, on the line of the mistake; no other."""
    got = problems_of(tmp_path, BROKEN, geo)
    for marker, part in BROKEN_EXPECTED:
        line = LINES[marker]
        assert any(n == line and part in m for n, m in got), (marker, line, part, [g for g in got if g[0] == line])
    assert len(got) == len(BROKEN_EXPECTED), got


def test_without_geography_codes_are_checked_for_form_only(tmp_path: Path) -> None:
    """Without the geography table, well-formed but unknown postcodes and INSEE codes pass; malformed ones do not."""
    text = 'queues:\n  - name: a\n    label: "x"\n    territory: {postcodes: ["69099", "123"], insee: ["69999"]}\n'
    assert problems_of(tmp_path, text, None) == [
        (4, 'file `a` : code postal `123` : 5 chiffres attendus, par exemple "69001"')
    ]


@pytest.mark.parametrize(
    ("text", "line", "part"),
    [
        ("[1, 2]\n", 1, "le fichier commence par un bloc `default:` et/ou une liste `queues:`"),
        ("flow: x\n", 1, "le fichier commence par un bloc `default:` et/ou une liste `queues:`"),
        ("queues:\n  name: lyon\n", 1, "`queues` doit être une liste de files"),
        ("default: [1]\n", 1, "`default` doit contenir ses clés"),
        ("queues:\n  - lyon\n", 2, "chaque file commence par `- name: …`"),
        ('default:\n  label: "x\n', 2, "syntaxe YAML"),
        ("queues:\n  - label: x\n    territory: {departments: ['01']}\n", 2, "une file sans `name`"),
        ("queues:\n  - {name: a, label: x, territory: {departments: ['01']}, hours: []}\n", 2, "`hours` est vide"),
        (
            "queues:\n  - {name: a, label: x, territory: {departments: ['01']}, mediators: 5}\n",
            2,
            "doit être une liste",
        ),
    ],
)
def test_malformed_structures_get_one_clear_problem(tmp_path: Path, text: str, line: int, part: str) -> None:
    """A wrong shape (not a mapping, a list expected…) is one problem saying what shape is expected, on its line."""
    got = problems_of(tmp_path, text, None)
    assert len(got) == 1, got
    assert got[0][0] == line
    assert part in got[0][1]


def test_same_circle_twice_is_refused(tmp_path: Path) -> None:
    """Two queues with the very same circle: the second is refused, naming the first's line."""
    text = (
        "queues:\n"
        "  - {name: a, label: x, territory: {around: {lat: 45.7, lon: 4.8, km: 5}}}\n"
        "  - {name: b, label: x, territory: {around: {lat: 45.7, lon: 4.8, km: 5}}}\n"
    )
    assert problems_of(tmp_path, text, None) == [
        (3, "file `b` : le même cercle est déjà celui de la file `a` (ligne 2) ; gardez-en un")
    ]


def test_unquoted_codes_keep_their_leading_zero(tmp_path: Path, geo: Geo) -> None:
    """`01000`, `01` and `08` written without quotes are read as written, not as numbers (octal, or a crash)."""
    path = tmp_path / "queues.yaml"
    path.write_text(
        "queues:\n  - {name: est, label: x, territory: {postcodes: [01000, 69001], departments: [01, 08]}}\n",
        encoding="utf-8",
    )
    east = load_queues(path, default_chat_id=None, geo=geo).get("est")
    assert east is not None
    assert (east.postcodes, east.departments) == (frozenset({"01000", "69001"}), frozenset({"01", "08"}))


# ----- the shipped file and its schema -------------------------------------------------------------------------------
def plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


def test_shipped_file_names_its_schema_and_satisfies_it() -> None:
    """catalogue/queues.yaml names queues.schema.json on its first line and is valid against it."""
    text = SHIPPED.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=queues.schema.json"
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert list(Draft202012Validator(schema).iter_errors(plain(load_yaml(text, str(SHIPPED))))) == []


def test_schema_keys_are_the_loader_keys() -> None:
    """The schema allows exactly the keys the loader accepts, at each level."""
    defs = json.loads(SCHEMA.read_text(encoding="utf-8"))["$defs"]
    top = json.loads(SCHEMA.read_text(encoding="utf-8"))["properties"]
    assert set(top) == set(TOP_KEYS)
    assert set(defs["default"]["properties"]) == set(DEFAULT_KEYS)
    assert set(defs["queue"]["properties"]) == set(QUEUE_KEYS)
    assert set(defs["territory"]["properties"]) == set(TERRITORY_KEYS)
    assert set(defs["territory"]["properties"]["around"]["properties"]) == set(AROUND_KEYS)
    assert set(defs["range"]["properties"]) == set(HOURS_KEYS)


def test_schema_refuses_what_the_loader_refuses() -> None:
    """A few mistakes the loader reports are also flagged by the schema in the editor."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema)
    for wrong in (
        {"queues": [{"name": "default", "label": "x", "territory": {"departments": ["38"]}}]},
        {"queues": [{"name": "a", "label": "x", "territory": {"departments": ["20"]}}]},
        {"queues": [{"name": "a", "label": "x", "territory": {"postcodes": ["6900"]}}]},
        {"queues": [{"name": "a", "label": "x", "territory": {}}]},
        {"default": {"telegram_chat_id": 5}},
        {"default": {"hours": {"days": ["lundi"], "from": "9h", "to": "17:00"}}},
        {"default": {"max_attempts": 11}},
    ):
        assert list(validator.iter_errors(wrong)), wrong


# ----- flows check --------------------------------------------------------------------------------------------------
def test_flows_check_recognises_and_validates_a_queues_file(tmp_path: Path) -> None:
    """`check` tells a queues file by its top-level keys and reports its problems; the shipped one passes."""
    assert kind_of(SHIPPED) == "queues"
    assert check([SHIPPED]).ok
    broken = tmp_path / "queues.yaml"
    broken.write_text(BROKEN, encoding="utf-8")
    report = check([broken])
    assert kind_of(broken) == "queues"
    assert len(report.problems) == len(BROKEN_EXPECTED)


def test_flows_check_cli_reports_a_broken_queues_file(tmp_path: Path) -> None:
    """`python -m bot flows check queues.yaml` prints file:line: message for each problem and exits 1."""
    broken = tmp_path / "queues.yaml"
    broken.write_text(BROKEN, encoding="utf-8")
    result = run_bot(["flows", "check", str(broken)], tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(BROKEN_EXPECTED)
    for line in lines:
        match = PROBLEM_LINE.match(line)
        assert match, line
        assert match["file"] == str(broken)
    assert f"{broken}:{LINES['swapped']}: file `inverse` : le centre 4.83, 45.76 n'est pas en France" in result.stdout
    assert "Traceback" not in result.stderr


def test_flows_check_without_path_checks_catalogue_queues_too(tmp_path: Path) -> None:
    """With no PATH, `flows check` checks CATALOGUE_DIR/queues.yaml beside the flows: exit 1 when it is broken,
    0 on the shipped one (listed among the checked files)."""
    catalogue = tmp_path / "catalogue"
    catalogue.mkdir()
    (catalogue / "queues.yaml").write_text("queues:\n  - name: Lyon\n    label: x\n    territory: {}\n")
    result = run_bot(["flows", "check"], tmp_path, env=bot_env(tmp_path, CATALOGUE_DIR=str(catalogue)))
    assert result.returncode == 1
    problems = [line for line in result.stdout.splitlines() if ": attention : " not in line]  # not the warnings
    assert problems == [
        f"{catalogue / 'queues.yaml'}:2: nom de file `Lyon` : 1 à 64 caractères parmi a-z, 0-9, _ et - "
        "(ni majuscule, ni espace, ni accent)",
        f"{catalogue / 'queues.yaml'}:4: file `Lyon` : territoire vide : indiquez `postcodes`, `insee`, "
        "`departments` ou `around`, ou retirez la file (la file par défaut reçoit ce qu'aucune file ne couvre)",
    ]
    shipped = run_bot(["flows", "check", "--json"], tmp_path)
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    assert str(Path("catalogue") / "queues.yaml") in json.loads(shipped.stdout)["files"]


# ----- the app and the engine ----------------------------------------------------------------------------------------
def settings_for(catalogue: Path, chat_id: int | None = None) -> Settings:
    return Settings(
        database_url="sqlite+aiosqlite:///unused.db",
        flows_dir=FLOWS,
        catalogue_dir=catalogue,
        mediator_chat_id=chat_id,
    )


async def test_app_loads_the_queues_with_the_mediator_group(tmp_path: Path) -> None:
    """open_app loads CATALOGUE_DIR/queues.yaml (MEDIATOR_CHAT_ID as the default group); without it, one queue."""
    (tmp_path / "queues.yaml").write_text(SHIPPED.read_text(encoding="utf-8"), encoding="utf-8")
    async with open_app(settings_for(tmp_path, -1007), in_memory=True) as app:
        assert [q.name for q in app.queues.all] == ["default", "lyon", "rhone", "isere", "clermont"]
        assert app.queues.default.telegram_chat_id == -1007
        assert app.engine.queues is app.queues
    empty = tmp_path / "empty"
    empty.mkdir()
    async with open_app(settings_for(empty, -1008), in_memory=True) as app:
        assert [(q.name, q.telegram_chat_id) for q in app.queues.all] == [("default", -1008)]


async def test_app_refuses_to_start_on_a_broken_queues_file(tmp_path: Path) -> None:
    """A broken queues.yaml stops the start with its file:line problems, before anything is opened."""
    (tmp_path / "queues.yaml").write_text("default:\n  target_minutes: -5\n", encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        async with open_app(settings_for(tmp_path), in_memory=True):
            pass
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path / 'queues.yaml'}:2: file par défaut : `target_minutes` doit être un nombre entier d'au moins 1, "
        "pas -5"
    ]


@pytest.mark.parametrize(
    ("place", "queue", "commune"),
    [
        ("69003", "lyon", ("Lyon 3e Arrondissement", "69383")),
        ("Vienne 38", "isere", ("Vienne", "38544")),
        ("location:45.7772,3.0819", "clermont", ("Clermont-Ferrand", "63113")),
        ("Bourg-en-Bresse", "default", ("Bourg-en-Bresse", "01053")),
        ("value:unknown", "default", (None, None)),
    ],
)
async def test_conversation_records_the_callback_in_the_routed_queue(
    loaded: LoadedFlow,
    shipped: QueueSet,
    places: GeoLocations,
    place: str,
    queue: str,
    commune: tuple[str | None, str | None],
) -> None:
    """A whole conversation ending in a callback request: the request is stored in the queue covering the place
    the person gave, with its commune and INSEE code (a shared position too: never its coordinates), the turn's
    callback carries that queue, and the person reads the team's label."""
    storage = MemoryStorage()
    engine = Engine(loaded.flow, loaded.personas, storage, NoCatalogue(), places, queues=shipped)
    await engine.start()
    chat = Chat(engine)
    turns = await chat.script([*TO_LOCATION, place])
    assert turns[-1].state == "proposition", turns[-1]
    done = (await chat.script(["value:yes", "oui", "06 12 34 56 78", "value:morning", "value:skip"]))[-1]
    assert done.callback is not None
    assert done.callback.queue == queue
    assert chat.json()["callback"]["queue"] == queue  # type: ignore[index]
    [row] = await storage.callbacks_for(chat.key)
    assert row.queue == queue
    assert (row.commune, row.code_insee, row.channel, row.first_name) == (*commune, "test", None)
    label = shipped.get(queue).label  # type: ignore[union-attr]
    assert f"Votre demande est transmise à {label}." in "\n".join(r.text for r in done.replies)


async def test_callback_asked_before_any_place_goes_to_the_default_queue(
    loaded: LoadedFlow, shipped: QueueSet, places: GeoLocations
) -> None:
    """/humain before the location question: the place is unknown, so the default queue gets the request."""
    engine = Engine(loaded.flow, loaded.personas, MemoryStorage(), NoCatalogue(), places, queues=shipped)
    chat = Chat(engine)
    done = (await chat.script(["bonjour", "value:self", "/humain", "oui", "0612345678", "value:any", "passer"]))[-1]
    assert done.callback is not None
    assert done.callback.queue == "default"
