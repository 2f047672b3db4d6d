"""The flow's own questions and menus: a button pressed, a typed answer read against the buttons, several
choices ticked one by one. Returns outcomes like the other sub-dialogues (the location question belongs to the
places)."""

from __future__ import annotations

from bot.core.commands import CONFIRM
from bot.core.messages import Inbound, InboundKind
from bot.core.text import normalise, parse_coordinates
from bot.engine.bundle import FlowBundle
from bot.engine.conversation import Conversation
from bot.engine.inbound import (
    CONFIRM_WORDS,
    button_value,
    by_number,
    exclusive_clean,
    is_empty,
    parse_input,
    toggle,
)
from bot.engine.outcomes import Missed, Next, Outcome, Prompt, Store, Toggled
from bot.language.model import Step
from bot.understanding.matching import match_many, match_one


class QuestionDialogue:
    def __init__(self, bundle: FlowBundle) -> None:
        self.bundle = bundle

    def answer(self, conversation: Conversation, step: Step, inbound: Inbound) -> list[Outcome]:
        if step.kind == "menu":
            return self.answer_menu(step, inbound)
        if step.multi:
            return self.answer_multi(conversation, step, inbound)
        return self.answer_question(step, inbound)

    def answer_menu(self, step: Step, inbound: Inbound) -> list[Outcome]:
        candidates, order = self.bundle.candidates_for(step)
        value = button_value(inbound) or match_one(inbound.text, candidates, order, allow_unknown=False)
        choice = next((c for c in step.choices if c.value == value), None)
        if choice is None:
            return [Missed("empty_input" if is_empty(inbound) else "not_understood")]
        return [Next(step, choice)]

    def answer_question(self, step: Step, inbound: Inbound) -> list[Outcome]:
        candidates, order = self.bundle.candidates_for(step)
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
            if is_empty(inbound):
                return [Missed("empty_input")]
            invalid = step.invalid or (self.bundle.flow.messages[f"invalid_{step.input}"] if step.input else None)
            return [Missed(invalid or "not_understood")]
        return [Store(step, value)]

    def answer_multi(self, conversation: Conversation, step: Step, inbound: Inbound) -> list[Outcome]:
        candidates, order = self.bundle.candidates_for(step)
        pending = list(conversation.pending or ())
        if inbound.kind is InboundKind.BUTTON and inbound.values and inbound.values[0] in order:
            return [Toggled(tuple(toggle(step, pending, inbound.values[0]))), Prompt(edit=True)]
        if inbound.kind is InboundKind.CHOICES and inbound.values and all(v in order for v in inbound.values):
            chosen = list(dict.fromkeys(inbound.values))
            return [Store(step, exclusive_clean(step, chosen))]
        confirm = (inbound.kind is InboundKind.BUTTON and inbound.values == (CONFIRM,)) or (
            inbound.kind is InboundKind.TEXT and normalise(inbound.text) in CONFIRM_WORDS
        )
        if confirm:
            return [Store(step, pending)] if pending else [Missed("multi_hint")]
        if inbound.kind is InboundKind.TEXT:
            values = match_many(inbound.text, candidates, order, step.allow_unknown)
            if values:
                return [Store(step, exclusive_clean(step, values))]
        return [Missed("empty_input" if is_empty(inbound) else "not_understood")]
