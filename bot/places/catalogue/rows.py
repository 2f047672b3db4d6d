"""One row of a file in the national standard → a Place, and every problem found in it.

What a bad value does (documented for coordinators in catalogue/README.md):
- the row is skipped when it has no `id`, no `nom`, or nothing to locate it by (no commune, no valid postcode
  and no coordinates);
- any other bad value is dropped (an unknown enumeration value, a phone number that cannot be read, a
  postcode that is not 5 digits, …) and the rest of the row is kept;
- placeholders that producers use for "unknown" (`pivot` 00000000000000, `date_maj` 1970-01-01) are read as
  unknown without a report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.language.standard import (
    ASSISTANCE_COLUMN,
    INSEE,
    LIST_FIELDS,
    PIVOT,
    POSTCODE,
    SEPARATOR,
    V0_LIST_TARGETS,
    V0_ONLY_COLUMNS,
    V0_RENAMED,
    lookup_value,
)
from bot.places.catalogue import fields
from bot.places.catalogue.model import Place

# (postcode, commune, INSEE code) → (latitude, longitude, precision), or None when it cannot be placed.
Placer = Callable[[str, str, str], tuple[float, float, str] | None]

_TRUE = frozenset({"oui", "true", "1", "yes", "vrai"})
MAX_ID_LENGTH = 255  # the database's places.id column (bot/storage/tables.py): a longer id fails the whole import
# v1 fields that Place does not model: kept in Place.extra so that the export writes them back.
_EXTRA_TEXT = ("structure_parente", "autres_formations_labels", "fiche_acces_libre", "prise_rdv")


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One problem of one row: `row` is the spreadsheet row (CSV, header = 1) or the 1-based position in a
    JSON array; `field` the column concerned ("" for the row as a whole)."""

    file: str
    row: int
    field: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message, "file": self.file}

    def __str__(self) -> str:
        where = f"{self.file}:{self.row}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


@dataclass(slots=True)
class RowContext:
    """Where a row comes from and how to read it."""

    file: str
    row: int
    version: str  # "1" or "0.1": which list separator the file uses
    source: str  # the import's source name: Place.source when the row names none
    placer: Placer | None = None
    problems: list[RowProblem] = field(default_factory=list)

    def report(self, column: str, message: str) -> None:
        self.problems.append(RowProblem(self.file, self.row, column, message))


def build_place(cells: Mapping[str, Any], ctx: RowContext) -> Place | None:
    """The Place a row describes, or None when the row must be skipped. Problems go to `ctx.problems`."""

    texts = {name: fields.text(value) for name, value in cells.items() if value is not None and value != ""}

    def get(name: str) -> str:
        return texts.get(name, "")

    place_id = get("id")
    if not place_id:
        ctx.report("id", "missing: row skipped")
        return None
    if len(place_id) > MAX_ID_LENGTH:
        ctx.report("id", f"{len(place_id)} characters, more than {MAX_ID_LENGTH}: row skipped")
        return None
    name = get("nom")
    if not name:
        ctx.report("nom", "missing: row skipped")
        return None
    commune = get("commune")
    postcode = _code(get("code_postal"), "code_postal", POSTCODE, ctx)
    insee = _code(get("code_insee"), "code_insee", INSEE, ctx)
    latitude, longitude = _position(cells, ctx)
    if not commune:
        if not postcode and latitude is None:
            ctx.report("commune", "missing, and no postcode or coordinates either: row skipped")
            return None
        ctx.report("commune", "missing")
    address = get("adresse")
    if not address:
        ctx.report("adresse", "missing: kept without a street address")

    precision = "exact"
    if latitude is None or longitude is None:
        latitude, longitude, precision = _placed(postcode, commune, insee, ctx)

    lists, assistance = _lists(texts, ctx)
    if not lists["services"]:
        ctx.report("services", "no service listed: stored, never recommended (not open to the public)")
    summary, detail, problem = fields.summary(
        get("presentation_resume"), fields.text(cells.get("presentation_detail"), multiline=True)
    )
    if problem:
        ctx.report("presentation_resume", problem)
    extra = _extra(texts, ctx, detail, lists["formations_labels"])
    emails_column = "courriels" if get("courriels") else "courriel"  # v0.1 names it in the singular
    separator = SEPARATOR[ctx.version]
    return Place(
        id=place_id,
        source=get("source") or ctx.source,
        nom=name,
        commune=commune,
        code_postal=postcode,
        adresse=address,
        code_insee=insee,
        complement_adresse=get("complement_adresse"),
        latitude=latitude,
        longitude=longitude,
        position_precision=precision,
        telephone=_phone(get("telephone"), postcode, ctx),
        courriels=_emails(get(emails_column), emails_column, ctx),
        site_web=_free_list(get("site_web"), "site_web", separator, ctx),
        horaires=get("horaires"),
        presentation_resume=summary,
        typologie=_free_list(get("typologie"), "typologie", separator, ctx),
        itinerance=tuple(lists["itinerance"]),
        services=tuple(lists["services"]),
        publics_specifiquement_adresses=tuple(lists["publics_specifiquement_adresses"]),
        prise_en_charge_specifique=tuple(lists["prise_en_charge_specifique"]),
        frais_a_charge=tuple(lists["frais_a_charge"]),
        modalites_acces=tuple(lists["modalites_acces"]),
        modalites_accompagnement=tuple(lists["modalites_accompagnement"]),
        dispositif_programmes_nationaux=tuple(lists["dispositif_programmes_nationaux"]),
        assistance=assistance or get(ASSISTANCE_COLUMN).casefold() in _TRUE,
        date_maj=_date(get("date_maj"), ctx),
        extra=extra,
    )


def _separator(column: str, ctx: RowContext) -> str:
    """v0.1 lists use ";", v1 lists "|"; the v0-only columns left in v1 exports keep their ";"."""
    return ";" if column in V0_ONLY_COLUMNS else SEPARATOR[ctx.version]


def _code(value: str, column: str, pattern: re.Pattern[str], ctx: RowContext) -> str:
    """A postcode or INSEE code. Spreadsheets drop the leading zero of 01000: four digits get it back."""
    if not value:
        if column == "code_postal":
            ctx.report(column, "missing")
        return ""
    code = value.replace(" ", "")
    if code.isdigit() and len(code) == 4:
        ctx.report(column, f"{value!r} has lost its leading zero: read as 0{code}")
        code = "0" + code
    if not pattern.match(code):
        ctx.report(
            column, f"{value!r} is not a valid {'postcode' if column == 'code_postal' else 'INSEE code'}: dropped"
        )
        return ""
    return str(code)


def _position(cells: Mapping[str, Any], ctx: RowContext) -> tuple[float | None, float | None]:
    latitude, problem = fields.coordinate(cells.get("latitude"), "latitude", 90)
    if problem:
        ctx.report("latitude", problem + ": coordinates dropped")
    longitude, problem = fields.coordinate(cells.get("longitude"), "longitude", 180)
    if problem:
        ctx.report("longitude", problem + ": coordinates dropped")
    if latitude is None or longitude is None:
        if (latitude is None) != (longitude is None):
            missing = "longitude" if longitude is None else "latitude"
            if fields.text(cells.get(missing)) == "":  # (an unreadable one is reported above)
                ctx.report(missing, "missing while the other coordinate is given: coordinates dropped")
        return None, None
    if latitude == 0 and longitude == 0:
        ctx.report("latitude", "0, 0 is a placeholder, not a position: coordinates dropped")
        return None, None
    if fields.text(cells.get("code_postal"))[:2] not in ("97", "98") and not _in_mainland(latitude, longitude):
        if _in_mainland(longitude, latitude):
            ctx.report("latitude", f"{latitude}, {longitude} are swapped (longitude first): read the other way")
            return longitude, latitude
        ctx.report(
            "latitude",
            f"{latitude}, {longitude} is not in mainland France or Corsica, as its postcode is: coordinates dropped",
        )
        return None, None
    return latitude, longitude


def _in_mainland(latitude: float, longitude: float) -> bool:
    """Within the box around mainland France and Corsica (overseas places are checked by range only)."""
    return 41.0 <= latitude <= 51.5 and -5.5 <= longitude <= 10.0


def _placed(postcode: str, commune: str, insee: str, ctx: RowContext) -> tuple[float | None, float | None, str]:
    """Coordinates from the geography when the row has none (precision: commune, postcode, department)."""
    if ctx.placer is None:
        ctx.report(
            "latitude",
            "no coordinates (no geography loaded to place it by postcode or commune): kept, never recommended",
        )
        return None, None, "none"
    found = ctx.placer(postcode, commune, insee)
    if found is None:
        ctx.report(
            "latitude", "no coordinates, and its postcode or commune could not be placed: kept, never recommended"
        )
        return None, None, "none"
    return found


def _lists(texts: Mapping[str, str], ctx: RowContext) -> tuple[dict[str, list[str]], bool]:
    """The v1 enumeration fields, from v1 columns and from v0 columns (mapped value by value)."""
    values: dict[str, list[str]] = {name: [] for name in LIST_FIELDS}
    assistance = False
    for column in (*LIST_FIELDS, *V0_LIST_TARGETS):
        raw = texts.get(column, "")
        if not raw:
            continue
        if column in V0_LIST_TARGETS and any(texts.get(t) for t in V0_LIST_TARGETS[column]):
            continue  # a v0 leftover beside its v1 column: the v1 column says it
        items, note = fields.split_list(raw, _separator(column, ctx))
        if note:
            ctx.report(column, note)
        for item in items:
            targets = lookup_value(column, item)
            if targets is None:
                ctx.report(column, f"unknown value {item!r}: dropped")
                continue
            for target, value in targets:
                if target == ASSISTANCE_COLUMN:
                    assistance = True
                elif value not in values[target]:
                    values[target].append(value)
    return values, assistance


def _phone(raw: str, postcode: str, ctx: RowContext) -> str:
    if not raw:
        return ""
    number, problem = fields.phone(raw, postcode)
    if problem:
        ctx.report("telephone", problem)
    return number


def _emails(raw: str, column: str, ctx: RowContext) -> str:
    kept, problems = fields.emails(raw)
    for problem in problems:
        ctx.report(column, problem)
    return "|".join(kept)


def _free_list(raw: str, column: str, separator: str, ctx: RowContext) -> str:
    """A list without enumeration (web sites, structure types): items kept as written, joined with "|"."""
    if not raw:
        return ""
    items, note = fields.split_list(raw, separator)
    if note:
        ctx.report(column, note)
    return "|".join(items)


def _date(raw: str, ctx: RowContext) -> str:
    if not raw:
        ctx.report("date_maj", "missing: update date unknown")
        return ""
    value, problem = fields.update_date(raw)
    if problem:
        ctx.report("date_maj", problem)
    return value


def _extra(texts: Mapping[str, str], ctx: RowContext, detail: str, labels: list[str]) -> dict[str, Any]:
    """The v1 fields Place does not model (pivot, detailed presentation, labels, links), under their v1
    names; v0 columns fill them when the v1 column is absent."""
    extra: dict[str, Any] = {}
    pivot = texts.get("pivot", "").replace(" ", "")
    if not pivot:
        ctx.report("pivot", "missing (SIRET, RNA or RIDET): unknown")
    elif not pivot.strip("0"):
        pass  # 00000000000000 (or any run of zeros): the producers' "unknown"
    elif PIVOT.match(pivot):
        extra["pivot"] = pivot
    else:
        ctx.report("pivot", f"{pivot!r} is not a SIRET, RNA or RIDET (9 to 14 letters or digits): dropped")
    if detail:
        extra["presentation_detail"] = detail
    if labels:
        extra["formations_labels"] = labels
    renamed = {new: old for old, new in V0_RENAMED.items()}
    for name in _EXTRA_TEXT:
        value = texts.get(name) or texts.get(renamed.get(name, ""), "")
        if value:
            extra[name] = value
    return extra
