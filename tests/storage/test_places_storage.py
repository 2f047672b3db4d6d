"""The places table on real databases (a SQLite file, PostgreSQL; places always go through SQLAlchemy Core):
upsert counts, retirement and its return, one transaction per import, dry runs, timestamps, round trips of a
Place, statistics."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.errors import StorageError
from bot.places.catalogue.model import Place
from bot.storage import PlaceImportCounts, Storage
from tests.support.postgres import raw_sql


def place(place_id: str, **changes: Any) -> Place:
    values: dict[str, Any] = {
        "id": place_id,
        "source": "Hinaura",
        "nom": f"Lieu {place_id}",
        "commune": "Annecy",
        "code_postal": "74000",
        "adresse": "1 place de la Mairie",
        "code_insee": "74010",
        "latitude": 45.9,
        "longitude": 6.12,
        "services": ("Aide aux démarches administratives",),
        "modalites_accompagnement": ("Accompagnement individuel",),
        "assistance": True,
        "date_maj": "2022-04-08",
        "extra": {"pivot": "43493312300029", "formations_labels": ["Fabriques de Territoire"]},
    }
    values.update(changes)
    return Place(**values)


@pytest.fixture
async def storage(database_url: str) -> AsyncIterator[Storage]:
    """Storage on an empty database of each engine ([sqlite], [postgresql])."""
    opened = await Storage.open(database_url)
    yield opened
    await opened.close()


async def rows(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    """What is really stored, read with the plain driver (sqlite3, asyncpg), independent of the code under test."""
    return await raw_sql(database_url, sql)


async def test_import_counts_inserted_updated_unchanged_retired_restored(storage: Storage) -> None:
    """Each outcome is counted by distinct id: new, changed, identical, absent (retired), back after retirement."""
    first = await storage.import_places("aura", [place("1"), place("2"), place("3")])
    assert first == PlaceImportCounts(inserted=3)
    second = await storage.import_places("aura", [place("1"), place("2", nom="Renommé"), place("4")])
    assert second == PlaceImportCounts(inserted=1, updated=1, unchanged=1, retired=1)
    third = await storage.import_places("aura", [place("1"), place("2", nom="Renommé"), place("3"),
                                                        place("4")])
    assert third == PlaceImportCounts(updated=1, unchanged=3, restored=1)


async def test_a_place_round_trips_through_the_table(storage: Storage) -> None:
    """Every field of a Place, extras, tuples and missing coordinates included, comes back as it was."""
    full = place("1", telephone="+33450000000", horaires="Mo 09:00-12:00", itinerance=("Fixe",),
                 presentation_resume="Résumé", frais_a_charge=("Gratuit", "Payant"))
    bare = place("2", latitude=None, longitude=None, position_precision="none", services=(), extra={})
    await storage.import_places("aura", [full, bare])
    loaded = {p.id: p for p in await storage.load_places()}
    assert loaded["1"].to_json() == full.to_json()
    assert loaded["2"].to_json() == bare.to_json()
    assert isinstance(loaded["1"].services, tuple)
    assert loaded["1"].extra == full.extra


async def test_indexed_columns_reflect_the_place(storage: Storage, database_url: str) -> None:
    """Position, precision, postcode, INSEE code and the services flag are stored beside the JSON."""
    await storage.import_places("aura", [
        place("1"),
        place("2", latitude=None, longitude=None, position_precision="none", services=(), code_insee=""),
        place("3", latitude=45.0, longitude=6.0, position_precision="commune"),
    ])
    assert await rows(database_url, "SELECT id, latitude, longitude, precision, postcode, insee, has_services, retired "
                            "FROM places ORDER BY id") == [
        ("1", 45.9, 6.12, "exact", "74000", "74010", 1, 0),
        ("2", None, None, None, "74000", None, 0, 0),
        ("3", 45.0, 6.0, "commune", "74000", "74010", 1, 0),
    ]


async def test_sources_are_separate(storage: Storage) -> None:
    """The same id in two sources is two places, and importing one source never retires the other's."""
    await storage.import_places("aura", [place("1")])
    await storage.import_places("paca", [place("1", commune="Nice")])
    await storage.import_places("paca", [place("2")])
    loaded = await storage.load_places()
    assert [(p.id, p.commune) for p in loaded] == [("1", "Annecy"), ("2", "Annecy")]
    stats = await storage.place_stats()
    assert [(s.source, s.places, s.retired) for s in stats.sources] == [("aura", 1, 0), ("paca", 2, 1)]


async def test_retired_places_stay_stored_with_their_date(storage: Storage, database_url: str) -> None:
    """A retired place keeps its row, gets `retired` and `retired_at`; listed again, both are cleared."""
    await storage.import_places("aura", [place("1"), place("2")])
    await storage.import_places("aura", [place("1")])
    assert await rows(database_url, "SELECT id, retired, retired_at IS NOT NULL FROM places ORDER BY id") == [
        ("1", 0, 0),
        ("2", 1, 1),
    ]
    assert [p.id for p in await storage.load_places()] == ["1"]
    assert [p.id for p in await storage.load_places(include_retired=True)] == ["1", "2"]
    await storage.import_places("aura", [place("1"), place("2")])
    assert await rows(database_url, "SELECT retired, retired_at FROM places WHERE id = '2'") == [(0, None)]


async def test_unchanged_places_keep_their_timestamps(storage: Storage, database_url: str) -> None:
    """Re-importing identical data moves no timestamp; a change moves `updated_at` only, never `created_at`."""
    await storage.import_places("aura", [place("1"), place("2")])
    before = {r[0]: r[1:] for r in await rows(database_url, "SELECT id, created_at, updated_at FROM places")}
    await storage.import_places("aura", [place("1"), place("2", horaires="Mo 10:00-12:00")])
    after = {r[0]: r[1:] for r in await rows(database_url, "SELECT id, created_at, updated_at FROM places")}
    assert after["1"] == before["1"]
    assert after["2"][0] == before["2"][0]
    assert after["2"][1] > before["2"][1]


async def test_dry_run_counts_and_rolls_back(storage: Storage, database_url: str) -> None:
    """dry_run returns what the import would do and leaves every row as it was."""
    await storage.import_places("aura", [place("1"), place("2")])
    before = await rows(database_url, "SELECT * FROM places ORDER BY id")
    counts = await storage.import_places("aura", [place("2", nom="Autre"), place("3")], dry_run=True)
    assert counts == PlaceImportCounts(inserted=1, updated=1, retired=1)
    assert await rows(database_url, "SELECT * FROM places ORDER BY id") == before


async def test_an_import_is_one_transaction(storage: Storage, database_url: str) -> None:
    """When a write fails halfway (a value that cannot be stored), nothing of the import is kept: no insert,
    no update, no retirement."""
    await storage.import_places("aura", [place("1"), place("2")])
    before = await rows(database_url, "SELECT * FROM places ORDER BY id")
    broken = place("9", extra={"not json": object()})
    with pytest.raises((StorageError, TypeError)):
        await storage.import_places("aura", [place("1", nom="Changé"), place("3"), broken])
    assert await rows(database_url, "SELECT * FROM places ORDER BY id") == before


async def test_stats_count_active_places_by_kind_and_precision(storage: Storage) -> None:
    """Statistics: totals, retired, recommendable, without services or coordinates, positions by precision."""
    kept = [
        place("1"),
        place("2", latitude=45.0, longitude=6.0, position_precision="postcode"),
        place("3", latitude=None, longitude=None, position_precision="none"),
        place("4", services=()),
    ]
    await storage.import_places("aura", [*kept, place("5")])
    await storage.import_places("aura", kept)  # 5 retired
    stats = await storage.place_stats()
    assert dataclasses.replace(stats, sources=()).to_json() == {
        "places": 5,
        "retired": 1,
        "recommendable": 2,
        "without_services": 1,
        "without_coordinates": 1,
        "by_precision": {"exact": 2, "postcode": 1},
        "sources": [],
    }
    assert stats.sources[0].to_json() == {"source": "aura", "places": 5, "retired": 1, "without_services": 1,
                                          "without_coordinates": 1}


async def test_an_empty_database_has_empty_stats(storage: Storage, tmp_path: Path) -> None:
    """No place yet: zero everywhere, no source, nothing to load."""
    stats = await storage.place_stats()
    assert (stats.places, stats.retired, stats.recommendable, stats.sources) == (0, 0, 0, ())
    assert await storage.load_places() == []


def test_the_fast_json_form_is_place_to_json() -> None:
    """Storage's own serialisation of a Place gives exactly Place.to_json() (so stored data reads back)."""
    from bot.storage.places import place_json

    for sample in (place("1"), place("2", latitude=None, longitude=None, services=(), extra={})):
        assert place_json(sample) == sample.to_json()
