"""Importing files in the national standard "lieux de médiation numérique": real files (pinned counts), CSV and
JSON, v1 and v0.1, every kind of bad value, re-imports, retirement, dry runs, export round trips, the CLI."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.core.errors import CatalogueError
from bot.language.standard import SUMMARY_MAX, V1_FIELDS
from bot.places.catalogue.export import COLUMNS, export_v1_csv, write_v1_csv
from bot.places.catalogue.importer import read_file, read_import
from bot.places.catalogue.model import Place
from bot.storage import Storage
from bot.tools.catalogue import ImportSummary, import_batches, run_import
from tests.conftest import ROOT, SHARED

DATA = SHARED / "data"
PACA = DATA / "anct_client_paca-hub-du-sud_2023-05-17_rev2024-09-12.json"
CHARENTE = DATA / "anct_client_charente_2023-07-11_rev2024-09-12.json"
CALEDONIA = DATA / "anct_client_nouvelle-caledonie_2024-03-20_rev2024-09-12.json"
EXAMPLE_V1 = DATA / "lamednum_exemple-valide_v1.0.x.csv"
EXAMPLE_V0 = DATA / "lamednum_exemple-valide_v0.1.1.csv"
SHIPPED = ROOT / "catalogue" / "lieux-auvergne-rhone-alpes.csv"

BASE: dict[str, str] = {
    "id": "lieu-1",
    "pivot": "43493312300029",
    "nom": "Médiathèque de la Paix",
    "commune": "Angoulême",
    "code_postal": "16000",
    "code_insee": "16015",
    "adresse": "1 rue de la Paix",
    "latitude": "45.65",
    "longitude": "0.16",
    "telephone": "+33545932222",
    "date_maj": "2024-04-02",
    "services": "Aide aux démarches administratives|Maîtrise des outils numériques du quotidien",
    "source": "Test",
}


def write_csv(path: Path, rows: list[dict[str, str]], *, bom: bool = False, delimiter: str = ",") -> Path:
    columns: list[str] = []
    for row in rows:
        columns += [name for name in row if name not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(("\ufeff" if bom else "") + buffer.getvalue(), encoding="utf-8")
    return path


def row(**changes: str) -> dict[str, str]:
    return {**BASE, **changes}


def one_place(path: Path) -> Place:
    batch = read_import([path], source="test")
    assert len(batch.places) == 1, [str(p) for p in batch.problems]
    return next(iter(batch.places.values()))


def problems(path: Path, **kwargs: Any) -> list[tuple[int, str, str]]:
    return [(p.row, p.field, p.message) for p in read_import([path], source="test", **kwargs).problems]


async def run(storage: Storage, *paths: Path, source: str = "test", dry_run: bool = False) -> dict[str, Any]:
    summary: ImportSummary = await import_batches(storage, [read_import(list(paths), source=source)], dry_run=dry_run)
    return summary.to_json()


# ----- real files: every row accounted for, counts pinned -----------------------------------------------------
@pytest.mark.parametrize(
    ("path", "rows", "errors", "version"),
    [
        (PACA, 646, 4, "1"),  # 4 places without coordinates (no geography given here)
        (CHARENTE, 188, 0, "1"),
        (CALEDONIA, 90, 12, "1"),  # 12 summaries over 280 characters
        (EXAMPLE_V1, 1, 0, "1"),
        (EXAMPLE_V0, 1, 0, "0.1"),
    ],
    ids=["paca", "charente", "nouvelle-caledonie", "example-v1", "example-v0.1"],
)
async def test_real_files_import_with_every_row_accounted_for(
    sqlite_storage: Storage, path: Path, rows: int, errors: int, version: str
) -> None:
    """The three ANCT files and both official examples import fully: imported + updated + skipped == rows, with
    the pinned counts; a second import gives 0 imported and every row updated."""
    assert read_file(path, source="x").version == version
    first = await run(sqlite_storage, path)
    assert (first["rows"], first["imported"], first["updated"], first["skipped"]) == (rows, rows, 0, 0)
    assert len(first["errors"]) == errors
    assert first["imported"] + first["updated"] + first["skipped"] == first["rows"]
    second = await run(sqlite_storage, path)
    assert (second["rows"], second["imported"], second["updated"], second["skipped"]) == (rows, 0, rows, 0)
    assert len(await sqlite_storage.load_places()) == rows


def test_paca_problems_are_the_four_places_without_coordinates() -> None:
    """PACA's only problems: rows 1, 2, 99 and 181 have no coordinates and, without a geography, stay unplaced."""
    found = problems(PACA)
    assert [(r, f) for r, f, _ in found] == [(1, "latitude"), (2, "latitude"), (99, "latitude"), (181, "latitude")]
    assert all("never recommended" in message for _, _, message in found)


def test_a_placer_places_rows_without_coordinates_by_their_postcode() -> None:
    """With a placer, PACA's four unplaced rows get its position and precision, and nothing is reported."""
    calls: list[tuple[str, str, str]] = []

    def placer(postcode: str, commune: str, insee: str) -> tuple[float, float, str] | None:
        calls.append((postcode, commune, insee))
        return (43.4, 5.0, "postcode")

    batch = read_import([PACA], source="paca", placer=placer)
    assert batch.problems == []
    assert ("13500", "Martigues", "13056") in calls
    assert len(calls) == 4
    placed = [p for p in batch.places.values() if p.position_precision == "postcode"]
    assert len(placed) == 4
    assert all(p.latitude == 43.4 and p.recommendable for p in placed)


def test_new_caledonia_summaries_over_280_characters_are_reported_and_truncated() -> None:
    """The 12 long summaries of New Caledonia are reported by row, cut under 280 characters, kept in full in the
    detailed presentation; phone numbers stay in +687 form."""
    batch = read_import([CALEDONIA], source="nc")
    assert [p.row for p in batch.problems] == [13, 18, 26, 28, 38, 40, 41, 51, 53, 63, 78, 89]
    assert {p.field for p in batch.problems} == {"presentation_resume"}
    places = list(batch.places.values())
    assert max(len(p.presentation_resume) for p in places) <= SUMMARY_MAX
    cut = places[12]
    assert cut.presentation_resume.endswith("…")
    assert cut.extra["presentation_detail"].startswith(cut.presentation_resume[:-1])
    assert sum(1 for p in places if p.telephone.startswith("+687")) == 80


def test_v0_columns_left_in_v1_exports_are_read_when_the_v1_column_is_absent() -> None:
    """Charente (v1) keeps v0's `courriel`, `labels_nationaux` and `accessibilite`: they fill courriels,
    dispositif_programmes_nationaux (CNFS → Conseillers numériques) and fiche_acces_libre."""
    places = read_import([CHARENTE], source="c").places
    assert sum(1 for p in places.values() if p.courriels) == 53
    assert sum(1 for p in places.values() if "Conseillers numériques" in p.dispositif_programmes_nationaux) == 109
    assert sum(1 for p in places.values() if p.extra.get("fiche_acces_libre")) == 46
    paca = read_import([PACA], source="p").places.values()
    assert sum(1 for p in paca if "Seniors" in p.publics_specifiquement_adresses) == 107  # publics_accueillis
    assert sum(1 for p in paca if not p.date_maj) == 99  # 1970-01-01 placeholders: unknown, not reported
    assert not any("pivot" in p.extra for p in paca)  # 00000000000000 placeholders


# ----- formats and versions ------------------------------------------------------------------------------------
def test_csv_with_and_without_bom_read_the_same(tmp_path: Path) -> None:
    """A UTF-8 BOM (Excel's "CSV UTF-8") changes nothing: the first column is still `id`."""
    plain = one_place(write_csv(tmp_path / "plain.csv", [row()]))
    with_bom = one_place(write_csv(tmp_path / "bom.csv", [row()], bom=True))
    assert plain.to_json() == with_bom.to_json()
    assert plain.id == "lieu-1"
    assert plain.nom == "Médiathèque de la Paix"


def test_official_v0_example_is_mapped_to_v1_values() -> None:
    """The v0.1.1 example's services, publics, conditions and labels become their v1 values."""
    place = one_place(EXAMPLE_V0)
    assert place.services == ("Aide aux démarches administratives", "Maîtrise des outils numériques du quotidien")
    assert place.publics_specifiquement_adresses == ("Familles et/ou enfants",)
    assert place.prise_en_charge_specifique == ("Déficience visuelle",)
    assert place.frais_a_charge == ("Payant",)
    assert place.dispositif_programmes_nationaux == ("France Services", "Point d'accès numérique CAF")
    assert place.modalites_accompagnement == ("En autonomie", "Accompagnement individuel")
    assert place.courriels == "contact@laquincaillerie.tl"
    assert place.assistance is False


def test_v0_csv_maps_names_values_and_keeps_a_ma_place(tmp_path: Path) -> None:
    """A v0.1 CSV (`;` lists, `courriel`, `conditions_acces`): values mapped as ANCT does, "A ma place" sets the
    assistance flag, short forms ("Gratuit") accepted, "Adultes" maps to nothing without a report."""
    path = write_csv(tmp_path / "v0.csv", [{
        **{k: v for k, v in BASE.items() if k != "services"},
        "courriel": "contact@mairie.fr",
        "services": "Prendre en main un ordinateur;Accompagner les démarches de santé;Créer avec le numérique",
        "publics_accueillis": "Adultes;Seniors (+ 65 ans);Personnes en situation d'illettrisme",
        "conditions_acces": "Gratuit;Adhésion : L'accès au lieu et/ou à ses services nécessite d'y adhérer",
        "modalites_accompagnement": "A ma place : une personne habilitée fait les démarches à ma place",
        "site_web": "https://a.fr;https://b.fr",
    }])
    assert read_file(path, source="x").version == "0.1"
    place = one_place(path)
    assert place.services == (
        "Maîtrise des outils numériques du quotidien",
        "Aide aux démarches administratives",
        "Loisirs et créations numériques",
    )
    assert place.publics_specifiquement_adresses == ("Seniors",)
    assert place.prise_en_charge_specifique == ("Illettrisme",)
    assert place.frais_a_charge == ("Gratuit", "Payant")
    assert place.modalites_accompagnement == ("Accompagnement individuel",)
    assert place.assistance is True
    assert place.courriels == "contact@mairie.fr"
    assert place.site_web == "https://a.fr|https://b.fr"
    assert problems(path) == []


def test_pipe_lists_in_v1_and_semicolon_lists_in_v0(tmp_path: Path) -> None:
    """v1 splits on `|`, v0.1 on `;`; the other separator is still read, and reported."""
    good = one_place(write_csv(tmp_path / "v1.csv", [row(frais_a_charge="Gratuit|Payant")]))
    assert good.frais_a_charge == ("Gratuit", "Payant")
    mixed = write_csv(tmp_path / "mixed.csv", [row(frais_a_charge="Gratuit;Payant")])
    assert one_place(mixed).frais_a_charge == ("Gratuit", "Payant")
    assert problems(mixed) == [(2, "frais_a_charge", "items separated by ';' instead of '|': read anyway")]


def test_enumerations_are_full_matches(tmp_path: Path) -> None:
    """A value that merely contains a valid one ("Gratuit ou presque") is unknown: dropped and reported, while
    the valid values beside it are kept."""
    path = write_csv(tmp_path / "enum.csv", [row(frais_a_charge="Gratuit ou presque|Payant",
                                                 services="Aide aux démarches administratives|Cuisine")])
    place = one_place(path)
    assert place.frais_a_charge == ("Payant",)
    assert place.services == ("Aide aux démarches administratives",)
    assert problems(path) == [
        (2, "services", "unknown value 'Cuisine': dropped"),
        (2, "frais_a_charge", "unknown value 'Gratuit ou presque': dropped"),
    ]


def test_unknown_columns_are_ignored(tmp_path: Path) -> None:
    """Columns outside the standard are listed as ignored, never reported as errors nor failing the row."""
    path = write_csv(tmp_path / "extra.csv", [row(Remarques="à rappeler", identifiant_interne="42")])
    parsed = read_file(path, source="x")
    assert parsed.ignored_columns == ["identifiant_interne", "remarques"]
    assert parsed.problems == []
    assert len(parsed.places) == 1


def test_semicolon_separated_csv_is_recognised(tmp_path: Path) -> None:
    """A French spreadsheet's `;`-separated CSV reads like a comma-separated one."""
    place = one_place(write_csv(tmp_path / "fr.csv", [row()], delimiter=";"))
    assert place.code_postal == "16000"
    assert len(place.services) == 2


def test_json_entries_that_are_not_objects_are_skipped(tmp_path: Path) -> None:
    """In a JSON array, a non-object entry is a skipped row, numbered by its position from 1; JSON numbers are
    read as the text they stand for."""
    path = tmp_path / "lieux.json"
    path.write_text(json.dumps([BASE, "oops", {**BASE, "id": "lieu-2", "latitude": 45.6, "code_postal": 16000}]))
    batch = read_import([path], source="x")
    assert (batch.rows, len(batch.places), batch.skipped) == (3, 2, 1)
    assert [(p.row, p.field, p.message) for p in batch.problems] == [(2, "", "not a JSON object: row skipped")]
    assert batch.places["lieu-2"].code_postal == "16000"
    assert batch.places["lieu-2"].latitude == 45.6


def test_files_that_cannot_be_read_stop_with_a_clear_error(tmp_path: Path) -> None:
    """Not UTF-8, not a JSON array, or no column of the standard: CatalogueError naming the file."""
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("id,nom\n1,Médiathèque\n".encode("latin-1"))
    with pytest.raises(CatalogueError, match="not UTF-8"):
        read_file(latin, source="x")
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text('{"data": []}')
    with pytest.raises(CatalogueError, match="JSON array"):
        read_file(wrapped, source="x")
    other = write_csv(tmp_path / "other.csv", [{"name": "x", "city": "y"}])
    with pytest.raises(CatalogueError, match="no `id` or `nom` column"):
        read_file(other, source="x")


# ----- rows and fields -----------------------------------------------------------------------------------------
def test_bad_rows_and_fields_are_reported_with_row_field_and_message(tmp_path: Path) -> None:
    """Each problem names the spreadsheet row (header = 1), the column and what was done; rows without id, nom,
    or anything to place them by are skipped, other bad values are dropped."""
    path = write_csv(tmp_path / "bad.csv", [
        row(id="ok"),
        row(id="no-name", nom=""),
        row(id=""),
        row(id="nowhere", commune="", code_postal="", latitude="", longitude=""),
        row(id="bad-values", code_postal="ABCDE", code_insee="9999999", latitude="north", telephone="n/a",
            date_maj="hier", courriels="contact@mairie.fr|pas-une-adresse", pivot="123"),
        row(id="zero-lost", code_postal="1000", code_insee="1053", latitude="0", longitude="0"),
        row(id="half", longitude=""),
    ])
    batch = read_import([path], source="test")
    assert (batch.rows, len(batch.places), batch.skipped) == (7, 4, 3)
    unplaced = "no coordinates (no geography loaded to place it by postcode or commune): kept, never recommended"
    assert [(p.row, p.field, p.message) for p in batch.problems] == [
        (3, "nom", "missing: row skipped"),
        (4, "id", "missing: row skipped"),
        (5, "code_postal", "missing"),
        (5, "commune", "missing, and no postcode or coordinates either: row skipped"),
        (6, "code_postal", "'ABCDE' is not a valid postcode: dropped"),
        (6, "code_insee", "'9999999' is not a valid INSEE code: dropped"),
        (6, "latitude", "'north' is not a number: coordinates dropped"),
        (6, "latitude", unplaced),
        (6, "pivot", "'123' is not a SIRET, RNA or RIDET (9 to 14 letters or digits): dropped"),
        (6, "telephone", "'n/a' is not a valid phone number: dropped"),
        (6, "courriels", "'pas-une-adresse' is not an e-mail address: dropped"),
        (6, "date_maj", "'hier' is not a date (YYYY-MM-DD): update date unknown"),
        (7, "code_postal", "'1000' has lost its leading zero: read as 01000"),
        (7, "code_insee", "'1053' has lost its leading zero: read as 01053"),
        (7, "latitude", "0, 0 is a placeholder, not a position: coordinates dropped"),
        (7, "latitude", unplaced),
        (8, "longitude", "missing while the other coordinate is given: coordinates dropped"),
        (8, "latitude", unplaced),
    ]
    bad = batch.places["bad-values"]
    assert (bad.code_postal, bad.code_insee, bad.telephone, bad.date_maj, bad.latitude) == ("", "", "", "", None)
    assert bad.courriels == "contact@mairie.fr"
    assert "pivot" not in bad.extra
    assert batch.places["zero-lost"].code_postal == "01000"
    assert batch.places["zero-lost"].code_insee == "01053"
    assert all(p.file == str(path) for p in batch.problems)


def test_swapped_or_foreign_coordinates_of_mainland_places(tmp_path: Path) -> None:
    """Longitude written first is read the other way round; a mainland postcode with a position far outside
    France loses the position; overseas positions are only range-checked."""
    path = write_csv(tmp_path / "coords.csv", [
        row(id="swapped", latitude="0.16", longitude="45.65"),
        row(id="far", latitude="12.5", longitude="-8.0"),
        row(id="noumea", code_postal="98800", code_insee="98818", latitude="-22.27", longitude="166.44",
            telephone="+687445728"),
    ])
    batch = read_import([path], source="x")
    places = batch.places
    assert (places["swapped"].latitude, places["swapped"].longitude) == (45.65, 0.16)
    assert places["far"].latitude is None
    assert (places["noumea"].latitude, places["noumea"].longitude) == (-22.27, 166.44)
    assert [(p.row, p.field) for p in batch.problems] == [(2, "latitude"), (3, "latitude"), (3, "latitude")]
    assert "swapped" in batch.problems[0].message
    assert "not in mainland France" in batch.problems[1].message


def test_row_numbers_follow_the_spreadsheet_when_a_value_spans_lines(tmp_path: Path) -> None:
    """A quoted value over three lines is one spreadsheet row: the next row is numbered 3, not 5."""
    path = write_csv(tmp_path / "multi.csv", [
        row(presentation_detail="Premier paragraphe.\nDeuxième.\nTroisième."),
        row(id="lieu-2", nom=""),
    ])
    assert problems(path) == [(3, "nom", "missing: row skipped")]
    assert one_place(path).extra["presentation_detail"] == "Premier paragraphe.\nDeuxième.\nTroisième."


async def test_a_later_row_with_the_same_id_updates_the_place(sqlite_storage: Storage, tmp_path: Path) -> None:
    """Two rows with one id: the later one wins, it is reported, and it counts as updated, not imported."""
    path = write_csv(tmp_path / "twice.csv", [row(nom="Ancien nom"), row(id="lieu-2"), row(nom="Nouveau nom")])
    report = await run(sqlite_storage, path)
    assert (report["rows"], report["imported"], report["updated"], report["skipped"]) == (3, 2, 1, 0)
    assert report["errors"] == [
        {"row": 4, "field": "id", "message": "same id as row 2: this row replaces it", "file": str(path)}
    ]
    names = {p.id: p.nom for p in await sqlite_storage.load_places()}
    assert names == {"lieu-1": "Nouveau nom", "lieu-2": "Médiathèque de la Paix"}


@pytest.mark.parametrize(
    ("raw", "postcode", "expected"),
    [
        ("05 45 93 22 22", "16000", "+33545932222"),
        ("+33 (0)5 45 93 22 22", "16000", "+33545932222"),
        ("0545932222", "16000", "+33545932222"),
        ("44 57 28", "98800", "+687445728"),  # New Caledonia, written nationally
        ("+687 44.57.28", "98800", "+687445728"),
        ("0262 26 12 34", "97400", "+262262261234"),  # La Réunion
        ("0590 12 34 56", "97110", "+590590123456"),  # Guadeloupe
        ("Tél. 05 45 93 22 22 ou 06 12 34 56 78", "16000", "+33545932222"),
        ("+41 22 123 45 67", "74100", ""),  # Swiss: outside the standard's prefixes
        ("à demander", "16000", ""),
    ],
)
def test_phone_numbers_are_put_in_international_form(tmp_path: Path, raw: str, postcode: str,
                                                      expected: str) -> None:
    """National, spaced or dotted numbers become E.164 by the region of the postcode (overseas too); numbers that
    cannot be read, or foreign ones, are dropped and reported."""
    path = write_csv(tmp_path / "phone.csv", [row(telephone=raw, code_postal=postcode, code_insee="")])
    assert one_place(path).telephone == expected
    reported = [f for _, f, _ in problems(path)]
    assert reported == ([] if expected and " ou " not in raw else ["telephone"])


def test_summary_over_280_characters_is_truncated_and_reported(tmp_path: Path) -> None:
    """A 400-character summary is cut at a word with "…" (at most 280 characters), reported, and kept whole as
    the detailed presentation; a detailed presentation already given is kept as it was."""
    long = " ".join(["Accompagnement"] * 27)  # 404 characters
    place = one_place(write_csv(tmp_path / "long.csv", [row(presentation_resume=long)]))
    assert len(place.presentation_resume) <= SUMMARY_MAX
    assert place.presentation_resume.endswith("Accompagnement…")
    assert place.extra["presentation_detail"] == long
    assert problems(tmp_path / "long.csv") == [
        (2, "presentation_resume", "404 characters, more than 280: truncated (kept in presentation_detail)")
    ]
    both = one_place(write_csv(tmp_path / "both.csv", [row(presentation_resume=long, presentation_detail="Détail.")]))
    assert both.extra["presentation_detail"] == "Détail."


async def test_places_without_services_are_stored_but_never_recommended(sqlite_storage: Storage,
                                                                        tmp_path: Path) -> None:
    """No services: stored, reported, not recommendable, counted in the statistics."""
    path = write_csv(tmp_path / "closed.csv", [row(services=""), row(id="lieu-2")])
    report = await run(sqlite_storage, path)
    assert report["imported"] == 2
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(2, "services")]
    places = {p.id: p for p in await sqlite_storage.load_places()}
    assert not places["lieu-1"].recommendable
    assert places["lieu-2"].recommendable
    stats = await sqlite_storage.place_stats()
    assert (stats.places, stats.without_services, stats.recommendable) == (2, 1, 1)


# ----- re-imports, retirement, dry runs ------------------------------------------------------------------------
async def test_reimporting_the_same_file_changes_nothing(sqlite_storage: Storage, sqlite_url: str,
                                                         tmp_path: Path) -> None:
    """The second import of one file: 0 imported, every row updated (counted), and not one stored row or
    timestamp changed."""
    path = write_csv(tmp_path / "lieux.csv", [row(), row(id="lieu-2"), row(id="lieu-3")])
    await run(sqlite_storage, path)
    before = sqlite3.connect(sqlite_url.split("///", 1)[1]).execute("SELECT * FROM places ORDER BY id").fetchall()
    again = await run(sqlite_storage, path)
    assert (again["imported"], again["updated"], again["skipped"]) == (0, 3, 0)
    after = sqlite3.connect(sqlite_url.split("///", 1)[1]).execute("SELECT * FROM places ORDER BY id").fetchall()
    assert after == before


async def test_places_absent_from_a_new_import_of_their_source_are_retired(sqlite_storage: Storage,
                                                                           tmp_path: Path) -> None:
    """A place missing from the next import of the same source is retired: kept, flagged, never loaded for
    recommendation; other sources are untouched; listed again, it comes back."""
    full = write_csv(tmp_path / "full.csv", [row(), row(id="lieu-2"), row(id="lieu-3")])
    shorter = write_csv(tmp_path / "shorter.csv", [row(), row(id="lieu-3")])
    other = write_csv(tmp_path / "other.csv", [row(id="ailleurs")])
    await run(sqlite_storage, full, source="reseau")
    await run(sqlite_storage, other, source="autre")
    await run(sqlite_storage, shorter, source="reseau")
    assert sorted(p.id for p in await sqlite_storage.load_places()) == ["ailleurs", "lieu-1", "lieu-3"]
    assert len(await sqlite_storage.load_places(include_retired=True)) == 4
    stats = await sqlite_storage.place_stats()
    assert (stats.places, stats.retired, stats.recommendable) == (4, 1, 3)
    assert {s.source: s.retired for s in stats.sources} == {"autre": 0, "reseau": 1}
    back = await run(sqlite_storage, full, source="reseau")
    assert (back["imported"], back["updated"]) == (0, 3)
    assert len(await sqlite_storage.load_places()) == 4


async def test_an_import_where_every_row_is_refused_retires_nothing(sqlite_storage: Storage,
                                                                    tmp_path: Path) -> None:
    """A broken re-import (no row accepted) must not empty the catalogue of its source."""
    await run(sqlite_storage, write_csv(tmp_path / "good.csv", [row()]), source="reseau")
    report = await run(sqlite_storage, write_csv(tmp_path / "broken.csv", [row(nom="")]), source="reseau")
    assert (report["rows"], report["skipped"]) == (1, 1)
    assert [p.id for p in await sqlite_storage.load_places()] == ["lieu-1"]


async def test_dry_run_reports_but_writes_nothing(tmp_path: Path) -> None:
    """--dry-run gives the real counts against the database, leaves it as it was, and creates no database file
    when there is none."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'db' / 'passerelle.db'}"
    settings = Settings.from_env({"DATABASE_URL": url}, cwd=tmp_path)
    first = write_csv(tmp_path / "lieux.csv", [row(), row(id="lieu-2")])
    dry = await run_import(settings, [first], source=None, dry_run=True)
    assert (dry.imported, dry.updated) == (2, 0)
    assert not (tmp_path / "db").exists()
    await run_import(settings, [first], source=None, dry_run=False)
    second = write_csv(tmp_path / "lieux.csv", [row(nom="Renommé"), row(id="lieu-3")])
    dry = await run_import(settings, [second], source=None, dry_run=True)
    assert (dry.rows, dry.imported, dry.updated) == (2, 1, 1)
    assert dry.batches[0][1].retired == 1
    storage = await Storage.open(url)
    try:
        stored = await storage.load_places(include_retired=True)
        assert sorted((p.id, p.nom) for p in stored) == [("lieu-1", BASE["nom"]), ("lieu-2", BASE["nom"])]
        assert (await storage.place_stats()).retired == 0
    finally:
        await storage.close()


# ----- export ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [CALEDONIA, CHARENTE, EXAMPLE_V0], ids=["nouvelle-caledonie", "charente", "v0.1"])
def test_export_round_trips_through_the_importer(tmp_path: Path, path: Path) -> None:
    """Places written as v1 CSV read back identical (every field, extras and the assistance flag included)."""
    places = list(read_import([path], source="x").places.values())
    out = tmp_path / "export.csv"
    assert export_v1_csv(places, out) == len(places)
    again = read_import([out], source="x")
    assert again.problems == []
    assert [p.to_json() for p in again.places.values()] == [p.to_json() for p in places]


def test_export_is_valid_against_the_official_v1_schema(tmp_path: Path) -> None:
    """Every cell of an export passes the official v1.0.1 schema's rules (required, patterns as full matches,
    maxLength); columns in the schema's order, plus `assistance`."""
    schema = json.loads((DATA / "lamednum_schema_v1.0.1.json").read_text(encoding="utf-8"))
    places = [*read_import([CALEDONIA, EXAMPLE_V0], source="x").places.values()]
    buffer = io.StringIO()
    write_v1_csv(places, buffer)
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert list(rows[0]) == [f["name"] for f in schema["fields"]] + ["assistance"] == list(COLUMNS)
    assert [f["name"] for f in schema["fields"]] == list(V1_FIELDS)
    invalid = []
    for number, cells in enumerate(rows, start=2):
        for spec in schema["fields"]:
            value, rules = cells[spec["name"]], spec.get("constraints", {})
            if not value:
                if rules.get("required"):
                    invalid.append((number, spec["name"], "required"))
                continue
            if "pattern" in rules and not re.fullmatch(rules["pattern"], value):
                invalid.append((number, spec["name"], value))
            if len(value) > rules.get("maxLength", len(value)):
                invalid.append((number, spec["name"], "maxLength"))
    assert invalid == []


def test_shipped_catalogue_is_the_real_hinaura_list_imported_cleanly() -> None:
    """catalogue/lieux-auvergne-rhone-alpes.csv: 687 real places (source Hinaura), no problem, all with services
    and coordinates, 131 "à ma place"."""
    batch = read_import([SHIPPED], source="lieux-auvergne-rhone-alpes")
    places = list(batch.places.values())
    assert (batch.rows, len(places), batch.skipped, batch.problems) == (687, 687, 0, [])
    assert {p.source for p in places} == {"Hinaura"}
    assert all(p.recommendable and p.position_precision == "exact" for p in places)
    assert sum(p.assistance for p in places) == 131
    assert sum(1 for p in places if p.telephone) == 631
    assert {p.code_postal[:2] for p in places} == {"01", "03", "07", "15", "26", "38", "42", "43", "63", "69",
                                                   "73", "74"}


# ----- the command line -----------------------------------------------------------------------------------------
def test_cli_import_json_shape_and_stats(tmp_path: Path) -> None:
    """`catalogue import --json` prints the CONTRACT shape (rows, imported, updated, skipped, errors with row,
    field, message); `catalogue stats --json` counts by source; the database is the one of DATABASE_URL."""
    import os

    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}
    bad = write_csv(tmp_path / "reseau.csv", [row(), row(id="sans-nom", nom=""), row(id="lieu-2", services="")])

    def bot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, encoding="utf-8", timeout=60)

    result = bot("catalogue", "import", str(bad), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {key: report[key] for key in ("rows", "imported", "updated", "skipped")} == {
        "rows": 3, "imported": 2, "updated": 0, "skipped": 1
    }
    assert set(report) == {"rows", "imported", "updated", "skipped", "errors"}
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(3, "nom"), (4, "services")]
    assert all({"row", "field", "message"} <= set(e) for e in report["errors"])

    result = bot("catalogue", "stats", "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert (stats["places"], stats["recommendable"], stats["without_services"]) == (2, 1, 1)
    assert stats["sources"] == [{"source": "reseau", "places": 2, "retired": 0, "without_services": 1,
                                 "without_coordinates": 0}]
    assert stats["by_precision"] == {"exact": 2}

    result = bot("catalogue", "import", str(tmp_path / "missing.csv"))
    assert result.returncode == 1
    assert "missing.csv" in result.stderr
