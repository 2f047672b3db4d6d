"""What the understanding reads a text against, and what it answers: plain values, no spaCy, no flow loading.

A `Question` is built once per question of a flow (from its buttons' labels, synonyms, examples and number
ranges) and kept; `understand(text, question)` answers an `Understood`: the value(s) it read, how sure it is,
and the words that carried it (shown to coordinators, never stored with the conversation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bot.core.slots import UNKNOWN
from bot.language.model import Choice, Step

Level = Literal["sure", "doubt", "none"]
SURE = 0.8  # at or above: take the answer
DOUBT = 0.4  # at or above (and below SURE): ask « Si je comprends bien : … ? »; below: not understood


@dataclass(frozen=True, slots=True)
class Option:
    """One button as the understanding reads it."""

    value: str
    names: tuple[str, ...]  # the label's variants and the synonyms: short names people type whole
    examples: tuple[str, ...] = ()  # whole sentences meaning this button
    numbers: tuple[int, int] | None = None  # an age or count in this range picks it
    exclusive: bool = False  # cannot go with another value ("none", "unknown")


@dataclass(frozen=True, slots=True)
class Question:
    key: str  # the step id (or a sub-dialogue's phase): the cache key of its analysed names
    slot: str | None
    options: tuple[Option, ...]
    multi: bool = False
    persons: bool = False  # « moi » and « elle » are different answers here (who it is for, who to call)
    wishes: bool = False  # what the person would like to do: what they cannot do (« j'arrive pas à … ») is one
    know_how: bool = False  # how well the person gets on: « je ne sais pas comment ça marche » answers it

    @property
    def values(self) -> list[str]:
        return [option.value for option in self.options]


@dataclass(frozen=True, slots=True)
class Context:
    """What is known of the conversation when the text is read."""

    for_whom: str | None = None  # "relative": « elle », « il », « mon père » name the person helped
    year: int | None = None  # the current year, for « née en 1941 »


@dataclass(frozen=True, slots=True)
class Understood:
    values: tuple[str, ...]  # empty: nothing understood
    confidence: float  # in [0, 1]
    evidence: tuple[str, ...] = ()  # the words of the text that carried the values

    @property
    def level(self) -> Level:
        if not self.values:
            return "none"
        if self.confidence >= SURE:
            return "sure"
        return "doubt" if self.confidence >= DOUBT else "none"

    @property
    def sure(self) -> bool:
        return self.level == "sure"


NOTHING = Understood((), 0.0)


def question_of(step: Step, unknown_names: Sequence[str] = ()) -> Question:
    """A flow question as the understanding reads it; `unknown_names`: the « Je ne sais pas » button's label,
    added as a last option when the question accepts it."""
    options = [_option(c) for c in step.choices]
    if step.kind == "ask" and step.allow_unknown:
        options.append(Option(UNKNOWN, tuple(unknown_names), exclusive=True))
    slot = step.slot
    return Question(step.id, slot, tuple(options), step.multi, slot == "for_whom", slot == "goals", slot == "skills")


def phase_question(step: Step, phase: str) -> Question:
    """A phase of a `request_callback` step as the understanding reads it (`rappel.who`: « moi » and « elle »
    differ). The phases' buttons are the step's `answers` (bot/language/callback_answers.py)."""
    return Question(f"{step.id}.{phase}", None, tuple(_option(c) for c in step.answers[phase]), persons=phase == "who")


def _option(choice: Choice) -> Option:
    return Option(
        choice.value,
        (*choice.label.variants.values(), *choice.synonyms),
        choice.examples,
        choice.numbers,
        choice.exclusive,
    )
