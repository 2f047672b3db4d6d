"""One flow version as the engine serves it: the flow, its machine, the personas, and what is built from them once."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.slots import UNKNOWN
from bot.engine.machine import FlowMachine
from bot.language.flows import Flow, Step
from bot.language.personas import Personas
from bot.understanding.matching import Candidate, build_candidates
from bot.understanding.question import Question, phase_question, question_of
from bot.understanding.reader import prepare


@dataclass(frozen=True, slots=True)
class FlowBundle:
    flow: Flow
    machine: FlowMachine
    personas: Personas
    # Normalised button names per question, built on first use: labels and synonyms never change at run time.
    candidates: dict[str, tuple[list[Candidate], list[str]]] = field(default_factory=dict)
    questions: dict[str, Question] = field(default_factory=dict)

    def read_ahead(self) -> None:
        """Load the French model and read every question's names and examples (the callback request's too) now
        (about 5 s the first time in a process), so that the first person to type an answer does not wait for it."""
        for step in self.flow.steps.values():
            if step.waits and step.choices:
                prepare(self.question_for(step))
            for phase in step.answers:  # the callback request's phases (« le matin », « moi »)
                prepare(phase_question(step, phase))

    def question_for(self, step: Step) -> Question:
        """The question as the understanding reads it (its buttons' names and examples)."""
        cached = self.questions.get(step.id)
        if cached is None:
            unknown = list(self.flow.messages["unknown_label"].variants.values())
            cached = self.questions[step.id] = question_of(step, unknown)
        return cached

    def candidates_for(self, step: Step) -> tuple[list[Candidate], list[str]]:
        """The question's buttons as the matcher reads typed text, and their values in order."""
        cached = self.candidates.get(step.id)
        if cached is None:
            cached = self.candidates[step.id] = self._build_candidates(step)
        return cached

    def _build_candidates(self, step: Step) -> tuple[list[Candidate], list[str]]:
        options = [(c.value, [*c.label.variants.values(), *c.synonyms]) for c in step.choices]
        order = [c.value for c in step.choices]
        if step.allow_unknown:
            options.append((UNKNOWN, list(self.flow.messages["unknown_label"].variants.values())))
            order.append(UNKNOWN)
        return build_candidates(options), order
