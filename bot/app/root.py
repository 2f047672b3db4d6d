"""The composition root, first half: loads flows and personas, the queues, the geography and the catalogue, opens
storage, builds the engine and the callback desk, each handed what it needs through its constructor. The second
half, `serve`, starts the channels, the web server and the background jobs around them."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.callbacks.desk import CallbackDesk, Notifier
from bot.callbacks.queuefile import load_queues
from bot.callbacks.queues import QueueSet
from bot.callbacks.view import Describer
from bot.channels.web.notifier import WebNotifier
from bot.config import Settings
from bot.core.errors import FlowError, Problem
from bot.core.live import Live
from bot.engine.engine import Engine
from bot.engine.privacy_dialogue import PrivacyTerms
from bot.language.flows import Flow, load_flow
from bot.language.personas import Personas, check_against_flow, load_personas
from bot.places.catalogue.importer import read_import
from bot.places.catalogue.model import Place
from bot.places.catalogue.search import CatalogueSearch, PlaceIndex
from bot.places.geo import Geo
from bot.places.locations import GeoLocations
from bot.places.offers import OfferSearch
from bot.storage import Storage
from bot.storage.crypto import load_keyring
from bot.storage.memory import MemoryStorage
from bot.storage.protocol import ChannelStore

DEFAULT_FLOW = "orientation.yaml"
CATALOGUE_FILES = ("*.csv", "*.json")  # the bundled catalogue: offer files directly in CATALOGUE_DIR
QUEUES_FILE = "queues.yaml"  # the mediators' queues, in CATALOGUE_DIR; without it, one default queue
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LoadedFlow:
    flow: Flow
    personas: Personas


def load_flow_with_personas(path: Path) -> LoadedFlow:
    """A flow and the personas file it names, checked against each other. Raises FlowError."""
    flow = load_flow(path)
    personas_path = path.parent / flow.personas_file
    if not personas_path.exists():
        raise FlowError(
            [
                Problem(
                    str(path),
                    flow.personas_line,
                    f"fichier des profils `{flow.personas_file}` introuvable à côté du parcours ; corrigez "
                    "`personas:` ou copiez le fichier dans ce dossier",
                )
            ]
        )
    personas = load_personas(personas_path)
    problems = check_against_flow(personas, flow)
    if problems:
        raise FlowError(problems)
    return LoadedFlow(flow, personas)


@dataclass(frozen=True, slots=True)
class DataFiles:
    """What the coordinators' files give the running bot: the flow with its personas, the mediators' queues. Held
    in one `Live` holder, replaced whole by a reload."""

    flow: Flow
    personas: Personas
    queues: QueueSet


def load_data_files(settings: Settings, flow_path: Path | None, geo: Geo) -> DataFiles:
    """The flow (FLOWS_DIR/orientation.yaml or `flow_path`, its messages and personas) and CATALOGUE_DIR/queues.yaml,
    read with the loaders of `flows check`, at start-up and at each reload (bot/app/reload.py). Raises FlowError with
    the problems of both files."""
    problems: list[Problem] = []
    loaded: LoadedFlow | None = None
    queues: QueueSet | None = None
    try:
        loaded = load_flow_with_personas(flow_path or settings.flows_dir / DEFAULT_FLOW)
    except FlowError as exc:
        problems += exc.problems
    try:
        queues = load_queues(settings.catalogue_dir / QUEUES_FILE, default_chat_id=settings.mediator_chat_id, geo=geo)
    except FlowError as exc:
        problems += exc.problems
    if loaded is None or queues is None:
        raise FlowError(problems)
    return DataFiles(loaded.flow, loaded.personas, queues)


@dataclass(frozen=True, slots=True)
class Database:
    """What only a SQL database brings (not in memory: flow tests, benchmarks): callback requests after they are
    recorded (the desk), and with them the mediators' dashboard, the scheduled jobs and the purge."""

    storage: Storage
    desk: CallbackDesk


@dataclass(frozen=True, slots=True)
class App:
    settings: Settings
    storage: ChannelStore
    engine: Engine
    geo: GeoLocations
    places: PlaceIndex
    files: Live[DataFiles]  # the coordinators' files in force: everything reads them through this holder
    describer: Describer
    database: Database | None = None  # decided once, here: whatever needs a database looks at this
    # The desk's notifiers: the web chat's; the Telegram channel's are added by the root before anything runs.
    notifiers: list[Notifier] = field(default_factory=list)

    @property
    def queues(self) -> QueueSet:
        return self.files.current.queues

    @property
    def desk(self) -> CallbackDesk | None:
        return self.database.desk if self.database is not None else None


def bundled_files(catalogue_dir: Path) -> list[Path]:
    """The offer files (JSON Schemas for editors, such as queues.schema.json, are not offers)."""
    found = (p for pattern in CATALOGUE_FILES for p in catalogue_dir.glob(pattern))
    return sorted(p for p in found if not p.name.endswith(".schema.json"))


def read_bundled(catalogue_dir: Path, locations: GeoLocations) -> dict[str, list[Place]]:
    """The offer files shipped in CATALOGUE_DIR, read with the importer (one source per file)."""
    return {
        path.stem: list(read_import([path], source=path.stem, placer=locations.place).places.values())
        for path in bundled_files(catalogue_dir)
    }


async def load_places(settings: Settings, storage: Storage | None, locations: GeoLocations) -> list[Place]:
    """The places to recommend. A database without any place gets the bundled catalogue first, so a newcomer
    has real answers out of the box; after that the database is the reference (`catalogue import`). Without a
    database: the bundled catalogue."""
    if storage is None:
        return [p for places in read_bundled(settings.catalogue_dir, locations).values() for p in places]
    if (await storage.place_stats()).places == 0:
        for source, places in read_bundled(settings.catalogue_dir, locations).items():
            counts = await storage.import_places(source, places)
            log.info("bundled catalogue %s loaded into an empty database: %d places", source, counts.inserted)
    return await storage.load_places()


@asynccontextmanager
async def open_app(
    settings: Settings, flow_path: Path | None = None, offers: OfferSearch | None = None, *, in_memory: bool = False
) -> AsyncIterator[App]:
    """Everything the bot runs on, opened in order and closed in reverse. `in_memory`: no database at all
    (flow tests, benchmarks): the bundled catalogue is read straight from its files."""
    locations = GeoLocations(Geo.load())
    # A broken flow or queues file refuses the start, with its file:line problems (FlowError).
    files = Live(load_data_files(settings, flow_path, locations.geo))
    queues = files.part(_queues)
    async with AsyncExitStack() as stack:
        sql: Storage | None = None
        if not in_memory:
            # This process among those sharing the database: its host and port (a restart on the same ones takes
            # up the messages its previous run left unsent at once; another process's, once their lease runs out).
            owner = f"{socket.gethostname()}:{settings.port}"
            sql = await Storage.open(settings.database_url, owner=owner, keyring=load_keyring(settings))
        storage: ChannelStore = sql if sql is not None else MemoryStorage()
        stack.push_async_callback(storage.close)
        index = PlaceIndex(await load_places(settings, sql, locations))

        def texts(key: str, for_whom: str | None = None, called: str | None = None, /) -> str:
            return files.current.flow.messages[key].pick(for_whom, called)  # a text of the flow's messages in force

        notifiers: list[Notifier] = [WebNotifier()]
        database = None if sql is None else Database(sql, CallbackDesk(sql, queues, texts, notifiers=notifiers))
        engine = Engine(
            files.current.flow,
            files.current.personas,
            storage,
            offers or CatalogueSearch(index),
            locations,
            queues=queues,
            privacy=PrivacyTerms(settings.retention_conversations_days, settings.retention_callbacks_days),
            callback_hook=database.desk if database is not None else None,
        )
        await engine.start()
        describer = Describer(files, texts, place_names(index))
        yield App(settings, storage, engine, locations, index, files, describer, database, notifiers)


def _queues(files: DataFiles) -> QueueSet:
    return files.queues


def place_names(index: PlaceIndex) -> Callable[[str], str | None]:
    """A place's name and commune by id, for the mediators ("France Services (Pau)")."""
    names = {p.id: f"{p.nom} ({p.commune})" if p.commune else p.nom for p in index.places}
    return names.get
