"""Shared fixtures: the shipped flow, engines on real storage (SQLite file) or in memory, a scripted chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import LoadedFlow, load_flow_with_personas
from bot.channels.terminal import parse_line, turn_to_json
from bot.engine.engine import Engine
from bot.messages import Inbound, Turn
from bot.offers import NoCatalogue, OfferSearch
from bot.storage import Storage
from bot.storage.memory import MemoryStorage

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "flows"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def loaded() -> LoadedFlow:
    return load_flow_with_personas(FLOWS / "orientation.yaml")


class Chat:
    """Talks to an engine the way `chat --jsonl` does: one scripted input line, one turn."""

    def __init__(self, engine: Engine, key: str = "test:1") -> None:
        self.engine = engine
        self.key = key
        self.last: Turn | None = None

    async def send(self, line: str) -> Turn:
        self.last = await self.engine.handle(parse_line(self.key, line, bool(self.last and self.last.multi)))
        return self.last

    async def send_inbound(self, inbound: Inbound) -> Turn:
        self.last = await self.engine.handle(inbound)
        return self.last

    async def script(self, lines: list[str]) -> list[Turn]:
        return [await self.send(line) for line in lines]

    def json(self) -> dict[str, object]:
        assert self.last is not None
        return turn_to_json(self.last)


@pytest.fixture
async def memory_engine(loaded: LoadedFlow) -> Engine:
    engine = Engine(loaded.flow, loaded.personas, MemoryStorage(), NoCatalogue())
    await engine.start()
    return engine


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'passerelle.db'}"


@pytest.fixture(params=["fast", "core"])
async def sqlite_storage(request: pytest.FixtureRequest, sqlite_url: str) -> AsyncIterator[Storage]:
    """A real SQLite file, through the fast per-turn path and through SQLAlchemy Core (PostgreSQL's path)."""
    storage = await Storage.open(sqlite_url, fast_sqlite=request.param == "fast")
    yield storage
    await storage.close()


@pytest.fixture
async def sqlite_engine(loaded: LoadedFlow, sqlite_storage: Storage) -> Engine:
    engine = Engine(loaded.flow, loaded.personas, sqlite_storage, NoCatalogue())
    await engine.start()
    return engine


def make_engine(loaded: LoadedFlow, storage: Storage | MemoryStorage, offers: OfferSearch | None = None) -> Engine:
    return Engine(loaded.flow, loaded.personas, storage, offers or NoCatalogue())


@pytest.fixture
def versions_from_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """New conversations start at version 1 instead of a random one, so a test can count saves exactly."""
    import bot.storage.core
    import bot.storage.memory
    import bot.storage.sqlite

    for module in (bot.storage.core, bot.storage.sqlite, bot.storage.memory):
        monkeypatch.setattr(module, "first_version", lambda: 1)
