"""`flows check`'s warnings: an example or a synonym of one button that the understanding reads as another.

Each phrase is read against its question as it would be without that phrase (left out): with it, the phrase
would always find itself. A sure reading that misses the phrase's own button means a person writing it would get
the other button without being asked: the coordinator is told, as a warning (the flow still loads and runs).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from bot.core.errors import Problem
from bot.core.slots import UNKNOWN
from bot.core.text import normalise
from bot.language.checks import Collector
from bot.language.model import Choice, Flow
from bot.understanding.question import Question, phase_question, question_of
from bot.understanding.reader import understand


def confusions(flow: Flow) -> list[Problem]:
    """One warning per example or synonym read, surely, as another button of its question."""
    out = Collector(flow.file)
    unknown = flow.messages.get("unknown_label")
    unknown_names = tuple(unknown.variants.values()) if unknown is not None else ()
    for step in flow.steps.values():
        if step.kind in ("ask", "menu") and step.choices:
            _check(question_of(step, unknown_names), f"étape `{step.id}`", step.choices, unknown_names, out)
        for phase, choices in step.answers.items():  # the callback request's phases (« le matin », « moi »)
            _check(phase_question(step, phase), f"étape `{step.id}`, `answers.{phase}`", choices, (), out)
    return out.warnings


def _check(
    question: Question, where: str, choices: tuple[Choice, ...], unknown_names: tuple[str, ...], out: Collector
) -> None:
    labels = {c.value: next(iter(c.label.variants.values())) for c in choices}
    labels[UNKNOWN] = unknown_names[0] if unknown_names else UNKNOWN
    for index, choice in enumerate(choices):
        for kind, phrase, line in _phrases(choice):
            read = understand(phrase, left_out(question, index, phrase))
            if read.sure and choice.value not in read.values:
                out.warn(line, _message(where, choice, kind, phrase, read.values, read.evidence, labels))


def _phrases(choice: Choice) -> Iterator[tuple[str, str, int]]:
    lines = choice.synonyms_lines or (choice.line,) * len(choice.synonyms)
    for synonym, line in zip(choice.synonyms, lines, strict=False):
        yield "le synonyme", synonym, line
    for example, line in zip(
        choice.examples, choice.examples_lines or (choice.line,) * len(choice.examples), strict=False
    ):
        yield "l'exemple", example, line


def left_out(question: Question, index: int, phrase: str) -> Question:
    """The question with `phrase` (and any way of writing it that normalises the same) taken out of its button."""
    key = normalise(phrase)
    option = question.options[index]
    kept = replace(
        option,
        names=tuple(n for n in option.names if normalise(n) != key),
        examples=tuple(e for e in option.examples if normalise(e) != key),
    )
    options = list(question.options)
    options[index] = kept
    return replace(question, options=tuple(options))


def _message(
    where: str,
    choice: Choice,
    kind: str,
    phrase: str,
    values: tuple[str, ...],
    evidence: tuple[str, ...],
    labels: dict[str, str],
) -> str:
    read_as = " et ".join(f"`{v}` (« {labels.get(v, v)} »)" for v in values)
    words = f", d'après « {' '.join(evidence)} »" if evidence else ""
    return (
        f"{where}, bouton `{choice.value}` : {kind} « {phrase} » est compris comme {read_as}{words}, "
        f"pas comme « {labels[choice.value]} » ; ajoutez un exemple plus net, ou retirez-le"
    )
