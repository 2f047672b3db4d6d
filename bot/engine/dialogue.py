"""One turn of one conversation: understand the inbound, move through the flow, say what follows.

A Dialogue is built per message around the stored record and thrown away after; the engine owns locking
and the transaction. Nothing here knows about Telegram, the web or the terminal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from bot.callbacks.queues import QueueSet
from bot.core.commands import CANCEL, CONFIRM, HUMAN, MY_DATA
from bot.core.errors import FlowError, Problem
from bot.core.messages import (
    Button,
    CallbackRef,
    Inbound,
    InboundKind,
    Offer,
    PersonaResult,
    Reply,
    Turn,
    question_token,
)
from bot.core.slots import UNKNOWN, SlotValue, condition_holds
from bot.core.text import normalise, parse_coordinates
from bot.engine.callback_dialogue import CallbackDialogue
from bot.engine.inbound import (
    CONFIRM_WORDS,
    button_value,
    by_number,
    command_of,
    exclusive_clean,
    is_empty,
    parse_input,
    toggle,
)
from bot.engine.machine import CALLBACK_PHASES, ENDED_STATE, FORGET_STATE, Conversation, FlowMachine
from bot.engine.places_dialogue import PlacesDialogue
from bot.engine.privacy_dialogue import CallbackReader, PrivacyDialogue, PrivacyTerms
from bot.language.flows import Choice, Flow, Step, Wording
from bot.language.personas import Personas
from bot.places.offers import LocationResolver, OfferSearch
from bot.storage import ConversationRecord
from bot.storage.records import TurnWrites
from bot.understanding.matching import Candidate, build_candidates, match_many, match_one

log = logging.getLogger(__name__)
MAX_MOVES = 64  # a flow that says things in a circle without ever asking is a bug: stop, don't hang


@dataclass(frozen=True, slots=True)
class FlowBundle:
    flow: Flow
    machine: FlowMachine
    personas: Personas
    # Normalised button names per question, built on first use: labels and synonyms never change at run time.
    candidates: dict[str, tuple[list[Candidate], list[str]]] = field(default_factory=dict)


class Dialogue:
    def __init__(
        self,
        bundle: FlowBundle,
        record: ConversationRecord,
        writes: TurnWrites,
        offers: OfferSearch,
        locations: LocationResolver,
        queues: QueueSet | None = None,
        *,
        privacy: PrivacyTerms | None = None,
        callbacks_of: CallbackReader | None = None,
    ) -> None:
        self.bundle = bundle
        self.flow = bundle.flow
        self.machine = bundle.machine
        self.personas = bundle.personas
        self.record = record
        self.writes = writes  # committed by the engine with the conversation, before any reply is sent
        self.offers_search = offers
        self.locations = locations
        self.queues = queues or QueueSet.only_default()
        self.conversation = Conversation(record.state)
        self.replies: list[Reply] = []
        self.shown_offers: tuple[Offer, ...] = ()
        self.callback: CallbackRef | None = None
        self.forgotten = False
        self.callbacks = CallbackDialogue(self)
        self.places = PlacesDialogue(self)
        self.privacy = PrivacyDialogue(self, privacy or PrivacyTerms(), callbacks_of)
        self._variables: dict[tuple[str | None, str | None], dict[str, object]] = {}  # per speaker and persona

    # ----- state helpers -------------------------------------------------------------------------------
    @property
    def data(self) -> dict[str, Any]:
        return self.record.data

    @property
    def answers(self) -> dict[str, SlotValue]:
        answers: dict[str, SlotValue] = self.data.setdefault("answers", {})
        return answers

    @property
    def state(self) -> str:
        return self.conversation.state

    def step(self) -> Step | None:
        return self.flow.steps.get(self.state)

    def callback_phase(self) -> tuple[Step, str] | None:
        step_id, _, phase = self.state.rpartition(".")
        step = self.flow.steps.get(step_id)
        if step is not None and step.action == "request_callback" and phase in CALLBACK_PHASES:
            return step, phase
        return None

    def move(self, dest: str) -> None:
        self.machine.move(self.conversation, dest)
        self.record.state = dest
        self.data.pop("misses", None)

    # ----- rendering -----------------------------------------------------------------------------------
    def render(self, wording: Wording, **extra: object) -> str:
        for_whom = self.answers.get("for_whom")
        who = for_whom if isinstance(for_whom, str) else None
        text = wording.pick(who)
        if "{" not in text:
            return text  # most labels: nothing to fill in
        persona = self.data.get("persona")
        persona_id = persona["id"] if persona else None
        values = self._variables.get((who, persona_id))
        if values is None:
            values = {
                **self.privacy.terms.variables(),
                **{name: w.pick(who) for name, w in self.flow.variables.items()},
            }
            found = self.personas.personas.get(persona_id) if persona_id else None
            if found is not None:
                values["persona_title"] = found.title
            self._variables[(who, persona_id)] = values
        return text.format_map(_Blank({**values, **extra}))

    def say(self, key_or_wording: str | Wording, **extra: object) -> None:
        wording = self.flow.messages[key_or_wording] if isinstance(key_or_wording, str) else key_or_wording
        self.replies.append(Reply(self.render(wording, **extra)))

    def label(self, key: str) -> str:
        return self.render(self.flow.messages[key])

    # ----- the turn ------------------------------------------------------------------------------------
    async def handle(self, inbound: Inbound) -> Turn:
        before = self.state
        with self.machine.attached(self.conversation):
            await self._handle(inbound)
            if not self.forgotten:
                self.privacy.inform()  # the first question of a conversation comes with what is kept and why
        if log.isEnabledFor(logging.DEBUG):  # the conversation by a digest of its key; never what was said
            log.debug(
                "turn %s: %s at %s -> %s", question_token(self.record.key), inbound.kind.value, before, self.state
            )
        return self.turn()

    async def _handle(self, inbound: Inbound) -> None:
        command = command_of(inbound) or self.typed_command(inbound)
        fresh = self.record.version == 0 or self.state == ENDED_STATE
        if command is not None:
            await self.command(command)
        elif inbound.kind is InboundKind.UNSUPPORTED:
            self.say("unsupported")
            await (self.restart(announce=False) if fresh else self.reprompt())
        elif fresh:
            await self.restart(announce=False)
            if self.record.version == 0 and inbound.context == question_token(self.state):
                # The first turn was shown without being stored (the web page, on arrival: nothing is kept before
                # the person acts); this answers its question.
                self.privacy.inform()  # was shown with it
                self.replies.clear()
                await self.answer_current(inbound)
        elif (
            inbound.context is not None
            and inbound.context != question_token(self.state)
            and inbound.kind is not InboundKind.TEXT  # typed: read against the current question, whatever the page
        ):
            self.say("stale_button")  # a button of an earlier question: not an answer to this one
            await self.reprompt()
        else:
            await self.answer_current(inbound)

    async def answer_current(self, inbound: Inbound) -> None:
        """What the person sent, read as the answer to the question the conversation stands on."""
        if self.state == FORGET_STATE:
            await self.privacy.answer_forget(inbound)
        elif (phase := self.callback_phase()) is not None:
            await self.callbacks.answer(phase[0], phase[1], inbound)
        else:
            step = self.step()
            if step is None or not step.waits:  # stored mid-way by an older bug or version: start again safely
                await self.restart(announce=True)
            elif step.kind == "menu":
                await self.answer_menu(step, inbound)
            else:
                await self.answer_question(step, inbound)

    def typed_command(self, inbound: Inbound) -> str | None:
        """The "Parler à quelqu'un" button's label typed (or sent by a keyboard that types labels) is /humain."""
        if inbound.kind is InboundKind.TEXT and normalise(inbound.text) == normalise(self.label("human_label")):
            return HUMAN
        return None

    def turn(self) -> Turn:
        step = self.step()
        waiting_slot = step.slot if step is not None and step.kind == "ask" else None
        persona = self.data.get("persona")
        buttons = self.replies[-1].buttons if self.replies else ()
        return Turn(
            replies=tuple(self.replies),
            state=self.state,
            slot=waiting_slot,
            multi=bool(step is not None and step.multi),
            buttons=buttons,
            persona=PersonaResult(persona["id"], persona["confidence"], tuple(persona["reasons"])) if persona else None,
            offers=self.shown_offers,
            callback=self.callback,
            done=self.state == ENDED_STATE or self.forgotten,
        )

    # ----- commands --------------------------------------------------------------------------------------
    async def command(self, command: str) -> None:
        if command == "/start":
            await self.restart(announce=self.record.version != 0)
        elif command == "/aide":
            self.say("help")
            await self.reprompt()
        elif command == "/humain":
            step = self.step()
            if self.callback_phase() is not None:
                self.prompt()  # already asking for a callback: ask the current part again
                return
            if step is not None and step.waits and step.id != self.flow.human:
                self.data["resume"] = step.id  # back to this question once the callback is asked or declined
            await self.enter(self.flow.human)
        elif command == "/oublier":
            self.privacy.ask_forget()
        elif command == MY_DATA:
            await self.privacy.show()
            await self.reprompt()  # then back to where the conversation was
        elif command == CANCEL:
            self.writes.cancel_callbacks()  # the engine cancels the open requests and says which it found
            await self.reprompt()
        elif command == "/stop":
            self.data.pop("callback_draft", None)  # a number typed for a callback never asked for is not kept
            self.say("stop")
            self.move(ENDED_STATE)
        else:
            self.say("unknown_command", step=command)
            await self.reprompt()

    async def restart(self, *, announce: bool) -> None:
        # Starting again forgets the answers, not what the person was told and agreed to (erased by /oublier).
        kept = {"privacy": self.data["privacy"]} if "privacy" in self.data else {}
        self.record.data = kept
        if announce:
            self.say("restart")
        await self.enter(self.flow.start)

    async def reprompt(self) -> None:
        """Ask the current question again; in an ended conversation, there is none. A conversation whose
        very first message was a command (/aide) stands on the start step, which asks nothing: begin it."""
        step = self.step()
        if step is not None and not step.waits:
            await self.enter(self.flow.start)
        elif self.state != ENDED_STATE:
            self.prompt()

    # ----- moving through the flow ----------------------------------------------------------------------
    async def enter(self, step_id: str, *, skip_answered: bool = False) -> None:
        for _ in range(MAX_MOVES):
            self.move(step_id)
            step = self.flow.steps[step_id]
            if step.kind == "ask" and skip_answered and step.slot in self.answers:
                step_id = self.next_of(step, None)
                continue
            if step.waits:
                self.prompt()
                return
            if step.kind == "say" and step.text is not None and not skip_answered:
                # When resuming a migrated conversation, texts on the way were already read ("Bonjour et
                # bienvenue !" again after "vos réponses sont gardées" would be odd).
                self.say(step.text)
            elif step.action == "classify":
                self.classify(show=True)
            elif step.action == "show_offers":
                await self.places.show_offers()
            elif step.action == "request_callback":
                self.data["callback_draft"] = {}
                self.callbacks.ask(step, "consent")
                return
            if step.end:
                self.move(ENDED_STATE)
                return
            step_id = self.next_of(step, None)
        raise FlowError(
            [
                Problem(
                    self.flow.file,
                    self.flow.steps[step_id].line,
                    f"step `{step_id}`: the flow loops without ever asking a question",
                )
            ]
        )

    def next_of(self, step: Step, choice: Choice | None) -> str:
        if choice is not None and choice.goto:
            return choice.goto
        for rule in step.next:
            if condition_holds(dict(rule.when), self.answers) and not (
                rule.unless and condition_holds(dict(rule.unless), self.answers)
            ):
                return rule.goto
        raise FlowError([Problem(self.flow.file, step.line, f"step `{step.id}`: no `next` applies")])

    def prompt(self, *, offer_human: bool = False, edit: bool = False) -> None:
        """Say the current question (or callback / forget question) with its buttons."""
        if self.state == FORGET_STATE:
            self.privacy.prompt_forget()
            return
        if (phase := self.callback_phase()) is not None:
            self.callbacks.prompt(phase[1])
            return
        step = self.step()
        if step is None or not step.waits or step.text is None:
            return
        options = [(c.value, self.render(c.label)) for c in step.choices if not self.places.pointless(c)]
        if step.kind == "ask" and step.allow_unknown:
            options.append((UNKNOWN, self.label("unknown_label")))
        request = "location" if step.input == "location" else None
        if step.multi:
            selected = set(self.data.get("pending", []))
            buttons = [Button(label, value, value in selected) for value, label in options]
            buttons.append(Button(self.label("confirm_label"), CONFIRM))
            text = self.render(step.text) + "\n" + self.label("multi_hint")
            self.replies.append(Reply(text, tuple(buttons + self.human_button(offer_human)), multi=True, edit=edit))
            return
        self.question(step.text, options, offer_human=offer_human, request=request)

    def question(
        self, text: Wording, options: list[tuple[str, str]], *, offer_human: bool = False, request: str | None = None
    ) -> None:
        buttons = [Button(label, value) for value, label in options] + self.human_button(offer_human)
        self.replies.append(
            Reply(
                self.render(text),
                tuple(buttons),
                request="location" if request == "location" else "contact" if request == "contact" else None,
            )
        )

    def human_button(self, offer: bool) -> list[Button]:
        return [Button(self.label("human_label"), HUMAN)] if offer else []

    def missed(self, message: str | Wording = "not_understood", **extra: object) -> None:
        """A kind rephrasing and the question again; after a few misses, a human is offered too."""
        misses = int(self.data.get("misses", 0)) + 1
        # Not while the callback is being asked for: offering "a person can call you back" there makes no
        # sense, and the specific hint (e.g. how to write a phone number) must not be replaced.
        too_many = misses >= self.flow.max_misses and self.callback_phase() is None
        self.say("not_understood_human" if too_many else message, **extra)
        self.prompt(offer_human=too_many)
        self.data["misses"] = misses

    # ----- answers ---------------------------------------------------------------------------------------
    def candidates_for(self, step: Step) -> tuple[list[Candidate], list[str]]:
        cached = self.bundle.candidates.get(step.id)
        if cached is None:
            cached = self.bundle.candidates[step.id] = self._build_candidates(step)
        return cached

    def _build_candidates(self, step: Step) -> tuple[list[Candidate], list[str]]:
        options = [(c.value, [*c.label.variants.values(), *c.synonyms]) for c in step.choices]
        order = [c.value for c in step.choices]
        if step.allow_unknown:
            options.append((UNKNOWN, list(self.flow.messages["unknown_label"].variants.values())))
            order.append(UNKNOWN)
        return build_candidates(options), order

    async def answer_menu(self, step: Step, inbound: Inbound) -> None:
        candidates, order = self.candidates_for(step)
        value = button_value(inbound) or match_one(inbound.text, candidates, order, allow_unknown=False)
        choice = next((c for c in step.choices if c.value == value), None)
        if choice is None:
            self.missed("empty_input" if is_empty(inbound) else "not_understood")
            return
        await self.enter(self.next_of(step, choice))

    async def answer_question(self, step: Step, inbound: Inbound) -> None:
        if step.multi:
            await self.answer_multi(step, inbound)
            return
        if step.input == "location":
            await self.places.answer(step, inbound)
            return
        candidates, order = self.candidates_for(step)
        value: str | None = None
        if inbound.kind is InboundKind.BUTTON:
            value = inbound.values[0] if inbound.values and inbound.values[0] in order else None
        elif inbound.kind is InboundKind.TEXT:
            value = by_number(step, inbound.text)
            if value is None and order:
                value = match_one(inbound.text, candidates, order, step.allow_unknown)
            if value is None and step.input is not None:
                value = parse_input(step.input, inbound.text)
        elif inbound.kind is InboundKind.LOCATION and step.input == "location":
            value = parse_coordinates(inbound.latitude, inbound.longitude)
        if value is None:
            invalid = step.invalid or (self.flow.messages[f"invalid_{step.input}"] if step.input else None)
            if is_empty(inbound):
                self.missed("empty_input")
            else:
                self.missed(invalid or "not_understood")
            return
        await self.store_answer(step, value)

    async def answer_multi(self, step: Step, inbound: Inbound) -> None:
        candidates, order = self.candidates_for(step)
        pending: list[str] = list(self.data.get("pending", []))
        if inbound.kind is InboundKind.BUTTON and inbound.values and inbound.values[0] in order:
            self.data["pending"] = toggle(step, pending, inbound.values[0])
            self.prompt(edit=True)
            return
        if inbound.kind is InboundKind.CHOICES and inbound.values and all(v in order for v in inbound.values):
            chosen = list(dict.fromkeys(inbound.values))
            await self.store_answer(step, exclusive_clean(step, chosen))
            return
        confirm = (inbound.kind is InboundKind.BUTTON and inbound.values == (CONFIRM,)) or (
            inbound.kind is InboundKind.TEXT and normalise(inbound.text) in CONFIRM_WORDS
        )
        if confirm:
            if pending:
                await self.store_answer(step, pending)
            else:
                self.missed("multi_hint")
            return
        if inbound.kind is InboundKind.TEXT:
            values = match_many(inbound.text, candidates, order, step.allow_unknown)
            if values:
                await self.store_answer(step, exclusive_clean(step, values))
                return
        self.missed("empty_input" if is_empty(inbound) else "not_understood")

    async def store_answer(self, step: Step, value: str | list[str]) -> None:
        assert step.slot is not None
        self.privacy.accept()  # answering after reading the notice
        if step.multi and isinstance(value, str):
            value = [value]
        self.answers[step.slot] = value
        self.data.pop("pending", None)
        choice = next((c for c in step.choices if c.value == value), None) if isinstance(value, str) else None
        await self.enter(self.next_of(step, choice))

    # ----- actions ---------------------------------------------------------------------------------------
    def classify(self, *, show: bool) -> PersonaResult:
        result = self.personas.classify(self.answers)
        self.data["persona"] = {"id": result.id, "confidence": result.confidence, "reasons": list(result.reasons)}
        if show:
            self.say(self.personas.personas[result.id].message)
        return result


class _Blank(dict[str, object]):
    """Formatting values where an unknown name renders as nothing rather than failing mid-conversation."""

    def __missing__(self, key: str) -> str:
        return ""
