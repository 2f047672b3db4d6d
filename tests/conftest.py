"""Shared fixtures: the shipped flow, engines on real storage (SQLite file) or in memory, a scripted chat."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from bot.app.root import LoadedFlow, load_flow_with_personas
from bot.channels.terminal import parse_line, turn_to_json
from bot.core.messages import Inbound, Turn
from bot.engine.engine import Engine
from bot.places.offers import NoCatalogue, OfferSearch
from bot.storage import Storage
from bot.storage.memory import MemoryStorage
from bot.understanding.analysis import model
from tests.support.postgres import PostgresCluster, PostgresUnavailable, start_cluster

# How the tests are shared out among parallel workers: hooks, registered by being names of this module.
from tests.support.workers import pytest_collection_modifyitems, pytest_xdist_auto_num_workers  # noqa: F401

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page

    from tests.support.browser import RunningServer

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "flows"
SHARED = ROOT.parent / "shared"
# A timide who wants to keep in touch with the family, by buttons, up to getting about (the next question).
TIMIDE_TO_MOBILITY = ["bonjour", "value:self", "value:family_contact", "value:smartphone", "value:weekly",
                      "value:intermediate", "value:unsure", "value:confidence"]  # fmt: skip


@pytest.fixture(scope="session", autouse=True)
def french_model() -> None:
    """spaCy's French model, loaded once per worker before its first test: a test's own time limits never
    include the few seconds (much more on a loaded machine) of that load, which a running bot pays at start."""
    model()


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


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A throw-away PostgreSQL server on 127.0.0.1 (tests/support/postgres.py), started the first time a test of the
    session needs it (about a second; each parallel worker has its own) and removed at the end. No PostgreSQL and
    no way to install it: the tests needing it fail, saying what to install (never skipped: CI must run them)."""
    try:
        cluster = start_cluster()
    except PostgresUnavailable as exc:
        pytest.fail(f"PostgreSQL for the tests: {exc}", pytrace=False)
    yield cluster
    cluster.stop()


@pytest.fixture
async def postgres_url(postgres_cluster: PostgresCluster) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database of the test's own (`postgresql+asyncpg://postgres@127.0.0.1:PORT/NAME`),
    dropped afterwards."""
    name = await postgres_cluster.new_database()
    yield postgres_cluster.url(name)
    await postgres_cluster.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each engine: a SQLite file in the test's folder, a PostgreSQL database of its own."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite+aiosqlite:///{tmp_path / 'passerelle.db'}"


# Every way Storage runs a unit of work: on SQLite through the fast path (sqlite.py) and through SQLAlchemy Core
# (core.py), on PostgreSQL through Core. A test taking `database_url` and `fast_sqlite` runs on each, as
# `Storage.open(database_url, fast_sqlite=fast_sqlite)`.
every_storage_path = pytest.mark.parametrize(
    ("database_url", "fast_sqlite"),
    [
        pytest.param("sqlite", True, id="sqlite-fast"),
        pytest.param("sqlite", False, id="sqlite-core"),
        pytest.param("postgresql", False, id="postgresql"),
    ],
    indirect=["database_url"],
)


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


# ----- the web server and the browser (tests/support/browser.py) ------------------------------------------------------
# Their objects live on the session's event loop (one Chromium per session; its tests share a worker): a test
# module using them sets `pytestmark = pytest.mark.asyncio(loop_scope="session")`.
@pytest_asyncio.fixture(loop_scope="session")
async def web_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """The whole server (`bot.app.server.serve`, no Telegram) on a free loopback port, on a SQLite file of the test's
    own: `web_server.url`, `web_server.app.storage`."""
    from tests.support.browser import running_server, web_settings

    async with running_server(web_settings(tmp_path / "web.db")) as server:
        yield server


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium() -> AsyncIterator[Browser]:
    """Debian's headless Chromium (/usr/bin/chromium, installed with apt-get when missing) driven by Playwright,
    one for the session; it resolves no host but loopback."""
    from playwright.async_api import async_playwright

    from tests.support.browser import BrowserSetupError, ensure_chromium, launch_chromium

    try:
        executable = ensure_chromium()
    except BrowserSetupError as exc:
        pytest.fail(f"Chromium for the browser tests: {exc}", pytrace=False)
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright, executable)
        yield browser
        await browser.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browser_context(chromium: Browser, web_server: RunningServer) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (no cookies) on `web_server`, French, phone-sized (360×740), requests outside
    loopback aborted; `page.goto("/")` opens the web chat."""
    from tests.support.browser import block_outside

    context = await chromium.new_context(
        base_url=web_server.url,
        locale="fr-FR",
        viewport={"width": 360, "height": 740},
        device_scale_factor=1,
        reduced_motion="reduce",  # no smooth scrolling: screenshots show where the page comes to rest
    )
    await context.route("**/*", block_outside)
    context.set_default_timeout(10_000)
    yield context
    await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser_context: BrowserContext) -> Page:
    """A tab of `browser_context`."""
    return await browser_context.new_page()
