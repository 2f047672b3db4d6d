"""Catalogue import benchmark: reading + checking a file in the national standard, then writing it to SQLite.

    .venv/bin/python benchmarks/catalogue_import.py [--rows 20000] [--rounds 3]

Inputs: the real PACA file (646 rows, JSON, ../shared/data/), and the same rows replicated with new ids up to
--rows, written once as JSON and once as a v1 CSV (the importer's own export). Each input is imported into a
fresh SQLite file (first import: every place inserted), then imported again unchanged (0 written), then with
every tenth place changed and a tenth left out (updates + retirements). The median of --rounds rounds is shown.
Goal (catalogue issue): 20,000 rows in under 10 s, database write included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.places.catalogue.export import export_v1_csv  # noqa: E402
from bot.places.catalogue.importer import read_import  # noqa: E402
from bot.storage import Storage  # noqa: E402

PACA = ROOT.parent / "shared" / "data" / "anct_client_paca-hub-du-sud_2023-05-17_rev2024-09-12.json"


def scaled(rows: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    return [{**rows[n % len(rows)], "id": f"{rows[n % len(rows)]['id']}-{n // len(rows)}"} for n in range(count)]


async def one_round(path: Path, tmp: Path) -> dict[str, float]:
    """Seconds for: read+check, first write, whole first import, unchanged re-import, re-import with changes."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    batch = read_import([path], source="bench")
    timings["read"] = time.perf_counter() - start
    database = tmp / f"bench-{time.monotonic_ns()}.db"
    storage = await Storage.open(f"sqlite+aiosqlite:///{database}")
    try:
        places = list(batch.places.values())
        start = time.perf_counter()
        first = await storage.import_places("bench", places)
        timings["write"] = time.perf_counter() - start
        assert first.inserted == len(places)
        timings["import"] = timings["read"] + timings["write"]
        start = time.perf_counter()
        again = read_import([path], source="bench")
        same = await storage.import_places("bench", list(again.places.values()))
        timings["reimport"] = time.perf_counter() - start
        assert same.unchanged == len(places)
        changed = [p for n, p in enumerate(places) if n % 10 != 5]
        changed = [p if n % 10 else type(p)(**{**p.to_json(), "nom": p.nom + " (bis)"}) for n, p in
                   enumerate(changed)]
        start = time.perf_counter()
        delta = await storage.import_places("bench", changed)
        timings["delta"] = time.perf_counter() - start
        assert delta.retired > 0
        assert delta.updated > 0
    finally:
        await storage.close()
    return timings


def median(rounds: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = json.loads(PACA.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="passerelle-bench-") as folder:
        tmp = Path(folder)
        big_json = tmp / "scaled.json"
        big_json.write_text(json.dumps(scaled(rows, args.rows), ensure_ascii=False), encoding="utf-8")
        big_csv = tmp / "scaled.csv"
        export_v1_csv(read_import([big_json], source="bench").places.values(), big_csv)
        inputs: list[tuple[str, Path, int]] = [
            ("PACA, JSON", PACA, len(rows)),
            (f"PACA x{args.rows / len(rows):.0f}, JSON", big_json, args.rows),
            (f"PACA x{args.rows / len(rows):.0f}, v1 CSV", big_csv, args.rows),
        ]
        runner: Callable[[Path], dict[str, float]] = lambda path: asyncio.run(one_round(path, tmp))  # noqa: E731
        results = {name: [runner(path) for _ in range(args.rounds)] for name, path, _ in inputs}
    print(f"median of {args.rounds} rounds, seconds; SQLite file, WAL")
    header = f"{'input':<22} {'rows':>6} {'read+check':>10} {'DB write':>9} {'import':>7} {'rows/s':>7} " \
             f"{'re-import same':>14} {'re-import 10% changed':>21}"
    print(header)
    print("-" * len(header))
    for name, _, count in inputs:
        rounds = results[name]
        total = median(rounds, "import")
        print(f"{name:<22} {count:>6} {median(rounds, 'read'):>10.3f} {median(rounds, 'write'):>9.3f} "
              f"{total:>7.3f} {count / total:>7.0f} {median(rounds, 'reimport'):>14.3f} "
              f"{median(rounds, 'delta'):>21.3f}")


if __name__ == "__main__":
    main()
