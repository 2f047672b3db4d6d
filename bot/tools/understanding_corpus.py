"""The corpus of typed answers `flows understand` measures: read, checked against its flow, split in two parts.

Every problem names the file and the line in French, for the coordinators who add phrasings to it. A fifth of
the answers is held out by a hash of the text, not chosen by hand, so no one can tune the understanding to it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.errors import FlowError, Problem
from bot.core.slots import UNKNOWN
from bot.core.text import normalise
from bot.language.flows import Flow, load_flow
from bot.language.yamlload import LineDict, LineList, read_yaml
from bot.understanding.question import Question, phase_question, question_of

TOP_KEYS = ("flow", "year", "answers", "openings")
ENTRY_KEYS = ("text", "expect", "for_whom")
OPENING_KEYS = ("text", "expect")
FOR_WHOM = ("self", "relative")
DEFAULT_YEAR = 2026
HELD_OUT_ONE_IN = 5
# The phone number of a callback request is read as a number, not against buttons: not measured here.
UNMEASURED_PHASES = frozenset({"phone"})


@dataclass(frozen=True, slots=True)
class Entry:
    text: str
    expect: tuple[str, ...] | None  # None: should not be understood
    for_whom: str | None
    line: int
    aside: bool


@dataclass(frozen=True, slots=True)
class Opening:
    text: str
    expect: Mapping[str, tuple[str, ...]]  # per slot
    line: int
    aside: bool


@dataclass(frozen=True, slots=True)
class Corpus:
    file: str
    flow: Flow
    year: int
    questions: Mapping[str, Question]  # every question the corpus may name, by its name in the corpus
    answers: Mapping[str, tuple[Entry, ...]]
    openings: tuple[Opening, ...]

    @property
    def slot_questions(self) -> list[Question]:
        """The flow's own questions that fill a slot: what a first message may answer at once."""
        return [q for q in self.questions.values() if q.slot is not None]


def held_out(text: str) -> bool:
    """In the aside part: decided by the text alone, the same on every machine and every run."""
    digest = hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()
    return int(digest, 16) % HELD_OUT_ONE_IN == 0


def flow_questions(flow: Flow) -> dict[str, Question]:
    """The flow's questions and menus with buttons, then the callback request's phases read against buttons."""
    unknown_names = tuple(flow.messages["unknown_label"].variants.values()) if "unknown_label" in flow.messages else ()
    questions = {
        step.id: question_of(step, unknown_names)
        for step in flow.steps.values()
        if step.kind in ("ask", "menu") and step.choices
    }
    human = flow.steps.get(flow.human)
    if human is not None:
        for phase in human.answers:
            if phase in UNMEASURED_PHASES:
                continue
            questions[f"{human.id}.{phase}"] = phase_question(human, phase)
    return questions


def _variants(flow: Flow, message: str) -> tuple[str, ...]:
    wording = flow.messages.get(message)
    return tuple(wording.variants.values()) if wording is not None else ()


def find_flow(corpus_path: Path, name: str, flows_dir: Path | None) -> Path | None:
    """The flow a corpus names: in the folder above the corpus's (flows/understanding/ -> flows/), else in
    FLOWS_DIR."""
    for folder in (corpus_path.parent.parent, flows_dir):
        if folder is not None and (folder / f"{name}.yaml").is_file():
            return folder / f"{name}.yaml"
    return None


def load_corpus(path: Path, flows_dir: Path | None = None) -> Corpus:
    """Read and check a corpus file. Raises FlowError with every problem found, in French."""
    _, data = read_yaml(path)
    file = str(path)
    if not isinstance(data, LineDict) or not isinstance(data.get("flow"), str):
        raise FlowError(
            [Problem(file, 1, "un corpus commence par `flow:` (le nom du parcours) puis `answers:` et `openings:`")]
        )
    problems: list[Problem] = []
    for key in data:
        if key not in TOP_KEYS:
            known = ", ".join(TOP_KEYS)
            problems.append(Problem(file, data.line_of(key), f"clé inconnue `{key}` ; clés possibles : {known}"))
    flow_path = find_flow(path, data["flow"], flows_dir)
    if flow_path is None:
        where = path.parent.parent / f"{data['flow']}.yaml"
        problems.append(
            Problem(file, data.line_of("flow"), f"parcours `{data['flow']}` introuvable : attendu dans {where}")
        )
        raise FlowError(problems)
    flow = load_flow(flow_path)  # its own problems, if any, are reported as the flow's
    year = data.get("year", DEFAULT_YEAR)
    if not isinstance(year, int) or isinstance(year, bool) or not 1900 < year < 2200:
        problems.append(Problem(file, data.line_of("year"), "`year` : l'année en cours, par exemple 2026"))
        year = DEFAULT_YEAR
    questions = flow_questions(flow)
    checker = _Checker(file, questions, problems)
    answers = checker.answers(data.get("answers"), data.line_of("answers"))
    openings = checker.openings(data.get("openings"), data.line_of("openings"))
    if "answers" not in data and "openings" not in data:
        problems.append(Problem(file, data.line, "le corpus est vide : ajoutez `answers:` ou `openings:`"))
    if problems:
        raise FlowError(sorted(problems, key=lambda p: p.line))
    return Corpus(file, flow, year, questions, answers, openings)


class _Invalid(Exception):
    """A value of the corpus was reported as a problem: the entry is left out."""


class _Checker:
    def __init__(self, file: str, questions: Mapping[str, Question], problems: list[Problem]) -> None:
        self.file = file
        self.questions = questions
        self.problems = problems
        self.by_slot = {q.slot: q for q in questions.values() if q.slot is not None}

    def add(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    def answers(self, raw: Any, line: int) -> dict[str, tuple[Entry, ...]]:
        if raw is None:
            return {}
        if not isinstance(raw, LineDict):
            self.add(line, "`answers` : une liste de réponses par question, par exemple `pour_qui:`")
            return {}
        result: dict[str, tuple[Entry, ...]] = {}
        for name, entries in raw.items():
            question = self.questions.get(name)
            if question is None:
                known = ", ".join(self.questions)
                self.add(raw.line_of(name), f"question inconnue `{name}` ; questions du parcours : {known}")
                continue
            if not isinstance(entries, LineList):
                self.add(raw.line_of(name), f'`{name}` : une liste de réponses `- {{text: "…", expect: …}}`')
                continue
            result[name] = tuple(self.entries(name, question, entries))
        return result

    def entries(self, name: str, question: Question, entries: LineList) -> list[Entry]:
        found: list[Entry] = []
        seen: dict[str, int] = {}
        for index, raw in enumerate(entries):
            line = entries.line_of(index)
            text = self.text_of(raw, ENTRY_KEYS, line)
            if text is None:
                continue
            if not isinstance(raw, LineDict) or "expect" not in raw:
                self.add(line, "il manque `expect` : la valeur comprise, ou null si la réponse ne doit pas l'être")
                continue
            key = normalise(text)
            if key in seen:
                self.add(line, f"`{name}` : réponse en double (déjà ligne {seen[key]}) ; gardez-en une")
                continue
            seen[key] = line
            for_whom = raw.get("for_whom")
            if for_whom is not None and for_whom not in FOR_WHOM:
                self.add(line, f"`for_whom` : `{for_whom}` ; écrivez relative (on écrit pour un proche) ou self")
                continue
            try:
                expect = self.values(question, raw["expect"], line, f"`{name}`")
            except _Invalid:
                continue
            found.append(Entry(text, expect, for_whom, line, held_out(text)))
        return found

    def openings(self, raw: Any, line: int) -> tuple[Opening, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, LineList):
            self.add(line, '`openings` : une liste de premiers messages `- text: "…"` avec `expect: {…}`')
            return ()
        found: list[Opening] = []
        for index, item in enumerate(raw):
            item_line = raw.line_of(index)
            text = self.text_of(item, OPENING_KEYS, item_line)
            if text is None:
                continue
            expect = item.get("expect") if isinstance(item, LineDict) else None
            if not isinstance(expect, LineDict):
                self.add(item_line, "`expect` : les réponses que le message donne, par exemple {for_whom: relative}")
                continue
            slots: dict[str, tuple[str, ...]] = {}
            for slot, value in expect.items():
                question = self.by_slot.get(slot)
                if question is None:
                    self.add(expect.line_of(slot), f"réponse inconnue `{slot}` ; possibles : {', '.join(self.by_slot)}")
                    continue
                try:
                    values = self.values(question, value, expect.line_of(slot), f"`{slot}`")
                except _Invalid:
                    continue
                if values is None:
                    self.add(expect.line_of(slot), f"`{slot}` : null n'a pas de sens ici ; retirez la ligne")
                else:
                    slots[slot] = values
            found.append(Opening(text, slots, item_line, held_out(text)))
        return tuple(found)

    def text_of(self, raw: Any, keys: tuple[str, ...], line: int) -> str | None:
        if not isinstance(raw, LineDict) or "text" not in raw:
            self.add(line, 'une réponse s\'écrit `- {text: "…", expect: …}`')
            return None
        for key in raw:
            if key not in keys:
                self.add(raw.line_of(key), f"clé inconnue `{key}` ; clés possibles : {', '.join(keys)}")
        text = raw["text"]
        if isinstance(text, int | float) and not isinstance(text, bool):
            text = str(text)  # « 83 » written without quotes
        if not isinstance(text, str) or not text.strip():
            self.add(line, "`text` : le texte tapé, entre guillemets, non vide")
            return None
        return text

    def values(self, question: Question, raw: Any, line: int, where: str) -> tuple[str, ...] | None:
        """The expected values; None for null. Raises _Invalid once the problem is reported."""
        if raw is None:
            return None
        items = list(raw) if isinstance(raw, list) else [raw]
        if not items:
            self.add(line, f"{where} : liste vide ; écrivez null si la réponse ne doit pas être comprise")
            raise _Invalid
        if len(items) > 1 and not question.multi:
            self.add(line, f"{where} n'accepte qu'une valeur ; gardez-en une, ou null si la réponse est ambiguë")
            raise _Invalid
        allowed = question.values
        bad = [str(v) for v in items if not isinstance(v, str) or v not in allowed]
        if bad:
            extra = f" (`{UNKNOWN}` n'y est pas accepté)" if bad[0] == UNKNOWN else ""
            self.add(line, f"{where} : valeur inconnue `{bad[0]}` ; valeurs possibles : {', '.join(allowed)}{extra}")
            raise _Invalid
        exclusive = {o.value for o in question.options if o.exclusive}
        if len(items) > 1 and exclusive & set(items):
            self.add(line, f"{where} : `{sorted(exclusive & set(items))[0]}` ne va pas avec d'autres valeurs")
            raise _Invalid
        if len(set(items)) != len(items):
            self.add(line, f"{where} : valeur répétée")
            raise _Invalid
        return tuple(items)
