"""French geography, offline: postcode → position, commune name → position, position → nearest commune.

The table (`catalogue/geo/geo.json.gz`, built by `catalogue/geo/build.py` from codes-postaux, the
@etalab/decoupage-administratif package and GeoNames) holds every commune, municipal arrondissement and
former (delegated) commune with a position and the precision of that position, every postcode with its
communes, and the departments. `Geo.load()` reads it once per process (about 0.2 s); the name indexes and the
nearest-commune grid are built on first use; lookups are in memory.

Names are compared through `normalise`: no case, no accents, "st"/"ste" read as "saint"/"sainte",
punctuation as spaces. Small typos are accepted (bounded edit distance, same first letter); communes sharing
a name are never chosen between silently: `locate` returns `Ambiguous` and a department ("Saint-Denis 93",
"Saint-Denis (Réunion)") settles it.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import unicodedata
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

from rapidfuzz import process
from rapidfuzz.distance import OSA

DEFAULT_TABLE = Path(__file__).resolve().parents[2] / "catalogue" / "geo" / "geo.json.gz"
PRECISIONS = ("commune", "postcode", "department", "none")
FAR_KM = 100.0  # coordinates farther than this from any commune are not in France
CELL = 0.1  # degrees: the side of a nearest-commune grid cell
MAX_NAME = 100  # characters: longer text is not a commune name (the longest has 45)
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes", "mt": "mont", "s": "sur"}
_ARTICLES = ("le", "la", "les", "l")
_CITIES = {"paris": ("75100", 20), "lyon": ("69380", 9), "marseille": ("13200", 16)}
_ROMAN = {"i": 1, "v": 5, "x": 10}
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_REPEATS = re.compile(r"(.)\1+")
_POSTCODE = re.compile(r"(?<![0-9])(\d{2}) ?(\d{3})(?![0-9])")
_COORDS = (  # "45.76,4.85", "45.76 4.85", "45,76; 4,85"
    re.compile(r"^(-?\d{1,3}\.\d+)\s*[,; ]\s*(-?\d{1,3}\.\d+)$"),
    re.compile(r"^(-?\d{1,3},\d+)\s*[; ]\s*(-?\d{1,3},\d+)$"),
)
_ARRONDISSEMENT = re.compile(  # on normalised text: "lyon 3e", "paris xve", "marseille 1er arrondissement"
    r"^(paris|lyon|marseille) (\d{1,2}|[ivx]+?) ?(?:e|er|ere|eme|ieme|em)?(?: arr| arrondissement)?$"
)


def normalise(text: str) -> str:
    """The comparison form of a name: 'St-Étienne' → 'saint etienne', "L'Isle-d'Abeau" → 'l isle d abeau'."""
    text = text.casefold().replace("œ", "oe").replace("æ", "ae")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")  # accents dropped
    return " ".join(_ABBREVIATIONS.get(t, t) for t in _NOT_ALNUM.sub(" ", text).split())


def _compact(norm: str) -> str:
    return norm.replace(" ", "")


def _squeeze(norm: str) -> str:
    """Without spaces, a doubled letter once: "montpellier" → "montpelier"."""
    return _REPEATS.sub(_first_letter, norm.replace(" ", ""))


def _first_letter(found: re.Match[str]) -> str:
    return found.group(1)  # (a function is faster than the "\1" template)


def _without_article(norm: str) -> str:
    first, _, rest = norm.partition(" ")
    return rest if first in _ARTICLES and rest else norm


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, a)))


@dataclass(frozen=True, slots=True)
class Location:
    query: str
    lat: float | None
    lon: float | None
    commune: str
    code_insee: str
    postcode: str
    precision: str  # one of PRECISIONS

    def as_dict(self) -> dict[str, object]:
        """The `geo locate --json` shape of CONTRACT.md."""
        return {
            "query": self.query,
            "lat": self.lat,
            "lon": self.lon,
            "commune": self.commune,
            "code_insee": self.code_insee,
            "postcode": self.postcode,
            "precision": self.precision,
        }


@dataclass(frozen=True, slots=True)
class Ambiguous:
    """Several communes bear the name: ask for the department. Candidates: most populated first."""

    query: str
    candidates: tuple[Location, ...]


class _Commune(NamedTuple):  # a table row (a named tuple: 37,000 of them are built at load)
    code: str  # its own INSEE code (a former commune's old code)
    name: str
    kind: str  # commune, arrondissement, former
    parent: str  # the city of an arrondissement, the current commune of a former one
    department: str
    population: int
    lat: float
    lon: float
    precision: str
    postcodes: tuple[str, ...]

    def location(self, query: str, postcode: str | None = None) -> Location:
        code = self.parent if self.kind == "former" else self.code
        if postcode is None:
            postcode = self.postcodes[0] if len(self.postcodes) == 1 else ""
        return Location(query, self.lat, self.lon, self.name, code, postcode, self.precision)


class _Postcode(NamedTuple):
    lat: float
    lon: float
    precision: str
    main: str
    communes: tuple[str, ...]


def _nowhere(query: str) -> Location:
    return Location(query, None, None, "", "", "", "none")


_CACHE: dict[Path, Geo] = {}


class Geo:
    """The geography table in memory: `Geo.load()`, then `locate`, `postcode_position`, `nearest_commune`."""

    def __init__(self, table: dict[str, Any]) -> None:
        self.communes: list[_Commune] = []
        self.by_code: dict[str, _Commune] = {}
        self.postcodes: dict[str, _Postcode] = {}
        self.departments: dict[str, tuple[str, str, float, float]] = {}  # code -> name, seat, lat, lon
        self._dept_keys: dict[str, tuple[str, ...]] = {"20": ("2A", "2B"), "corse": ("2A", "2B")}
        for row in table["communes"]:
            code, name, kind, parent, dept, population, lat, lon, precision, codes = row
            commune = _Commune(code, name, kind, parent, dept, population, lat, lon, precision, tuple(codes.split()))
            self.communes.append(commune)
            if commune.kind != "former":
                self.by_code[commune.code] = commune
        for row in table["postcodes"]:
            postcode, lat, lon, precision, main, communes = row
            self.postcodes[postcode] = _Postcode(lat, lon, precision, main, tuple(communes.split()))
        for code, name, seat, lat, lon in table["departments"]:
            self.departments[code] = (name, seat, lat, lon)
            norm = normalise(name)
            for alias in (code.lower(), norm, _without_article(norm)):
                self._dept_keys.setdefault(alias, (code,))

    # Indexes built on first use, to keep `load` fast.
    @cached_property
    def _names(self) -> dict[str, list[int]]:
        """Normalised name -> communes."""
        names: dict[str, list[int]] = {}
        for index, commune in enumerate(self.communes):
            names.setdefault(normalise(commune.name), []).append(index)
            if "(" in commune.name:  # "Bors (Canton de Charente-Sud)": also "Bors"
                names.setdefault(normalise(commune.name.partition("(")[0]), []).append(index)
        return names

    @cached_property
    def _forms(self) -> tuple[dict[str, list[int]], ...]:
        """Looser exact forms of the names: without spaces ("lisledabeau", also what typos are measured on),
        without a leading article ("havre"), without spaces and doubled letters ("montpelier")."""
        compacts: dict[str, list[int]] = {}
        shorts: dict[str, list[int]] = {}
        squeezed: dict[str, list[int]] = {}
        for norm, indices in self._names.items():
            compact = norm.replace(" ", "")
            compacts.setdefault(compact, []).extend(indices)
            shorts.setdefault(_without_article(norm), []).extend(indices)
            squeezed.setdefault(_squeeze(compact), []).extend(indices)
        return compacts, shorts, squeezed

    @cached_property
    def _fuzzy_choices(self) -> list[str]:
        return list(self._forms[0])

    @cached_property
    def _grid(self) -> dict[tuple[int, int], list[int]]:
        """Communes with a position of their own, by grid cell (arrondissements rather than their city)."""
        grid: dict[tuple[int, int], list[int]] = {}
        cities = {c.parent for c in self.communes if c.kind == "arrondissement"}
        for index, c in enumerate(self.communes):
            if c.precision == "commune" and c.kind != "former" and c.code not in cities:
                grid.setdefault(self._cell(c.lat, c.lon), []).append(index)
        return grid

    @classmethod
    def load(cls, path: Path | None = None) -> Geo:
        """The table at `path` (default: the committed one), read once per process."""
        path = (path or DEFAULT_TABLE).resolve()
        if path not in _CACHE:
            _CACHE[path] = cls(json.loads(gzip.decompress(path.read_bytes())))
        return _CACHE[path]

    # ----- public lookups ---------------------------------------------------------------------------------
    def locate(self, query: str) -> Location | Ambiguous:
        """A postcode, a commune name as typed (optionally with its department or postcode), an arrondissement
        ("Lyon 3e", "Paris XVe") or "lat,lon". Unknown: precision "none"."""
        query = " ".join(query.split())
        coords = self._coordinates(query)
        if coords is not None:
            return self._at(query, *coords)
        digits = query.replace(" ", "")
        if re.fullmatch(r"\d{4}", digits) and "0" + digits in self.postcodes:  # "1000" for 01000
            return self.postcode_position("0" + digits, query)
        found = _POSTCODE.search(query)
        if found:
            postcode = found.group(1) + found.group(2)
            rest = normalise(query[: found.start()] + " " + query[found.end() :])
            named = self._in_postcode(query, rest, postcode) if rest else None
            return named or self.postcode_position(postcode, query)
        norm = normalise(query)
        if not norm or len(norm) > MAX_NAME:
            return _nowhere(query)
        return self._arrondissement(query, norm) or self._by_name(query, norm) or _nowhere(query)

    def postcode_position(self, code: str, query: str | None = None) -> Location:
        """The position of a postcode; a code missing from the table (a CEDEX code…) gets its department's."""
        query = code if query is None else query
        code = code.replace(" ", "")
        row = self.postcodes.get(code)
        if row is not None:
            main = self.by_code[row.main]
            return Location(query, row.lat, row.lon, main.name, main.code, code, row.precision)
        dept = code[:2]
        if dept in ("97", "98"):
            dept = code[:3]
        elif dept == "20":  # Corsica: 200xx-201xx Corse-du-Sud, 202xx-206xx Haute-Corse
            dept = "2A" if code < "20200" else "2B"
        if len(code) == 5 and code.isdigit() and dept in self.departments:
            _, seat, lat, lon = self.departments[dept]
            return Location(query, lat, lon, self.by_code[seat].name, seat, code, "department")
        return _nowhere(query)

    def department_of(self, code_insee: str) -> str:
        """The department (or overseas collectivity) code of a commune or arrondissement; "" if unknown."""
        commune = self.by_code.get(code_insee)
        return commune.department if commune else ""

    def nearest_commune(self, lat: float, lon: float) -> Location:
        """The commune (or Paris/Lyon/Marseille arrondissement) with a known position nearest to a point,
        at its own position."""
        return self._nearest(lat, lon)[1].location(f"{lat},{lon}")

    def _nearest(self, lat: float, lon: float) -> tuple[float, _Commune]:
        """Distance (km) and commune: grid cells are searched ring by ring around the point."""
        best: tuple[float, int] | None = None
        row, col = self._cell(lat, lon)
        for r in range(0, 60):
            ring_km = CELL * 111.0 * max(0.05, math.cos(math.radians(min(89.0, abs(lat) + (r + 1) * CELL))))
            cells = [
                (row + dr, col + dc) for dr in range(-r, r + 1) for dc in range(-r, r + 1) if max(abs(dr), abs(dc)) == r
            ]
            for cell in cells:
                for index in self._grid.get(cell, ()):
                    c = self.communes[index]
                    d = distance_km(lat, lon, c.lat, c.lon)
                    if best is None or d < best[0]:
                        best = (d, index)
            if best is not None and best[0] <= r * ring_km:
                break
        else:  # far from everything (mid-ocean): every commune
            indices = (i for cell in self._grid.values() for i in cell)
            best = min((distance_km(lat, lon, self.communes[i].lat, self.communes[i].lon), i) for i in indices)
        assert best is not None
        return best[0], self.communes[best[1]]

    # ----- helpers ---------------------------------------------------------------------------------------------
    @staticmethod
    def _cell(lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / CELL), math.floor(lon / CELL)

    @staticmethod
    def _coordinates(query: str) -> tuple[float, float] | None:
        for pattern in _COORDS:
            found = pattern.match(query)
            if found:
                lat, lon = (float(g.replace(",", ".")) for g in found.groups())
                if -90 <= lat <= 90 and -180 <= lon <= 180:
                    return lat, lon
        return None

    def _at(self, query: str, lat: float, lon: float) -> Location:
        km, near = self._nearest(lat, lon)
        if km > FAR_KM:
            return _nowhere(query)
        return replace(near.location(query), lat=lat, lon=lon, precision="commune")

    def _in_postcode(self, query: str, norm: str, postcode: str) -> Location | None:
        """ "69003 Lyon", "L'Isle-d'Abeau 38080": the commune named, among the postcode's ones."""
        row = self.postcodes.get(postcode)
        if row is None:
            return None
        named = {self._owner(i) for i in self._match(norm, fuzzy=True)} & set(row.communes)
        return self.by_code[named.pop()].location(query, postcode) if len(named) == 1 else None

    def _arrondissement(self, query: str, norm: str) -> Location | None:
        found = _ARRONDISSEMENT.match(norm)
        if not found:
            return None
        base, count = _CITIES[found.group(1)]
        text = found.group(2)
        number = int(text) if text.isdigit() else _roman(text)
        if not 1 <= number <= count:
            return None
        commune = self.by_code.get(str(int(base) + number))
        return commune.location(query) if commune else None

    def _owner(self, index: int) -> str:
        """The current commune (or arrondissement) a table row stands for."""
        c = self.communes[index]
        return c.parent if c.kind == "former" else c.code

    def _match(self, norm: str, *, fuzzy: bool) -> list[int]:
        """Communes whose name is `norm` in one of its exact forms, else (`fuzzy`) with a small typo."""
        if norm.split()[-1:] and norm.split()[-1] in _ARTICLES and " " in norm:  # "Havre (Le)"
            *rest, article = norm.split()
            norm = " ".join([article, *rest])
        if norm in self._names:
            return self._names[norm]
        compacts, shorts, squeezed = self._forms
        for index, form in ((compacts, _compact(norm)), (shorts, norm), (squeezed, _squeeze(norm))):
            if form in index:
                return index[form]
        compact = _compact(norm)
        if not fuzzy or len(compact) < 6:  # shorter words are too often another commune's name with a typo
            return []
        limit = 1 if len(compact) <= 8 else 2 if len(compact) <= 15 else 3
        found = process.extract(compact, self._fuzzy_choices, scorer=OSA.distance, score_cutoff=limit, limit=None)
        found = [f for f in found if f[0][0] == compact[0]]
        if not found:
            return []
        best = min(f[1] for f in found)
        return [i for f in found if f[1] == best for i in compacts[f[0]]]

    def _by_name(self, query: str, norm: str) -> Location | Ambiguous | None:
        tokens = norm.split()
        for fuzzy in (False, True):
            matches = self._match(norm, fuzzy=fuzzy)
            if matches:
                return self._choose(query, matches)
            # A department after the name: "Saint-Denis 93", "Saint-Denis (La Réunion)", "Bors 16".
            for k in range(1, min(4, len(tokens) - 1) + 1):
                depts = self._dept_keys.get(" ".join(tokens[-k:]), ())
                named = self._match(" ".join(tokens[:-k]), fuzzy=fuzzy) if depts else []
                if named:
                    inside = [i for i in named if self.communes[i].department in depts]
                    return self._choose(query, inside or named)
        return None

    def _choose(self, query: str, indices: list[int]) -> Location | Ambiguous:
        seen: dict[tuple[str, str], _Commune] = {}
        for i in indices:
            c = self.communes[i]
            seen.setdefault((self._owner(i), normalise(c.name)), c)
        found = sorted(seen.values(), key=lambda c: (-c.population, c.kind == "former", c.department, c.name))
        if len(found) == 1:
            return found[0].location(query)
        return Ambiguous(query, tuple(c.location(query) for c in found))


def _roman(text: str) -> int:
    """I..XX (arrondissement numbers); 0 when not a roman numeral."""
    values = [_ROMAN.get(ch, 0) for ch in text]
    if 0 in values:
        return 0
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))
