"""Reading files in the national standard: CSV or JSON, v1.0.x or v0.1.x → Places, with every problem.

- CSV: UTF-8 with or without BOM; comma separated (a semicolon or tab header is recognised too). Rows are
  numbered as a spreadsheet shows them: the header is row 1, the first place row 2 (the same as the line
  number unless a quoted value spans several lines).
- JSON: an array of objects (as ANCT publishes them); rows are numbered from 1 in the array.
- The version is told by the columns: any column that only v1 has → v1 ("|" lists); else any column that only
  v0.1 has → v0.1 (";" lists, older names and values, mapped to v1); else v1.
- Unknown columns are ignored (listed in `ParsedFile.ignored_columns`).
- A later row with the same `id` (in the file or in another file of the same import) replaces the earlier one.

Nothing here touches the database: `read_import` gives the places and the counts of the file; Storage
decides what is new, changed or retired.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.core.errors import CatalogueError
from bot.language.standard import ASSISTANCE_COLUMN, V0_ONLY_COLUMNS, V1_FIELDS, V1_ONLY_COLUMNS
from bot.places.catalogue.model import Place
from bot.places.catalogue.rows import Placer, RowContext, RowProblem, build_place

__all__ = ["ImportBatch", "ParsedFile", "Placer", "RowProblem", "read_file", "read_import"]

_KNOWN_COLUMNS = frozenset(V1_FIELDS) | V0_ONLY_COLUMNS | {ASSISTANCE_COLUMN}
_CELL_LIMIT = 10_000_000  # characters: csv's default (131,072) is too small for some detailed presentations


@dataclass(slots=True)
class ParsedFile:
    """One file read: its places in file order (with their row numbers), and what went wrong."""

    path: Path
    version: str  # "1" or "0.1"
    kind: str  # "csv" or "json"
    rows: int = 0  # rows holding data (blank CSV lines are not rows)
    places: list[tuple[int, Place]] = field(default_factory=list)
    skipped: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ImportBatch:
    """The files of one import under one source name: the places by id (a later row wins), in first-seen
    order, and the counts of rows."""

    source: str
    files: list[ParsedFile]
    places: dict[str, Place]

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def skipped(self) -> int:
        return sum(f.skipped for f in self.files)

    @property
    def accepted(self) -> int:
        """Rows that gave a place (several of them may describe the same id)."""
        return self.rows - self.skipped

    @property
    def problems(self) -> list[RowProblem]:
        return [p for f in self.files for p in f.problems]


def read_import(paths: Sequence[Path], *, source: str, placer: Placer | None = None) -> ImportBatch:
    """Read the files of one import. Raises CatalogueError for a file that cannot be read at all."""
    files = [read_file(path, source=source, placer=placer) for path in paths]
    places: dict[str, Place] = {}
    first_row: dict[str, tuple[str, int]] = {}
    for parsed in files:
        for row, place in parsed.places:
            if place.id in first_row:
                file, earlier = first_row[place.id]
                where = f"row {earlier}" if file == str(parsed.path) else f"{file} row {earlier}"
                parsed.problems.append(
                    RowProblem(str(parsed.path), row, "id", f"same id as {where}: this row replaces it")
                )
            first_row[place.id] = (str(parsed.path), row)
            places[place.id] = place
    return ImportBatch(source, files, places)


def read_file(path: Path, *, source: str, placer: Placer | None = None) -> ParsedFile:
    """One file → its places and problems, in file order."""
    kind, records = _records(path)
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(record.cells or ()))
    if records and not columns.keys() & {"id", "nom"}:
        raise CatalogueError(
            f"{path}: no `id` or `nom` column: is it a file in the standard « lieux de médiation numérique »?"
        )
    version = "1" if columns.keys() & V1_ONLY_COLUMNS or not columns.keys() & V0_ONLY_COLUMNS else "0.1"
    parsed = ParsedFile(path, version, kind, ignored_columns=sorted(c for c in columns if c not in _KNOWN_COLUMNS))
    for record in records:
        parsed.rows += 1
        if record.note:
            parsed.problems.append(RowProblem(str(path), record.row, "", record.note))
        if record.cells is None:
            parsed.skipped += 1
            continue
        ctx = RowContext(str(path), record.row, version, source, placer, parsed.problems)
        place = build_place(record.cells, ctx)
        if place is None:
            parsed.skipped += 1
        else:
            parsed.places.append((record.row, place))
    return parsed


@dataclass(frozen=True, slots=True)
class _Record:
    row: int
    cells: dict[str, Any] | None  # by lower-case column name; None: not a place at all (skipped)
    note: str = ""  # a problem of the row's shape


def _records(path: Path) -> tuple[str, list[_Record]]:
    """("csv" | "json", the records in file order)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogueError(
            f"{path}: not UTF-8 (byte {exc.start}): save it again as « CSV UTF-8 » or UTF-8 JSON"
        ) from None
    looks_json = text.lstrip()[:1] in ("[", "{")
    if path.suffix.lower() == ".json" or (path.suffix.lower() != ".csv" and looks_json):
        return "json", _json_records(path, text)
    try:
        return "csv", list(_csv_records(text))
    except csv.Error as exc:  # a value of more than _CELL_LIMIT characters: no spreadsheet writes one
        raise CatalogueError(f"{path}: not a CSV file that can be read ({exc})") from None


def _json_records(path: Path, text: str) -> list[_Record]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogueError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, list):
        raise CatalogueError(f"{path}: expected a JSON array of places, found a {type(data).__name__}")
    return [
        _Record(number, {str(k).strip().lower(): v for k, v in item.items()})
        if isinstance(item, dict)
        else _Record(number, None, "not a JSON object: row skipped")
        for number, item in enumerate(data, start=1)
    ]


def _csv_records(text: str) -> Iterator[_Record]:
    csv.field_size_limit(max(csv.field_size_limit(), _CELL_LIMIT))
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        return
    names = [name.strip().lower() for name in header]
    for number, values in enumerate(reader, start=2):
        if not any(value.strip() for value in values):
            continue  # a blank line is not a row
        cells: dict[str, Any] = {}
        for name, value in zip(names, values, strict=False):
            if name and name not in cells:
                cells[name] = value
        note = ""
        if any(value.strip() for value in values[len(names) :]):
            note = (
                f"{len(values)} values for {len(names)} columns (a quote or separator too many?): the extra "
                "values are ignored"
            )
        yield _Record(number, cells, note)
