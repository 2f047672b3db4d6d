"""The queries on the places table (SQLAlchemy Core, portable SQL), run by Storage inside its transactions.

A place is keyed by (source, id): `source` is the name of the import it came from (`catalogue import
--source NAME`, by default the file's name), not the producer named in the row (that one is `Place.source`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.places.catalogue.model import Place
from bot.storage.tables import places

_BATCH = 500  # rows per executemany: well under SQLite's and PostgreSQL's limits on bound parameters


@dataclass(frozen=True, slots=True)
class PlaceImportCounts:
    """What one import did to the stored places of its source (distinct ids, not file rows)."""

    inserted: int = 0  # ids not stored before
    updated: int = 0  # stored ids whose data changed, or that come back after a retirement
    unchanged: int = 0  # stored ids with exactly the same data
    retired: int = 0  # stored ids of this source absent from the import: kept, flagged, never recommended
    restored: int = 0  # retired ids listed again (counted in `updated` too)


@dataclass(frozen=True, slots=True)
class SourceStats:
    source: str
    places: int = 0  # stored, retired included
    retired: int = 0
    without_services: int = 0  # active places only, as below
    without_coordinates: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "places": self.places,
            "retired": self.retired,
            "without_services": self.without_services,
            "without_coordinates": self.without_coordinates,
        }


@dataclass(frozen=True, slots=True)
class PlaceStats:
    """The catalogue at a glance. Except `places` and `retired`, counts are of active (not retired) places."""

    places: int = 0
    retired: int = 0
    recommendable: int = 0  # active, with services and coordinates
    without_services: int = 0
    without_coordinates: int = 0
    by_precision: dict[str, int] = field(default_factory=dict)  # exact, commune, postcode, department
    sources: tuple[SourceStats, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "places": self.places,
            "retired": self.retired,
            "recommendable": self.recommendable,
            "without_services": self.without_services,
            "without_coordinates": self.without_coordinates,
            "by_precision": dict(self.by_precision),
            "sources": [s.to_json() for s in self.sources],
        }


_PLACE_FIELDS = tuple(f.name for f in fields(Place))


def place_json(place: Place) -> dict[str, Any]:
    """Place.to_json() without dataclasses.asdict's deep copies (5x faster: it dominated a 20,000-place import)."""
    data: dict[str, Any] = {}
    for name in _PLACE_FIELDS:
        value = getattr(place, name)
        data[name] = list(value) if isinstance(value, tuple) else dict(value) if isinstance(value, dict) else value
    return data


def _columns(place: Place, data: dict[str, Any]) -> dict[str, Any]:
    placed = place.latitude is not None and place.longitude is not None
    return {
        "data": data,
        "latitude": place.latitude,
        "longitude": place.longitude,
        "precision": place.position_precision if placed else None,
        "postcode": place.code_postal or None,
        "insee": place.code_insee or None,
        "has_services": bool(place.services),
    }


async def upsert_places(
    connection: AsyncConnection, source: str, new: Sequence[Place], stamp: datetime
) -> PlaceImportCounts:
    """Insert new ids, update changed ones, retire the absent ones (unless `new` is empty: an import whose
    every row was refused must not empty the catalogue). An id listed twice: the later one counts."""
    new = list({place.id: place for place in new}.values())
    stored = {
        row.id: (row.data, row.retired)
        for row in await connection.execute(
            select(places.c.id, places.c.data, places.c.retired).where(places.c.source == source)
        )
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    unchanged = restored = 0
    for place in new:
        data = place_json(place)
        before = stored.get(place.id)
        if before is None:
            inserts.append(
                {
                    "source": source,
                    "id": place.id,
                    **_columns(place, data),
                    "retired": False,
                    "created_at": stamp,
                    "updated_at": stamp,
                    "retired_at": None,
                }
            )
        elif before[0] != data or before[1]:
            restored += bool(before[1])
            updates.append(
                {
                    "k_source": source,
                    "k_id": place.id,
                    **_columns(place, data),
                    "retired": False,
                    "updated_at": stamp,
                    "retired_at": None,
                }
            )
        else:
            unchanged += 1
    listed = {place.id for place in new}
    absent = [key for key, (_, retired) in stored.items() if key not in listed and not retired] if new else []

    for start in range(0, len(inserts), _BATCH):
        await connection.execute(insert(places), inserts[start : start + _BATCH])
    by_key = (places.c.source == bindparam("k_source")) & (places.c.id == bindparam("k_id"))
    for start in range(0, len(updates), _BATCH):
        await connection.execute(update(places).where(by_key), updates[start : start + _BATCH])
    retire = [
        {"k_source": source, "k_id": key, "retired": True, "updated_at": stamp, "retired_at": stamp} for key in absent
    ]
    for start in range(0, len(retire), _BATCH):
        await connection.execute(update(places).where(by_key), retire[start : start + _BATCH])
    return PlaceImportCounts(len(inserts), len(updates), unchanged, len(absent), restored)


async def select_places(connection: AsyncConnection, *, include_retired: bool) -> list[Place]:
    query = select(places.c.data).order_by(places.c.source, places.c.id)
    if not include_retired:
        query = query.where(places.c.retired.is_(False))
    return [Place.from_json(row.data) for row in await connection.execute(query)]


async def count_places(connection: AsyncConnection) -> PlaceStats:
    """Counted in SQL by (source, retired, has services, precision), summed here."""
    rows = await connection.execute(
        select(places.c.source, places.c.retired, places.c.has_services, places.c.precision, func.count())
        .group_by(places.c.source, places.c.retired, places.c.has_services, places.c.precision)
        .order_by(places.c.source)
    )
    totals: dict[str, int] = {
        "places": 0,
        "retired": 0,
        "recommendable": 0,
        "without_services": 0,
        "without_coordinates": 0,
    }
    by_precision: dict[str, int] = {}
    sources: dict[str, dict[str, int]] = {}
    for source, retired, has_services, precision, count in rows:
        per_source = sources.setdefault(
            source, {"places": 0, "retired": 0, "without_services": 0, "without_coordinates": 0}
        )
        for bucket in (totals, per_source):
            bucket["places"] += count
            if retired:
                bucket["retired"] += count
                continue
            bucket["without_services"] += 0 if has_services else count
            bucket["without_coordinates"] += 0 if precision else count
        if not retired:
            totals["recommendable"] += count if has_services and precision else 0
            if precision:
                by_precision[precision] = by_precision.get(precision, 0) + count
    return PlaceStats(
        **totals,
        by_precision=dict(sorted(by_precision.items())),
        sources=tuple(SourceStats(source, **counts) for source, counts in sources.items()),
    )
