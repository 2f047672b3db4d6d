"""`python -m bot catalogue import|stats`: what the commands do and print (bot/cli.py parses the arguments).

`catalogue import FILE… [--source NAME] [--dry-run] [--json]`:
- every file is read before anything is written; a file that cannot be read at all stops the command (exit 1);
- without --source each file is its own source, named after the file (its name without extension); with
  --source all the files form one import of that source;
- places of the source absent from the import are retired (kept, flagged, never recommended);
- counts (CONTRACT.md): `rows` with data, `imported` rows giving an id new to the database, `updated` rows
  whose id was already stored or met earlier in the import (whether or not anything changed: a second import
  of the same file gives 0 imported, N updated, and leaves the database as it was), `skipped` rows refused;
  imported + updated + skipped == rows. Each error is {"row", "field", "message", "file"}.
- --dry-run does the same work and rolls it back; with no database file yet, it does not create one (every
  accepted row then counts as imported).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.places.catalogue.importer import ImportBatch, Placer, read_import
from bot.storage import PlaceImportCounts, PlaceStats, Storage


@dataclass(slots=True)
class ImportSummary:
    batches: list[tuple[ImportBatch, PlaceImportCounts]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(batch.rows for batch, _ in self.batches)

    @property
    def imported(self) -> int:
        return sum(counts.inserted for _, counts in self.batches)

    @property
    def updated(self) -> int:
        return sum(batch.accepted - counts.inserted for batch, counts in self.batches)

    @property
    def skipped(self) -> int:
        return sum(batch.skipped for batch, _ in self.batches)

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "imported": self.imported,
            "updated": self.updated,
            "skipped": self.skipped,
            "errors": [p.to_json() for batch, _ in self.batches for p in batch.problems],
        }


def _database_exists(url: str) -> bool:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return True  # a server database, or one that vanishes with the process: nothing to spare
    return Path(parsed.database).exists()


async def run_import(
    settings: Settings,
    paths: list[Path],
    *,
    source: str | None,
    dry_run: bool,
    placer: Placer | None = None,
) -> ImportSummary:
    """Read every file, then write each source's import in its own transaction."""
    groups: dict[str, list[Path]] = {}
    for path in paths:  # files of the same name (a/x.csv, b/x.json) are one source: neither retires the other
        groups.setdefault(source or path.stem, []).append(path)
    batches = [read_import(group, source=name, placer=placer) for name, group in groups.items()]
    summary = ImportSummary()
    if dry_run and not _database_exists(settings.database_url):
        for batch in batches:
            summary.batches.append((batch, PlaceImportCounts(inserted=len(batch.places))))
        return summary
    storage = await Storage.open(settings.database_url)
    try:
        return await import_batches(storage, batches, dry_run=dry_run)
    finally:
        await storage.close()


async def import_batches(storage: Storage, batches: list[ImportBatch], *, dry_run: bool = False) -> ImportSummary:
    """Write each batch (one source each) in its own transaction."""
    summary = ImportSummary()
    for batch in batches:
        counts = await storage.import_places(batch.source, list(batch.places.values()), dry_run=dry_run)
        summary.batches.append((batch, counts))
    return summary


def print_import(
    summary: ImportSummary, *, as_json: bool, dry_run: bool, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> None:
    if as_json:
        print(json.dumps(summary.to_json(), ensure_ascii=False, indent=2), file=out)
    else:
        for batch, _ in summary.batches:
            for problem in batch.problems:
                print(problem, file=out)
    verb = "would be" if dry_run else "were"
    for batch, counts in summary.batches:
        ignored = sorted({c for f in batch.files for c in f.ignored_columns})
        if ignored:
            print(f"{batch.source}: columns outside the standard, ignored: {', '.join(ignored)}", file=err)
        if counts.retired:
            print(
                f"{batch.source}: {counts.retired} place(s) absent from this import {verb} retired (kept, "
                "never recommended)",
                file=err,
            )
        if not batch.places and batch.rows:
            print(f"{batch.source}: no row accepted, so no place of this source {verb} retired", file=err)
    if not as_json:
        problems = sum(len(batch.problems) for batch, _ in summary.batches)
        prefix = "dry run, nothing written: " if dry_run else ""
        print(
            f"{prefix}{summary.rows} row(s): {summary.imported} imported, {summary.updated} updated, "
            f"{summary.skipped} skipped; {problems} problem(s)",
            file=err,
        )


async def run_stats(settings: Settings) -> PlaceStats:
    storage = await Storage.open(settings.database_url)
    try:
        return await storage.place_stats()
    finally:
        await storage.close()


def print_stats(stats: PlaceStats, *, as_json: bool, out: TextIO = sys.stdout) -> None:
    if as_json:
        print(json.dumps(stats.to_json(), ensure_ascii=False, indent=2), file=out)
        return
    width = max([len("source"), *(len(s.source) for s in stats.sources)])
    print(f"{'source':<{width}}  places  retired  without services  without coordinates", file=out)
    for s in stats.sources:
        print(
            f"{s.source:<{width}}  {s.places:>6}  {s.retired:>7}  {s.without_services:>16}  "
            f"{s.without_coordinates:>19}",
            file=out,
        )
    precision = ", ".join(f"{name} {count}" for name, count in stats.by_precision.items()) or "-"
    print(
        f"{stats.places} place(s), {stats.retired} retired, {stats.recommendable} recommendable "
        f"(active, with services and coordinates); positions: {precision}",
        file=out,
    )
