"""Catalogue benchmark: import time for 20,000 places, and PlaceIndex.search latency at 1,000, 20,000 and
200,000 places.

    .venv/bin/python benchmarks/catalogue_search.py [--sizes 1000 20000 200000] [--queries 2000] [--limit 4] [--seed 7]

The places are the real rows of the ANCT / La MedNum files in ../shared/data (Licence Ouverte 2.0,
"Source : ANCT / La MedNum"), read here minimally (v1 names, lists split on `|`; the importer proper lives
in bot/places/catalogue/importer.py), then scaled up: each copy of a row is moved by a random offset of up to
about 15 km, so the density follows the real one (dense around Marseille, sparse in rural Charente).

Queries: 90 % start near a real place (up to about 10 km away), 10 % anywhere in a box around mainland France
(often empty surroundings: the radius then widens up to 50 km, the slow path). Each query gets one of the
seven personas of flows/personas.yaml and a random mobility; `now` is fixed. The timing covers the whole
search: candidate scan, scoring, ordering, opening hours and reasons of the returned offers.
The import row runs one import of 20,000 rows (the PACA file replicated with new ids) into a SQLite file,
as `catalogue import` does; benchmarks/catalogue_import.py has the details (CSV, re-imports, rounds).
Goals (issue #3): 20,000 places imported in under 10 s; search p99 < 2 ms at 20,000 places.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.clock import PARIS  # noqa: E402
from bot.language.personas import load_personas  # noqa: E402
from bot.places.catalogue.model import LIST_FIELDS, Place  # noqa: E402
from bot.places.catalogue.search import PlaceIndex  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
FILES = (
    "anct_client_paca-hub-du-sud_2023-05-17_rev2024-09-12.json",
    "anct_client_charente_2023-07-11_rev2024-09-12.json",
    "anct_client_nouvelle-caledonie_2024-03-20_rev2024-09-12.json",
)
TEXT_FIELDS = ("commune", "code_postal", "adresse", "code_insee", "complement_adresse", "horaires", "typologie")


def _list(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(part.strip() for part in str(value).split("|") if part.strip())


def real_places() -> list[Place]:
    """The rows of the real files as Places (minimal mapping; rows without a position are kept, as in life)."""
    places = []
    for name in FILES:
        for row in json.loads((DATA / name).read_text(encoding="utf-8")):
            values: dict[str, Any] = {f: str(row.get(f) or "") for f in TEXT_FIELDS}
            values.update({f: _list(row.get(f)) for f in LIST_FIELDS})
            if "Seniors (+ 65 ans)" in str(row.get("publics_accueillis") or ""):  # v0 leftover column
                values["publics_specifiquement_adresses"] += ("Seniors",)
            lat, lon = row.get("latitude"), row.get("longitude")
            places.append(
                Place(
                    id=str(row["id"]),
                    source=str(row.get("source") or name),
                    nom=str(row.get("nom") or ""),
                    latitude=float(lat) if lat is not None else None,
                    longitude=float(lon) if lon is not None else None,
                    telephone=str(row.get("telephone") or ""),
                    **values,
                )
            )
    return places


def scaled(base: list[Place], size: int, rng: random.Random) -> list[Place]:
    """`size` places: the real rows, then jittered copies of them."""
    placed = [p for p in base if p.recommendable]
    out = list(base[:size])
    copy = 0
    while len(out) < size:
        copy += 1
        for place in placed:
            if len(out) >= size:
                break
            assert place.latitude is not None
            assert place.longitude is not None
            out.append(
                Place(
                    **{
                        **{k: getattr(place, k) for k in Place.__dataclass_fields__},
                        "id": f"{place.id}~{copy}",
                        "latitude": place.latitude + rng.uniform(-0.14, 0.14),
                        "longitude": place.longitude + rng.uniform(-0.19, 0.19),
                    }
                )
            )
    return out


def queries(base: list[Place], count: int, rng: random.Random) -> list[tuple[float, float]]:
    placed = [p for p in base if p.recommendable]
    out = []
    for _ in range(count):
        if rng.random() < 0.9:
            place = rng.choice(placed)
            assert place.latitude is not None
            assert place.longitude is not None
            out.append((place.latitude + rng.uniform(-0.09, 0.09), place.longitude + rng.uniform(-0.12, 0.12)))
        else:
            out.append((rng.uniform(42.5, 50.5), rng.uniform(-4.5, 7.5)))
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def import_seconds(rows: int) -> float:
    """One import of `rows` places (read, check, write) into a fresh SQLite file."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from catalogue_import import PACA, one_round
    from catalogue_import import scaled as scaled_rows

    with tempfile.TemporaryDirectory(prefix="passerelle-bench-") as folder:
        big = Path(folder) / "scaled.json"
        big.write_text(json.dumps(scaled_rows(json.loads(PACA.read_text(encoding="utf-8")), rows)), encoding="utf-8")
        return asyncio.run(one_round(big, Path(folder)))["import"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 20000, 200000])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=4, help="offers asked per search (the dialogue asks 4)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    print(f"import of 20,000 places into SQLite: {import_seconds(20_000):.2f} s (goal: under 10 s)")
    rng = random.Random(args.seed)
    base = real_places()
    personas = list(load_personas(ROOT / "flows" / "personas.yaml").personas.values())
    now = datetime(2025, 3, 11, 10, 30, tzinfo=PARIS)
    print(f"{len(base)} real rows ({sum(p.recommendable for p in base)} recommendable) from {len(FILES)} files")
    print(f"{'places':>8} {'indexed':>8} {'build s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'offers':>7} {'widened':>8}")
    for size in args.sizes:
        places = scaled(base, size, rng)
        gc.collect()
        started = time.perf_counter()
        index = PlaceIndex(places)
        build = time.perf_counter() - started
        points = queries(base, args.queries, rng)
        plans = [(lat, lon, personas[i % len(personas)], {"mobility": rng.choice(["easy", "difficult"])})
                 for i, (lat, lon) in enumerate(points)]
        for lat, lon, persona, answers in plans[:200]:  # warm-up (hours cache, code paths)
            index.search(lat, lon, persona, answers, args.limit, now)
        latencies: list[float] = []
        found: list[int] = []
        widened = 0
        gc.disable()
        try:
            for lat, lon, persona, answers in plans:
                started = time.perf_counter()
                offers = index.search(lat, lon, persona, answers, args.limit, now)
                latencies.append((time.perf_counter() - started) * 1000)
                found.append(len(offers))
                widened += bool(offers) and "rien à moins" in offers[0].reasons[-1]
        finally:
            gc.enable()
        print(f"{size:>8,} {len(index):>8,} {build:>8.2f} {statistics.median(latencies):>8.3f} "
              f"{pct(latencies, 0.90):>8.3f} {pct(latencies, 0.99):>8.3f} {max(latencies):>8.3f} "
              f"{statistics.mean(found):>7.2f} {widened / len(plans):>7.0%}")


if __name__ == "__main__":
    main()
