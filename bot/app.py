"""The composition root: loads flows and personas, opens storage, builds the engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.engine.engine import Engine
from bot.engine.flows import Flow, load_flow
from bot.errors import FlowError, Problem
from bot.offers import NoCatalogue, OfferSearch
from bot.personas import Personas, check_against_flow, load_personas
from bot.storage import Storage
from bot.storage.memory import MemoryStorage
from bot.storage.protocol import ConversationStore

DEFAULT_FLOW = "orientation.yaml"


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
            [Problem(str(path), flow.personas_line, f"personas file `{flow.personas_file}` not found beside the flow")]
        )
    personas = load_personas(personas_path)
    problems = check_against_flow(personas, flow)
    if problems:
        raise FlowError(problems)
    return LoadedFlow(flow, personas)


@dataclass(frozen=True, slots=True)
class App:
    settings: Settings
    storage: ConversationStore
    engine: Engine


@asynccontextmanager
async def open_app(
    settings: Settings, flow_path: Path | None = None, offers: OfferSearch | None = None, *, in_memory: bool = False
) -> AsyncIterator[App]:
    """Everything the bot runs on, opened in order and closed in reverse. `in_memory`: no database at all
    (flow tests, benchmarks)."""
    loaded = load_flow_with_personas(flow_path or settings.flows_dir / DEFAULT_FLOW)
    async with AsyncExitStack() as stack:
        storage: ConversationStore = MemoryStorage() if in_memory else await Storage.open(settings.database_url)
        stack.push_async_callback(storage.close)
        engine = Engine(loaded.flow, loaded.personas, storage, offers or NoCatalogue())
        await engine.start()
        yield App(settings, storage, engine)
