"""Engine.handle(inbound) -> Turn: lock the conversation, load it, step the flow, save, answer.

Channel-neutral: Telegram, the web chat and the terminal all come through here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Protocol

from bot.callbacks.queues import QueueSet
from bot.core.commands import START
from bot.core.errors import ConflictError, FlowError
from bot.core.live import Current, Live
from bot.core.messages import Inbound, InboundKind, Offer, Reply, Turn
from bot.engine.bundle import FlowBundle
from bot.engine.conversation import Conversation
from bot.engine.dialogue import Dialogue
from bot.engine.locks import KeyedLocks
from bot.engine.machine import ENDED_STATE, FlowMachine
from bot.engine.privacy_dialogue import PrivacyTerms
from bot.engine.texts import Texts
from bot.language.flows import Flow, flow_from_source
from bot.language.personas import Personas
from bot.places.offers import LocationResolver, NoGeography, OfferSearch
from bot.storage import CallbackRow, ConversationRecord
from bot.storage.protocol import ConversationStore, TurnTransaction
from bot.storage.records import TurnWrites
from bot.understanding.analysis import model, model_loaded

log = logging.getLogger(__name__)
# What a channel writes with the turn, in its transaction (the reply queued, the update marked handled).
TurnEffects = Callable[[TurnTransaction, Turn], Awaitable[None]]


class CallbackHook(Protocol):
    """Told, inside the turn's transaction, of the callback requests a turn created or cancelled (the audit trail,
    the mediators' group post: bot/callbacks/desk.py); returns what to do once the transaction is committed."""

    async def turn_changes(
        self, tx: TurnTransaction, created: Sequence[CallbackRow], cancelled: Sequence[CallbackRow]
    ) -> Callable[[], None]: ...


MAX_ATTEMPTS = 3  # another process changed the conversation meanwhile: read it again and redo the turn


class Engine:
    def __init__(
        self,
        flow: Flow,
        personas: Personas,
        storage: ConversationStore,
        offers: OfferSearch,
        locations: LocationResolver | None = None,
        *,
        queues: QueueSet | Current[QueueSet] | None = None,
        privacy: PrivacyTerms | None = None,
        callback_hook: CallbackHook | None = None,
    ) -> None:
        """`queues`: where callback requests go, by the person's place (a `Current` when a reload may replace
        them). `callback_hook`: told of the requests each turn creates or cancels (the callback desk)."""
        self.current = FlowBundle(flow, FlowMachine(flow), personas)
        self.storage = storage
        self.offers = offers
        self.locations: LocationResolver = locations or NoGeography()
        if queues is None or isinstance(queues, QueueSet):
            queues = Live(queues or QueueSet.only_default())
        self._queues = queues
        self.privacy = privacy or PrivacyTerms()  # the retention periods people are told
        self.locks = KeyedLocks()
        self.callback_hook = callback_hook
        self._versions: dict[str, FlowBundle] = {flow.version: self.current}

    @property
    def queues(self) -> QueueSet:
        return self._queues.current

    def text(self, key: str, channel: str | None = None) -> str:
        """A text of the current flow's messages, for a channel's own needs (button labels, error notice, the
        privacy notice a page shows apart), in that channel's words, its variables filled in."""
        bundle = self.current
        texts = Texts(bundle.flow, bundle.personas, self.privacy.variables, channel)
        return texts.render(bundle.flow.messages[key], Conversation())

    async def start(self) -> None:
        """Remember the current flow's source, so conversations started on it keep it after an edit."""
        flow = self.current.flow
        await self.storage.remember_flow_version(flow.name, flow.version, flow.file, flow.source)

    async def replace_flow(self, flow: Flow, personas: Personas) -> None:
        """Serve `flow` and `personas` from now on (the files were edited: bot/app/reload.py). New conversations start
        on it; those under way keep the version they started with (its source stays known). Remembered first, so
        a StorageError leaves the current flow in place."""
        await self.storage.remember_flow_version(flow.name, flow.version, flow.file, flow.source)
        self.current = self._versions[flow.version] = FlowBundle(flow, FlowMachine(flow), personas)

    async def handle(self, inbound: Inbound, effects: TurnEffects | None = None) -> Turn:
        """One turn. `effects` runs inside the turn's write transaction (it may run again if the turn is redone
        after a conflict): whatever it writes is committed with the conversation, or not at all."""
        if inbound.kind is InboundKind.TEXT and not model_loaded():
            # the French model loads in a thread (a few seconds, once per process): other chats go on meanwhile
            await asyncio.to_thread(model)
        async with self.locks.hold(inbound.key):
            for attempt in range(1, MAX_ATTEMPTS + 1):
                try:
                    return await self._handle_once(inbound, effects)
                except ConflictError:
                    if attempt == MAX_ATTEMPTS:
                        raise
                    log.info("conversation changed by another process; retrying the turn (attempt %d)", attempt)
            raise AssertionError("unreachable")

    async def _handle_once(self, inbound: Inbound, effects: TurnEffects | None) -> Turn:
        """Read the conversation, work the turn out with no transaction open (so a slow offer search holds
        up nobody else), then write everything in one short transaction whose version check refuses a turn
        computed on a stale read."""
        record = await self.storage.read_conversation(inbound.key)
        migrated = False
        if record is None:
            flow = self.current.flow
            record = ConversationRecord(inbound.key, flow.name, flow.version, flow.start, {})
            bundle = self.current
        else:
            bundle, migrated = await self._bundle_for(record)
        writes = TurnWrites()
        dialogue = self._dialogue(bundle, record, writes)
        turn = await (dialogue.migrate() if migrated else dialogue.handle(inbound))
        record.state, record.data = dialogue.state, dialogue.conversation.to_json()  # as stored
        after: Callable[[], None] | None = None
        async with self.storage.transaction() as tx:
            created = [await tx.create_callback(new, callback_id) for callback_id, new in writes.callbacks]
            cancelled = await tx.cancel_open_callbacks(record.key) if writes.cancel or writes.forget else []
            await tx.add_misunderstood(writes.misunderstood)
            await tx.add_feedback(writes.feedback)
            if writes.cancel:
                done = "callback_cancelled" if cancelled else "callback_none_open"
                turn = replace(
                    turn, replies=(Reply(dialogue.label(done)), *turn.replies)
                )  # of whoever was to be called
            if writes.forget:
                await tx.forget(record.key)
            else:
                await tx.save_conversation(record)
            if self.callback_hook is not None and (created or cancelled):
                after = await self.callback_hook.turn_changes(tx, created, cancelled)
            if effects is not None:
                await effects(tx, turn)
        if after is not None:
            after()
        return turn

    async def current_turn(self, key: str) -> Turn | None:
        """The question the conversation stands on, asked again, changing nothing (a web page reloaded). None when
        there is no conversation, it has ended, or it stands on no question (it needs a real turn)."""
        record = await self.storage.read_conversation(key)
        if record is None or record.state == ENDED_STATE:
            return None
        bundle, migrated = await self._bundle_for(record)
        if migrated:
            return None
        return self._dialogue(bundle, record, TurnWrites()).current_question()

    async def kept_places(self, key: str) -> list[Offer]:
        """The places shown so far in a conversation, in the order shown (its list to keep or print), looked up
        again; [] when there is no conversation or it has shown none."""
        record = await self.storage.read_conversation(key)
        if record is None:
            return []
        bundle, migrated = await self._bundle_for(record)
        if migrated:
            return []
        dialogue = self._dialogue(bundle, record, TurnWrites())
        return await dialogue.places.kept(dialogue.view())

    async def ended_turn(self, key: str) -> Turn | None:
        """For someone coming back to a conversation that has ended (a web page opened again days later): that it
        ended and how to begin again, changing nothing, rather than starting again unasked. None when the
        conversation is not there or has not ended."""
        record = await self.storage.read_conversation(key)
        if record is None or record.state != ENDED_STATE:
            return None
        bundle, _migrated = await self._bundle_for(record)
        dialogue = self._dialogue(bundle, record, TurnWrites())
        dialogue.say("welcome_back")
        return dialogue.turn()

    async def welcome(self, key: str) -> Turn:
        """The first turn of a new conversation (/start), worked out and not stored: a web page shows it on arrival,
        and nothing is kept before the person acts. Answering its question then begins the conversation."""
        flow = self.current.flow
        record = ConversationRecord(key, flow.name, flow.version, flow.start, {})
        return await self._dialogue(self.current, record, TurnWrites()).handle(Inbound.typed(key, START))

    def _dialogue(self, bundle: FlowBundle, record: ConversationRecord, writes: TurnWrites) -> Dialogue:
        return Dialogue(
            bundle,
            record,
            Conversation.from_json(record.data),  # what is stored, typed: read here, written back by the turn
            writes,
            self.offers,
            self.locations,
            self.queues,
            privacy=self.privacy,
            callbacks_of=self.storage.callbacks_for,
        )

    async def _bundle_for(self, record: ConversationRecord) -> tuple[FlowBundle, bool]:
        """The flow version the conversation started with; else the current one (migrated when needed)."""
        bundle = self._versions.get(record.flow_version)
        if bundle is None and record.flow == self.current.flow.name:
            bundle = await self._load_old_version(record.flow_version)
        if bundle is not None:
            return bundle, False
        current = self.current
        record.flow, record.flow_version = current.flow.name, current.flow.version
        if current.machine.knows(record.state) or record.state == ENDED_STATE:
            return current, False
        return current, True

    async def _load_old_version(self, version: str) -> FlowBundle | None:
        found = await self.storage.flow_source(version)
        if found is None:
            return None
        file, source = found
        try:
            flow = flow_from_source(source, file)
        except (FlowError, ValueError, KeyError):
            log.warning("stored flow version %s no longer loads; conversations on it are migrated", version)
            return None
        bundle = FlowBundle(flow, FlowMachine(flow), self.current.personas)
        self._versions[version] = bundle
        return bundle
