"""The real catalogue and geography together: a newcomer near Lyon gets real, explained places, from the
search command and at the end of the conversation, for every persona."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bot.app.root import open_app
from bot.config import Settings
from tests.conftest import ROOT, Chat
from tests.engine.test_questions import PATHS
from tests.test_cli import run_bot

BUNDLED = ROOT / "catalogue" / "lieux-auvergne-rhone-alpes.csv"
LYON = (45.7597, 4.8422)
PERSONAS = list(PATHS)


def bundled_ids() -> set[str]:
    with BUNDLED.open(encoding="utf-8") as handle:
        return {row["id"] for row in csv.DictReader(handle)}


def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            "FLOWS_DIR": str(ROOT / "flows"),
            "CATALOGUE_DIR": str(ROOT / "catalogue"),
        }
    )


async def test_an_empty_database_gets_the_bundled_catalogue_once(tmp_path: Path) -> None:
    """First start on an empty database: the 687 bundled places are loaded; later starts load nothing again."""
    async with open_app(settings(tmp_path)) as app:
        assert len(app.places) == 687
        first = await app.storage.place_stats()  # type: ignore[attr-defined]
    async with open_app(settings(tmp_path)) as app:
        again = await app.storage.place_stats()  # type: ignore[attr-defined]
    assert (first.places, again.places) == (687, 687)
    assert [s.source for s in again.sources] == ["lieux-auvergne-rhone-alpes"]


@pytest.mark.parametrize("persona", PERSONAS)
async def test_each_persona_near_lyon_ends_with_real_places(tmp_path: Path, persona: str) -> None:
    """The whole conversation, for each persona, living in Lyon 3e: it ends with three real places of the
    bundled catalogue, each within 50 km, each with its reasons, the page nearest first."""
    async with open_app(settings(tmp_path)) as app:
        chat = Chat(app.engine)
        turns = await chat.script(["bonjour", "value:self", *PATHS[persona]])
        assert turns[-1].persona is not None
        assert turns[-1].persona.id == persona
        await chat.send("value:easy")
        turn = await chat.send("69003")
    assert turn.state == "proposition"
    assert len(turn.offers) == 3
    assert {o.id for o in turn.offers} <= bundled_ids()
    for offer in turn.offers:
        assert offer.distance_km is not None
        assert offer.distance_km <= 50
        assert offer.reasons
        assert offer.address
    distances = [o.distance_km for o in turn.offers]
    assert distances == sorted(distances)  # the page reads nearest first
    assert "more" in [b.value for b in turn.buttons]


@pytest.mark.parametrize("persona", ["refractaire", "timide", "hyper_connecte"])
def test_catalogue_search_command_near_lyon(tmp_path: Path, persona: str) -> None:
    """`catalogue search --near … --persona … --json` lists real places near Lyon in the CONTRACT shape, and
    what suits the persona comes first (assistance for the refractaire, workshops for the timide)."""
    result = run_bot(
        ["catalogue", "search", "--near", "69003", "--persona", persona, "--limit", "5", "--json"], tmp_path
    )
    assert result.returncode == 0, result.stderr
    offers = json.loads(result.stdout)
    assert len(offers) == 5
    assert [o["distance_km"] for o in offers] == sorted(o["distance_km"] for o in offers)
    for offer in offers:
        assert set(offer) == {"id", "name", "distance_km", "services", "open_now"}
        assert offer["id"] in bundled_ids()
        assert offer["distance_km"] <= 50
    human = run_bot(["catalogue", "search", "--near", "69003", "--persona", persona, "--limit", "1"], tmp_path)
    expected = {
        "refractaire": "à votre place",
        "timide": "ateliers en petit groupe",
        "hyper_connecte": "proposer son aide",
    }[persona]
    assert expected in human.stdout


@pytest.mark.slow
def test_catalogue_search_refuses_unclear_places(tmp_path: Path) -> None:
    """Homonyms ask for the department; an unknown place or persona is a clear error (exit 2)."""
    homonyms = run_bot(["catalogue", "search", "--near", "Saint-Denis"], tmp_path)
    assert homonyms.returncode == 2
    assert "Saint-Denis (93)" in homonyms.stderr
    assert "add the department" in homonyms.stderr
    assert run_bot(["catalogue", "search", "--near", "Nulle-Part-Du-Tout"], tmp_path).returncode == 2
    unknown = run_bot(["catalogue", "search", "--near", "69003", "--persona", "senior"], tmp_path)
    assert unknown.returncode == 2
    assert "unknown persona" in unknown.stderr


def test_import_places_rows_without_coordinates_from_their_commune(tmp_path: Path) -> None:
    """`catalogue import` places the real PACA rows published without coordinates from their postcode and
    commune: every one of the 646 rows is imported, none reported for lack of a position."""
    paca = ROOT.parent / "shared" / "data" / "anct_client_paca-hub-du-sud_2023-05-17_rev2024-09-12.json"
    result = run_bot(["catalogue", "import", str(paca), "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["rows"], report["imported"], report["skipped"]) == (646, 646, 0)
    assert not [e for e in report["errors"] if e["field"] in ("latitude", "longitude", "code_postal")]
    stats = json.loads(run_bot(["catalogue", "stats", "--json"], tmp_path).stdout)
    assert stats["without_coordinates"] == 0
