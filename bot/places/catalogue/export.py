"""Writing places as a CSV file in the national standard v1.0.x, which the importer reads back unchanged.

- Every v1 column, in the schema's order, then one extension column, `assistance` ("oui" when someone can do
  the procedure for the person: v0.1's "A ma place", which v1 cannot say). Other tools ignore it.
- Lists joined with "|"; UTF-8 without BOM; "\\n" line ends; quoted only where needed.
- Coordinates are written only when they came from the file (`position_precision` "exact"): a position
  computed from the postcode or commune is left out, and placed again on the next import.
- An unknown `pivot` or `date_maj` is written as the producers' own placeholders (00000000000000,
  1970-01-01), which keep the file valid and which the importer reads back as unknown.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from bot.language.standard import ASSISTANCE_COLUMN, PLACEHOLDER_PIVOT, V1_FIELDS
from bot.places.catalogue.model import LIST_FIELDS, Place

COLUMNS: tuple[str, ...] = (*V1_FIELDS, ASSISTANCE_COLUMN)
UNKNOWN_DATE = "1970-01-01"

_PLACE_TEXTS = (
    "id",
    "nom",
    "commune",
    "code_postal",
    "code_insee",
    "adresse",
    "complement_adresse",
    "typologie",
    "telephone",
    "courriels",
    "site_web",
    "horaires",
    "presentation_resume",
    "source",
)
_EXTRA_TEXTS = (
    "presentation_detail",
    "structure_parente",
    "autres_formations_labels",
    "fiche_acces_libre",
    "prise_rdv",
)


def _extra_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "|".join(str(item) for item in value)
    return "" if value is None else str(value)


def place_row(place: Place) -> dict[str, str]:
    """One place as the cells of a v1 row."""
    row = {name: str(getattr(place, name)) for name in _PLACE_TEXTS}
    row.update({name: "|".join(getattr(place, name)) for name in LIST_FIELDS})
    row.update({name: _extra_text(place.extra.get(name)) for name in _EXTRA_TEXTS})
    row["formations_labels"] = _extra_text(place.extra.get("formations_labels"))
    row["pivot"] = _extra_text(place.extra.get("pivot")) or PLACEHOLDER_PIVOT
    row["date_maj"] = place.date_maj or UNKNOWN_DATE
    exact = place.position_precision == "exact" and place.latitude is not None and place.longitude is not None
    row["latitude"] = repr(place.latitude) if exact else ""
    row["longitude"] = repr(place.longitude) if exact else ""
    row[ASSISTANCE_COLUMN] = "oui" if place.assistance else ""
    return row


def write_v1_csv(places: Iterable[Place], out: TextIO) -> int:
    """Write the header and one row per place, in the order given; returns the number of places."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for place in places:
        writer.writerow(place_row(place))
        count += 1
    return count


def export_v1_csv(places: Iterable[Place], path: Path) -> int:
    with path.open("w", encoding="utf-8", newline="") as out:
        return write_v1_csv(places, out)
