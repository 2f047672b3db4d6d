"""One turn of one conversation: understand the inbound, move through the flow, say what follows.

Built per message around the stored conversation, thrown away after (the engine owns locking, the transaction
and storage); nothing here knows Telegram, the web or the terminal. Sub-dialogues (callback, places, privacy) read
a View of the turn and return outcomes, which `apply` carries out here, in one place.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from typing import assert_never

from bot.callbacks.queues import QueueSet
from bot.core.clock import now
from bot.core.commands import CONFIRM, FORGET, HUMAN, MY_DATA
from bot.core.errors import FlowError, Problem
from bot.core.messages import Button, CallbackRef, Inbound, InboundKind, Offer, Reply, Turn, question_token
from bot.core.slots import UNKNOWN, SlotValue, condition_holds
from bot.engine import outcomes as o
from bot.engine.bundle import FlowBundle
from bot.engine.callback_dialogue import CallbackDialogue
from bot.engine.command_dialogue import command_outcomes
from bot.engine.conversation import CallbackDraft, Conversation, OffersCursor
from bot.engine.inbound import command_of, typed_human
from bot.engine.machine import ENDED_STATE, FORGET_STATE, FlowState, callback_phase
from bot.engine.places_dialogue import PlacesDialogue
from bot.engine.privacy_dialogue import CallbackReader, PrivacyDialogue, PrivacyTerms
from bot.engine.questions import QuestionDialogue
from bot.engine.texts import Texts, channel_of
from bot.engine.view import View
from bot.language.flows import Choice, Step, Wording
from bot.places.offers import LocationResolver, OfferSearch
from bot.storage import ConversationRecord
from bot.storage.records import FeedbackAnswer, Misunderstood, TurnWrites

log = logging.getLogger(__name__)
MAX_MOVES = 64  # a flow that says things in a circle without ever asking is a bug: stop, don't hang


class Dialogue:
    def __init__(
        self,
        bundle: FlowBundle,
        record: ConversationRecord,
        conversation: Conversation,
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
        self.key = record.key
        self.stored = record.version != 0  # 0: this conversation has never been saved
        self.conversation = conversation
        self.flow_state = FlowState(record.state)  # the step it stands on, moved by the machine only
        self.writes = writes  # committed by the engine with the conversation, before any reply is sent
        terms = privacy or PrivacyTerms()
        self.texts = Texts(bundle.flow, bundle.personas, terms.variables, channel_of(record.key))
        self.replies: list[Reply] = []
        self.shown_offers: tuple[Offer, ...] = ()
        self.callback: CallbackRef | None = None
        self.forgotten = False
        self.places = PlacesDialogue(bundle, locations, offers)
        self.callbacks = CallbackDialogue(record.key, queues or QueueSet.only_default(), self.places.position)
        self.privacy = PrivacyDialogue(record.key, terms, callbacks_of, self.machine.states)
        self.questions = QuestionDialogue(bundle)

    # ----- state helpers -------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self.flow_state.state

    def view(self) -> View:
        return View(self.conversation, self.state, self.texts)

    def step(self) -> Step | None:
        return self.flow.steps.get(self.state)

    def callback_phase(self) -> tuple[Step, str] | None:
        return callback_phase(self.flow, self.state)

    def move(self, dest: str) -> None:
        self.machine.move(self.flow_state, dest)
        if self.conversation.misses or self.conversation.guess is not None:
            self.conversation = dataclasses.replace(self.conversation, misses=0, guess=None)

    # ----- rendering -----------------------------------------------------------------------------------
    def render(self, wording: Wording, **extra: object) -> str:
        return self.texts.render(wording, self.conversation, **extra)

    def say(self, key_or_wording: str | Wording, **extra: object) -> None:
        wording = self.flow.messages[key_or_wording] if isinstance(key_or_wording, str) else key_or_wording
        self.replies.append(Reply(self.render(wording, **extra)))

    def label(self, key: str) -> str:
        return self.render(self.flow.messages[key])

    # ----- the turn ------------------------------------------------------------------------------------
    async def handle(self, inbound: Inbound) -> Turn:
        before = self.state
        with self.machine.attached(self.flow_state):
            await self._handle(inbound)
            if not self.forgotten:
                await self.inform()  # the first question of a conversation comes with what is kept and why
        if log.isEnabledFor(logging.DEBUG):  # the conversation by a digest of its key; never what was said
            log.debug("turn %s: %s at %s -> %s", question_token(self.key), inbound.kind.value, before, self.state)
        return self.turn()

    async def _handle(self, inbound: Inbound) -> None:
        command = command_of(inbound) or typed_human(inbound, self.label("human_label"))
        fresh = not self.stored or self.state == ENDED_STATE
        if command is not None:
            await self.command(command)
        elif inbound.kind is InboundKind.UNSUPPORTED:
            self.say("unsupported")
            await (self.restart(announce=False) if fresh else self.reprompt())
        elif fresh:
            await self.restart(announce=False)
            if not self.stored and inbound.context == question_token(self.state):
                # The first turn was shown without being stored (the web page, on arrival: nothing is kept before
                # the person acts); this answers its question.
                await self.inform()  # was shown with it
                self.replies.clear()
                await self.answer_current(inbound)
            elif given := self.questions.opening(inbound):  # « Bonjour, ma mère a 85 ans et … »
                self.replies.clear()
                await self.restart(announce=False, given=given)
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
            await self.apply(self.privacy.answer_forget(self.view(), inbound))
        elif (phase := self.callback_phase()) is not None:
            await self.apply(self.callbacks.answer(self.view(), phase[0], phase[1], inbound))
        else:
            step = self.step()
            if step is None or not step.waits:  # stored mid-way by an older bug or version: start again safely
                await self.restart(announce=True)
            elif step.kind == "ask" and not step.multi and step.input == "location":
                await self.apply(await self.places.answer(self.view(), step, inbound))
            else:
                outcomes = self.questions.answer(self.view(), step, inbound)
                if step.kind == "menu" and any(isinstance(x, o.Missed) for x in outcomes):  # a town, at the results?
                    outcomes = self.places.relocate(self.view(), step, inbound) or outcomes
                await self.apply(outcomes)

    async def inform(self) -> None:
        await self.apply(self.privacy.inform(self.view(), self.replies))

    def turn(self) -> Turn:
        step = self.step()
        waiting_slot = step.slot if step is not None and step.kind == "ask" else None
        buttons = self.replies[-1].buttons if self.replies else ()
        return Turn(
            replies=tuple(self.replies),
            state=self.state,
            slot=waiting_slot,
            multi=bool(step is not None and step.multi),
            buttons=buttons,
            persona=self.conversation.persona,
            offers=self.shown_offers,
            callback=self.callback,
            done=self.state == ENDED_STATE or self.forgotten,
            forgotten=self.forgotten,
        )

    # ----- outcomes --------------------------------------------------------------------------------------
    async def apply(self, outcomes: Iterable[o.Outcome]) -> None:
        """Carry out what a sub-dialogue decided, in its order: the one place its decisions take effect."""
        for outcome in outcomes:
            c = self.conversation
            match outcome:
                case o.Say(message, extra):
                    self.say(message, **extra)
                case o.Send(reply):
                    self.replies.append(reply)
                case o.Ask():
                    self.ask(outcome)
                case o.Missed(message):
                    self.missed(message)
                case o.Prompt(edit):
                    self.prompt(edit=edit)
                case o.Move(state):
                    self.move(state)
                case o.Enter(step_id):
                    await self.enter(step_id)
                case o.Next(step, choice):  # a menu button leading to a question asks it again
                    target = self.next_of(step, choice)
                    await self.enter(target, ask_again=choice is not None and self.flow.steps[target].kind == "ask")
                case o.Store(step, value, volunteered):
                    await self.store_answer(step, value, volunteered)
                case o.Reprompt():
                    await self.reprompt()
                case o.Restart(announce):
                    await self.restart(announce=announce)
                case o.Interrupt(frame):
                    self.conversation = c.interrupted(frame)
                case o.Resume(kind):
                    self.conversation = c.resumed(kind)
                case o.Guessed(guess):
                    self.conversation = dataclasses.replace(c, guess=guess)
                case o.Unclear(question, text, kind):
                    # masked by the sub-dialogue, never linked to the conversation: what coordinators read
                    answer = Misunderstood(self.flow.name, self.flow.version, question, text, kind)
                    self.writes.note_misunderstood(answer)
                case o.Rated(rating, word):  # anonymous: the flow and its version, never the conversation
                    self.writes.note_feedback(FeedbackAnswer(self.flow.name, self.flow.version, rating, word))
                case o.Toggled(pending):
                    self.conversation = dataclasses.replace(c, pending=pending)
                case o.Draft(draft):
                    self.conversation = dataclasses.replace(c, draft=draft)
                case o.RecordCallback(request, consent):
                    row = self.writes.create_callback(request)
                    self.callback = CallbackRef(row.id, row.queue, row.status)
                    called = request.contact if c.answers.get("for_whom") == "relative" else None  # texts say so
                    self.conversation = c.recorded(row.id, consent, called)
                case o.Accept():
                    self.conversation = c.accepted(now())
                case o.Informed(replies, notice):
                    self.replies = list(replies)
                    self.conversation = c.noticed(notice)
                case o.CancelCallbacks():
                    self.writes.cancel_callbacks()
                case o.Forget():
                    self.writes.forget_conversation()  # the engine erases it all in the turn's transaction
                    self.forgotten = True
                case o.Choices(locations):
                    self.conversation = dataclasses.replace(c, location_choices=locations)
                case o.Locate(location):  # a new place: its list starts from its first page
                    offers = OffersCursor(shown=c.offers.shown)
                    self.conversation = dataclasses.replace(c, location_choices=(), position=location, offers=offers)
                case o.Classified(persona):
                    self.conversation = dataclasses.replace(c, persona=persona)
                case o.Offered(shown, exhausted):
                    self.shown_offers = shown or self.shown_offers
                    self.conversation = c.offered(tuple(offer.id for offer in shown), exhausted)
                case _:
                    assert_never(outcome)

    # ----- commands --------------------------------------------------------------------------------------
    async def command(self, command: str) -> None:
        view = self.view()
        if command == FORGET:
            await self.apply(self.privacy.ask_forget(view))
        elif command == MY_DATA:
            await self.apply([*await self.privacy.show(view), o.Reprompt()])  # then back to where it was
        else:
            await self.apply(command_outcomes(view, command, stored=self.stored))

    async def restart(self, *, announce: bool, given: Mapping[str, SlotValue] | None = None) -> None:
        """From the first step; `given`: answers the first message already gave (their questions are skipped)."""
        self.conversation = self.conversation.restarted()
        if announce:
            self.say("restart")
        summary = self.keep_given(given or {})
        before = len(self.replies)
        await self.enter(self.flow.start)
        if summary is not None:  # welcome, then what was understood, then the first question still open
            self.replies.insert(max(before, len(self.replies) - 1), summary)

    async def reprompt(self) -> None:
        """Ask the current question again; in an ended conversation, there is none. A conversation whose
        very first message was a command (/aide) stands on the start step, which asks nothing: begin it."""
        step = self.step()
        if step is not None and not step.waits:
            await self.enter(self.flow.start)
        elif self.state != ENDED_STATE:
            self.prompt()

    async def migrate(self) -> Turn:
        """The conversation's step no longer exists: say so, keep the answers, ask the first missing one.
        (What the person just sent answered a question that no longer exists, so it is not read.)"""
        self.say("migrated")
        self.flow_state.state = self.flow.start
        with self.machine.attached(self.flow_state):
            await self.enter(self.flow.start, skip_answered=True)
        return self.turn()

    def current_question(self) -> Turn | None:
        """The question the conversation stands on, asked again, changing nothing; None when it stands on none."""
        with self.machine.attached(self.flow_state):
            self.prompt()
        return self.turn() if self.replies else None

    # ----- moving through the flow ----------------------------------------------------------------------
    async def enter(self, step_id: str, *, skip_answered: bool = False, ask_again: bool = False) -> None:
        for _ in range(MAX_MOVES):
            self.move(step_id)
            step = self.flow.steps[step_id]
            if step.kind == "ask" and step.slot in self.conversation.answers and not ask_again:
                # answered already: given with an earlier answer (« ma mère a 85 ans, … »), or kept by a migration
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
                persona = self.bundle.personas.classify(self.conversation.answers)
                self.conversation = dataclasses.replace(self.conversation, persona=persona)
                self.say(self.bundle.personas.personas[persona.id].message.said(self.conversation.answers))
            elif step.action in ("show_offers", "keep_list"):
                await self.apply(await self.places.act(step.action, self.view()))
            elif step.action == "request_callback":
                self.conversation = dataclasses.replace(self.conversation, draft=CallbackDraft())
                await self.apply(self.callbacks.ask(self.view(), step, "consent"))
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
        answers = dict(self.conversation.answers)
        for rule in step.next:
            if condition_holds(dict(rule.when), answers) and not (
                rule.unless and condition_holds(dict(rule.unless), answers)
            ):
                return rule.goto
        raise FlowError([Problem(self.flow.file, step.line, f"step `{step.id}`: no `next` applies")])

    def prompt(self, *, offer_human: bool = False, edit: bool = False) -> None:
        """Say the current question (or callback / forget question) with its buttons."""
        if self.state == FORGET_STATE:
            self.ask(self.privacy.prompt_forget(self.view()))
            return
        if (phase := self.callback_phase()) is not None:
            self.ask(self.callbacks.prompt(self.view(), phase[1]))
            return
        step = self.step()
        if step is None or not step.waits or step.text is None:
            return
        if self.conversation.guess is not None:  # the question asked again: the guess is no longer the question
            self.conversation = dataclasses.replace(self.conversation, guess=None)
        options = [
            (c.value, self.render(c.label)) for c in step.choices if not self.places.pointless(self.conversation, c)
        ]
        if step.kind == "ask" and step.allow_unknown:
            options.append((UNKNOWN, self.label("unknown_label")))
        request: o.Shared = "location" if step.input == "location" else None
        if step.multi:
            selected = set(self.conversation.pending or ())
            buttons = [Button(label, value, value in selected) for value, label in options]
            buttons.append(Button(self.label("confirm_label"), CONFIRM))
            text = self.render(step.text) + "\n" + self.label("multi_hint")
            self.replies.append(Reply(text, tuple(buttons + self.human_button(offer_human)), multi=True, edit=edit))
            return
        self.question(step.text, options, offer_human=offer_human, request=request)

    def question(
        self, text: Wording, options: list[tuple[str, str]], *, offer_human: bool = False, request: o.Shared = None
    ) -> None:
        buttons = [Button(label, value) for value, label in options] + self.human_button(offer_human)
        self.replies.append(Reply(self.render(text), tuple(buttons), request=request))

    def ask(self, ask: o.Ask) -> None:
        self.question(ask.text, list(ask.options), request=ask.request)

    def human_button(self, offer: bool) -> list[Button]:
        return [Button(self.label("human_label"), HUMAN)] if offer else []

    def missed(self, message: str | Wording = "not_understood") -> None:
        """A kind rephrasing and the question again; after a few misses, a human is offered too."""
        misses = self.conversation.misses + 1
        # Not while the callback is being asked for: offering "a person can call you back" there makes no
        # sense, and the specific hint (e.g. how to write a phone number) must not be replaced.
        too_many = misses >= self.flow.max_misses and self.callback_phase() is None
        self.say("not_understood_human" if too_many else message)
        self.prompt(offer_human=too_many)
        self.conversation = dataclasses.replace(self.conversation, misses=misses)

    async def store_answer(self, step: Step, value: SlotValue, volunteered: Mapping[str, SlotValue]) -> None:
        assert step.slot is not None
        self.conversation = self.conversation.accepted(now())  # answering after reading the notice
        if step.multi and isinstance(value, str):
            value = [value]
        self.conversation = self.conversation.answered(step.slot, value)
        summary = self.keep_given(volunteered)  # answers to questions still to come, said back in one sentence
        if summary is not None:
            self.replies.append(summary)
        choice = next((c for c in step.choices if c.value == value), None) if isinstance(value, str) else None
        await self.enter(self.next_of(step, choice))

    def keep_given(self, given: Mapping[str, SlotValue]) -> Reply | None:
        """Answers a message gave to questions still to come: kept; the sentence saying them back, if any."""
        for slot, value in given.items():
            self.conversation = self.conversation.answered(slot, value)
        words = self.texts.answer_words(given, self.conversation)
        return Reply(self.render(self.flow.messages["understood_also"], answers=" ; ".join(words))) if words else None
