"""The import of offer files (`python -m bot catalogue import`), fed random CSV built from the real headers of
/work/shared/data (v1.0.x and v0.1.1): columns in any order, some missing, doubled or unknown; cells kept from
the official example, emptied, or replaced by garbage (quotes, separators, line breaks, control characters,
numbers out of range, huge texts); a BOM or not, comma, semicolon or tab separators, and a header whose
separator is not the rows'. Also JSON arrays of such rows.

Properties: never an exception but the project's CatalogueError for a file that cannot be read at all; the
counts add up (`rows == imported + updated + skipped`, the JSON shape of CONTRACT.md); every skipped row, and
every value known to be bad in a kept row, appears in `errors` with its row and field; what is stored is clean
(coordinates in range, postcodes of five digits, no control characters), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import json
import math
import re
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.errors import CatalogueError
from bot.language.standard import PHONE
from bot.places.catalogue.importer import _KNOWN_COLUMNS, read_import
from bot.places.geo import Geo
from bot.places.locations import GeoLocations
from bot.storage import Storage
from bot.tools.catalogue import import_batches
from tests.conftest import SHARED
from tests.support.fuzzing import FUZZ, junk_text
from tests.test_cli import run_bot

DATA = SHARED / "data"


def example(name: str) -> dict[str, str]:
    """The official one-row example of a version: its header and values, in order."""
    with (DATA / name).open(encoding="utf-8", newline="") as file:
        header, values = list(csv.reader(file))[:2]
    return dict(zip(header, values, strict=True))


EXAMPLES = {"1": example("lamednum_exemple-valide_v1.0.x.csv"), "0.1": example("lamednum_exemple-valide_v0.1.1.csv")}

# Values that are wrong for one column, and must be reported with that column when the row is kept.
BAD: dict[str, list[str]] = {
    "code_postal": ["ABCDE", "123456", "6900 0 0", "69-003"],
    "latitude": ["abc", "91", "-90.5", "NaN", "inf", "1e400", "45.76.1"],
    "longitude": ["abc", "181", "-1e309", "nan"],
    "telephone": ["abc", "12", "+1 202 555 0143", "0000"],
    "date_maj": ["2024-13-45", "hier", "31/02/20244", "2024-00-10"],
    "services": ["Pas un service du standard"],
    "courriels": ["pas-une-adresse", "a@b"],
    "courriel": ["pas-une-adresse"],
    "pivot": ["123", "!!!!!!!!!!!!!!"],
}
# Values that look plausible but are edge cases: no report expected either way, only no crash.
ODD = ["0", "-0", "00000", "0,0", "45,76", "1970-01-01", "00000000000000", "|", ";", "||;;", " ", "\t", "NULL",
       "None", "null", "true", "=1+1", "@SUM(A1)", "+33 6 12 34 56 78", "2A004", "97411", "98800", "🙂",
       "Mo-Fr 09:00-12:00; Sa 25:00-26:00", "x" * 300, "é" * 2000]  # fmt: skip
CONTROL = st.text(st.characters(min_codepoint=0, max_codepoint=0x1F), min_size=1, max_size=3)


FILE_NUMBERS = itertools.count()


@dataclass(frozen=True, slots=True)
class Written:
    """A generated file, and what the generator knows of it."""

    path: Path
    version: str
    rows: list[dict[str, str]]  # the data rows as written (blank rows included)
    bad: list[tuple[int, str]]  # (row number as the importer counts it, column) of each known-bad value
    consistent: bool  # one separator throughout: the importer sees the rows as written


@functools.cache
def cell(version: str, column: str) -> st.SearchStrategy[tuple[str, str]]:
    """One value of a column, and how it was made: the example's, empty, known-bad, odd or junk (cached: building
    strategies anew for each row would take most of the test's time)."""
    known = EXAMPLES[version].get(column, "x")
    choices = [
        st.just((known, "example")),
        st.just((known, "example")),
        st.just(("", "empty")),
        st.sampled_from(ODD).map(lambda v: (v, "odd")),
        junk_text(40).map(lambda v: (v, "junk")),
        CONTROL.map(lambda c: (known + c, "junk")),
    ]
    if column in BAD:
        choices.append(st.sampled_from(BAD[column]).map(lambda v: (v, "bad")))
    return st.one_of(choices)


def cells(version: str, columns: list[str]) -> st.SearchStrategy[dict[str, tuple[str, str]]]:
    """One row: each column's (value, how it was made)."""
    return st.fixed_dictionaries({column: cell(version, column) for column in columns})


@st.composite
def csv_files(draw: st.DrawFn, folder: Path) -> Written:
    """A CSV file in the national standard, broken at random (see the module's docstring)."""
    version = draw(st.sampled_from(sorted(EXAMPLES)), label="version")
    header = list(EXAMPLES[version])
    columns = draw(st.permutations(header), label="order")
    columns = [c for c in columns if draw(st.integers(0, 9), label="drop") > 0]  # one column in ten missing
    if draw(st.booleans(), label="essentials"):  # most files have them: rows get further into the checks
        columns = [c for c in ("id", "nom", "commune") if c not in columns] + columns
    columns += draw(st.lists(st.sampled_from(["colonne_inconnue", "id", "NOM ", " Latitude", ""]), max_size=2))
    count = draw(st.integers(1, 6), label="rows")
    unique = next(FILE_NUMBERS)  # ids of their own: files do not replace each other's places
    rows: list[dict[str, str]] = []
    made: list[dict[str, str]] = []
    for index in range(count):
        drawn = draw(cells(version, sorted(set(columns))), label="row")
        row = {c: drawn[c][0] for c in columns}
        if row.get("id") and drawn["id"][1] == "example":
            row["id"] = f"fuzz-{unique}-{index % 4}"  # a few ids repeat: later rows replace earlier ones
        rows.append(row)
        made.append({c: drawn[c][1] for c in columns})
    delimiter = draw(st.sampled_from([",", ";", "\t"]), label="separator")
    header_delimiter = draw(st.sampled_from([delimiter, delimiter, ","]), label="header separator")
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=header_delimiter, lineterminator="\n").writerow(columns)
    body = io.StringIO()
    # As spreadsheets write it: a value holding a line break (a lone "\r" too) is quoted, so it stays one value.
    ending = draw(st.sampled_from(["\n", "\r\n"]), label="line ending")
    quoting = csv.QUOTE_ALL if ending == "\n" else csv.QUOTE_MINIMAL
    writer = csv.writer(body, delimiter=delimiter, lineterminator=ending, quoting=quoting)
    for row in rows:
        writer.writerow([row[c] for c in columns])
    text = ("\ufeff" if draw(st.booleans(), label="BOM") else "") + buffer.getvalue() + body.getvalue()
    path = folder / "lieux.csv"
    path.write_text(text, encoding="utf-8", newline="")
    # Row numbers as the importer counts them: the header is 1, then one per record (blank ones included).
    bad = [
        (index + 2, column)
        for index, kinds in enumerate(made)
        for column, kind in kinds.items()
        if kind == "bad" and columns.count(column) == 1
    ]
    consistent = header_delimiter == delimiter and len(columns) == len(set(columns))
    return Written(path, version, rows, bad, consistent)


def blank(row: dict[str, str]) -> bool:
    return not any(value.strip() for value in row.values())


def check_batch(written: Written, batch: Any) -> None:
    """What read_import must give for the file, whatever it holds."""
    assert batch.rows == batch.accepted + batch.skipped
    if written.consistent:
        assert batch.rows == sum(not blank(row) for row in written.rows)
    problems = batch.problems
    for problem in problems:
        assert problem.message.strip(), problem
        assert problem.field in _KNOWN_COLUMNS or problem.field == "", problem
        # With another separator in the header, quotes are misread and line breaks in values can start rows.
        assert 2 <= problem.row <= len(written.rows) + 1 or not written.consistent, problem
    kept_rows = {row for parsed in batch.files for row, _place in parsed.places}
    if written.consistent:
        reported = {problem.row for problem in problems if problem.field in ("id", "nom", "commune", "")}
        for index, row in enumerate(written.rows):
            number = index + 2
            if not blank(row) and number not in kept_rows:
                assert number in reported, (number, row, [str(p) for p in problems])  # each skipped row says why
        found = {(problem.row, problem.field) for problem in problems}
        for number, column in written.bad:
            if number in kept_rows:
                assert (number, column) in found, (number, column, [str(p) for p in problems if p.row == number])
    for place in batch.places.values():
        check_place(place)


CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_place(place: Any) -> None:
    assert place.id.strip()
    assert place.nom.strip()
    assert place.latitude is None or (math.isfinite(place.latitude) and -90 <= place.latitude <= 90)
    assert place.longitude is None or (math.isfinite(place.longitude) and -180 <= place.longitude <= 180)
    assert place.code_postal == "" or re.fullmatch(r"\d{5}", place.code_postal)
    assert place.telephone == "" or PHONE.match(place.telephone)
    for name in ("id", "nom", "commune", "adresse", "telephone", "horaires", "presentation_resume", "source"):
        value = getattr(place, name)
        assert not CONTROL_CHARACTER.search(value), (name, value)


@functools.cache
def placer() -> Any:
    return GeoLocations(Geo.load()).place


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-import-") as name:
        yield Path(name)


@pytest.fixture
async def storage(database_url: str) -> AsyncIterator[Storage]:
    opened = await Storage.open(database_url)
    yield opened
    await opened.close()


@settings(FUZZ, max_examples=150)
@given(data=st.data())
def test_random_csv_files_are_read_without_a_crash(folder: Path, data: st.DataObject) -> None:
    """Random CSV files built from the real headers (see the module's docstring): read without any exception but
    CatalogueError when no `id` nor `nom` column is left; counts add up; each skipped row, and each known-bad
    value of a kept row, is in the errors with its row and field; the places are clean."""
    written = data.draw(csv_files(folder), label="file")
    try:
        batch = read_import([written.path], source="fuzz", placer=placer())
    except CatalogueError as exc:
        refused = str(exc)
    else:
        check_batch(written, batch)
        return
    columns = {name.strip().lower() for name in written.rows[0]}
    assert not columns & {"id", "nom"} or not written.consistent, refused


@settings(FUZZ, max_examples=8)
@given(data=st.data())
async def test_random_csv_files_imported_into_the_database(folder: Path, storage: Storage, data: st.DataObject) -> None:
    """Random CSV files imported as `catalogue import --json` does, on SQLite and PostgreSQL (which refuses NUL
    characters): the JSON summary has the contract's shape, its counts add up, and the database holds exactly
    the accepted places of the source."""
    written = data.draw(csv_files(folder), label="file")
    try:
        batch = read_import([written.path], source=f"fuzz-{id(written)}", placer=placer())
    except CatalogueError:
        return
    summary = await import_batches(storage, [batch])
    shown = summary.to_json()
    assert set(shown) == {"rows", "imported", "updated", "skipped", "errors"}
    assert shown["rows"] == shown["imported"] + shown["updated"] + shown["skipped"]
    assert all({"row", "field", "message"} <= set(error) for error in shown["errors"])
    stored = {place.id: place for place in await storage.load_places() if place.id in batch.places}
    assert set(stored) == set(batch.places)
    for place in stored.values():
        check_place(place)


@settings(FUZZ, max_examples=40)
@given(rows=st.lists(st.one_of(st.dictionaries(st.sampled_from(sorted(EXAMPLES["1"])), st.one_of(
    junk_text(30), st.sampled_from(ODD), st.floats(), st.integers(-(2**70), 2**70), st.none(), st.booleans(),
    st.lists(junk_text(10), max_size=3), st.dictionaries(junk_text(5), junk_text(5), max_size=2))),
    st.integers(), st.none(), junk_text(10), st.lists(st.integers(), max_size=2)), max_size=6))  # fmt: skip
def test_random_json_rows_are_read_without_a_crash(folder: Path, rows: list[Any]) -> None:
    """A JSON array of anything (objects with values of every JSON type, numbers, null, texts, arrays): read
    without any exception but CatalogueError when no object has an `id` or `nom`; counts add up; the places are
    clean."""
    path = folder / "lieux.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    try:
        batch = read_import([path], source="fuzz", placer=placer())
    except CatalogueError:
        batch = None
    if batch is None:
        assert not any(isinstance(row, dict) and row.keys() & {"id", "nom"} for row in rows)
        return
    assert batch.rows == len(rows) == batch.accepted + batch.skipped
    for place in batch.places.values():
        check_place(place)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("id,nom,commune\n1," + "x" * 10_000_001 + ",Lyon\n", id="a cell over 10 million characters"),
        pytest.param("id,nom,commune\n1,\x00\x00,Lyon\n2,Lieu\x00,Ly\x00on\n", id="NUL characters"),
        pytest.param('id,nom,commune\n1,"Lieu,Lyon\n2,Autre,Lyon\n', id="a quote never closed"),
        pytest.param("\ufeff\ufeffid;nom;commune\r\n1;Lieu;Lyon\r\n", id="two BOMs"),
        pytest.param("\x00" * 100, id="only NUL"),
    ],
)
def test_files_that_are_hardly_csv(folder: Path, text: str) -> None:
    """Files no spreadsheet writes: read without any exception but CatalogueError (the whole file refused, with
    its name), never storing a control character."""
    path = folder / "etrange.csv"
    path.write_text(text, encoding="utf-8", newline="")
    try:
        batch = read_import([path], source="fuzz")
    except CatalogueError as exc:
        refused = str(exc)
    else:
        assert batch.rows == batch.accepted + batch.skipped
        for place in batch.places.values():
            check_place(place)
        return
    assert str(path) in refused
    assert "10000000" in refused  # only the huge value refuses the whole file


def test_the_command_prints_the_contract_json_for_a_broken_file(tmp_path: Path) -> None:
    """`python -m bot catalogue import FILE --json` on a file with every kind of bad row: exit 0, the JSON of
    CONTRACT.md, counts that add up, each error with its row and field."""
    rows = [
        {**EXAMPLES["1"], "id": "a"},
        {**EXAMPLES["1"], "id": "", "nom": ""},
        {**EXAMPLES["1"], "id": "c", "latitude": "1e400", "code_postal": "ABCDE", "telephone": "12"},
        {**EXAMPLES["1"], "id": "d", "commune": "", "code_postal": "", "latitude": "", "longitude": ""},
        {**EXAMPLES["1"], "id": "a", "nom": "Doublon\x00"},
    ]
    path = tmp_path / "lieux.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(EXAMPLES["1"]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    result = run_bot(["catalogue", "import", str(path), "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["rows"] == 5
    assert (shown["imported"], shown["updated"], shown["skipped"]) == (2, 1, 2)
    assert shown["rows"] == shown["imported"] + shown["updated"] + shown["skipped"]
    errors = {(error["row"], error["field"]) for error in shown["errors"]}
    assert {(3, "id"), (4, "latitude"), (4, "code_postal"), (4, "telephone"), (5, "commune"), (6, "id")} <= errors
