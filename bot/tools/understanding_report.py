"""`flows understand`: how well the understanding reads the typed answers of a corpus, question by question.

Each answer is read as the conversation would read it, and classed: right at the first try (sure, the values
meant), confirmed (a doubt on the values meant: one « Oui » gets it right), not understood, wrong (sure of
other values, or sure of anything on an answer that should not be understood), or doubt-wrong (a doubt on
other values: the person's « non » recovers it). A doubt on an answer that should not be understood counts as
not understood, which is the right behaviour there. An answer drawn for the aside part that the flow lists word
for word (a label, a synonym, an example copied from the corpus) is counted with the training part: read by
heart, it would only flatter the aside figures.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from bot.core.errors import FlowError, Problem
from bot.core.text import normalise
from bot.tools.check import yaml_files
from bot.tools.understanding_corpus import Corpus, Entry, Opening, load_corpus
from bot.understanding.phrases import compiled_question
from bot.understanding.question import Context, Question, Understood
from bot.understanding.reader import spot, understand

Outcome = Literal["right", "confirmed", "not_understood", "wrong", "confirmed_wrong"]
PARTS = ("training", "aside", "whole")
PART_TITLES = {"training": "Part d'entraînement", "aside": "Part de côté", "whole": "Ensemble"}
# The goals: on the aside part, right at the first try or after one confirmation, and wrong; on the
# whole corpus, answers that needed a confirmation.
GOAL_SUCCESS = 0.95
GOAL_WRONG = 0.01
GOAL_CONFIRMATIONS = 0.10


@dataclass(slots=True)
class Tally:
    seen: int = 0
    right: int = 0
    confirmed: int = 0
    not_understood: int = 0
    rightly_ignored: int = 0  # of not_understood: answers that should not be understood
    wrong: int = 0
    confirmed_wrong: int = 0
    doubts: int = 0  # readings that ask « Si je comprends bien : … ? », whatever the outcome

    def add(self, outcome: Outcome, expected_nothing: bool, doubt: bool) -> None:
        self.seen += 1
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.rightly_ignored += outcome == "not_understood" and expected_nothing
        self.doubts += doubt

    def merge(self, other: Tally) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def success(self) -> int:
        """Right at the first try, after one confirmation, or rightly left alone."""
        return self.right + self.confirmed + self.rightly_ignored

    def rate(self, count: int) -> float:
        return count / self.seen if self.seen else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "success_rate": round(self.rate(self.success), 4),
            "wrong_rate": round(self.rate(self.wrong), 4),
            "confirmation_rate": round(self.rate(self.doubts), 4),
        }


@dataclass(frozen=True, slots=True)
class Miss:
    question: str
    line: int
    text: str
    aside: bool
    expected: tuple[str, ...] | None
    got: tuple[str, ...]
    level: str
    outcome: Outcome


@dataclass(slots=True)
class SlotTally:
    right: int = 0
    wrong: int = 0
    missed: int = 0
    extra: int = 0  # filled though a careful reader would not have


@dataclass(slots=True)
class Report:
    file: str
    flow: str
    parts: dict[str, dict[str, Tally]] = field(default_factory=lambda: {p: {} for p in PARTS})
    misses: list[Miss] = field(default_factory=list)
    openings: dict[str, SlotTally] = field(default_factory=dict)
    openings_seen: dict[str, int] = field(default_factory=lambda: {p: 0 for p in PARTS})
    copied: list[tuple[str, int, str]] = field(default_factory=list)  # aside answers the flow lists word for word

    def total(self, part: str) -> Tally:
        total = Tally()
        for tally in self.parts[part].values():
            total.merge(tally)
        return total

    def goals_missed(self) -> list[str]:
        """What the issue's goals ask that this corpus does not reach, in French; empty when all are met."""
        aside, whole = self.total("aside"), self.total("whole")
        missed = []
        if aside.seen == 0:
            missed.append("part de côté vide : ajoutez des réponses au corpus")
        elif aside.rate(aside.success) < GOAL_SUCCESS:
            missed.append(f"part de côté : {pct(aside.rate(aside.success))} compris (objectif ≥ {pct(GOAL_SUCCESS)})")
        if aside.seen and aside.rate(aside.wrong) > GOAL_WRONG:
            missed.append(f"part de côté : {pct(aside.rate(aside.wrong))} faux (objectif ≤ {pct(GOAL_WRONG)})")
        if whole.rate(whole.doubts) > GOAL_CONFIRMATIONS:
            missed.append(
                f"ensemble : {pct(whole.rate(whole.doubts))} de confirmations (objectif ≤ {pct(GOAL_CONFIRMATIONS)})"
            )
        return missed


def combined(reports: list[Report]) -> Report:
    """Every corpus read, counted as one: the issue's goals are about all the typed answers we have."""
    together = Report(", ".join(r.file for r in reports), ", ".join(dict.fromkeys(r.flow for r in reports)))
    for report in reports:
        for part in PARTS:
            for name, tally in report.parts[part].items():
                together.parts[part].setdefault(name, Tally()).merge(tally)
            together.openings_seen[part] += report.openings_seen[part]
        together.copied += report.copied
    return together


def format_combined(together: Report) -> str:
    lines = ["Tous les corpus ensemble"]
    for part in PARTS:
        total = together.total(part)
        lines.append(
            f"{PART_TITLES[part]} : {total.seen} réponses, réussite {pct(total.rate(total.success))}, "
            f"faux {pct(total.rate(total.wrong))}, confirmations {pct(total.rate(total.doubts))}"
        )
    missed = together.goals_missed()
    lines.append("Objectifs atteints." if not missed else "Objectifs manqués : " + " ; ".join(missed))
    return "\n".join(lines)


def classify(expect: tuple[str, ...] | None, reading: Understood) -> Outcome:
    level = reading.level
    if expect is None:
        return "wrong" if level == "sure" else "not_understood"
    if level == "none":
        return "not_understood"
    same = set(reading.values) == set(expect)
    if level == "sure":
        return "right" if same else "wrong"
    return "confirmed" if same else "confirmed_wrong"


def measure(corpus: Corpus) -> Report:
    report = Report(corpus.file, corpus.flow.name)
    for name, entries in corpus.answers.items():
        question = corpus.questions[name]
        taught = compiled_question(question).exact
        for entry in entries:
            reading = understand(entry.text, question, Context(for_whom=entry.for_whom, year=corpus.year))
            outcome = classify(entry.expect, reading)
            doubt = reading.level == "doubt"
            if entry.aside and normalise(entry.text) in taught:
                # the flow lists it (a label, a synonym, an example): read by heart, it measures no guessing
                report.copied.append((name, entry.line, entry.text))
                entry = dataclasses.replace(entry, aside=False)
            for part in ("aside" if entry.aside else "training", "whole"):
                report.parts[part].setdefault(name, Tally()).add(outcome, entry.expect is None, doubt)
            if outcome in ("wrong", "confirmed_wrong") or (outcome == "not_understood" and entry.expect is not None):
                report.misses.append(_miss(name, entry, reading, outcome))
    questions = corpus.slot_questions
    for opening in corpus.openings:
        _measure_opening(report, opening, questions, corpus.year)
    return report


def _miss(name: str, entry: Entry, reading: Understood, outcome: Outcome) -> Miss:
    return Miss(name, entry.line, entry.text, entry.aside, entry.expect, reading.values, reading.level, outcome)


def _measure_opening(report: Report, opening: Opening, questions: list[Question], year: int) -> None:
    report.openings_seen["aside" if opening.aside else "training"] += 1
    report.openings_seen["whole"] += 1
    tally_opening(report.openings, opening.expect, spot(opening.text, questions, Context(year=year)))


def tally_opening(
    tallies: dict[str, SlotTally], expect: Mapping[str, tuple[str, ...]], found: Mapping[str, Understood]
) -> None:
    """Count, slot by slot, what a first message gave against what a careful reader finds in it. Only sure
    readings fill a slot: a doubt is asked later, like a question not yet answered."""
    sure = {slot: reading for slot, reading in found.items() if reading.sure}
    for slot in dict.fromkeys([*expect, *sure]):
        tally = tallies.setdefault(slot, SlotTally())
        expected, reading = expect.get(slot), sure.get(slot)
        if reading is None:
            tally.missed += 1
        elif expected is None:
            tally.extra += 1
        elif set(reading.values) == set(expected):
            tally.right += 1
        else:
            tally.wrong += 1


def pct(rate: float) -> str:
    return f"{100 * rate:.1f} %".replace(".", ",")


COLUMNS = ("vu", "du premier coup", "après confirmation", "pas compris", "dont à raison", "faux", "doute faux")


def format_report(report: Report, *, show_all: bool = False) -> str:
    lines = [f"Compréhension des réponses tapées : {report.file} (parcours {report.flow})"]
    for part in PARTS:
        total = report.total(part)
        lines += ["", f"{PART_TITLES[part]} ({total.seen} réponses)"]
        rows = [(name, tally) for name, tally in report.parts[part].items()] + [("total", total)]
        width = max(len(name) for name, _ in rows)
        lines.append(f"{'question':<{width}}  " + "  ".join(f"{c:>4}" for c in COLUMNS) + "  réussite")
        for name, tally in rows:
            counts = (
                tally.seen,
                tally.right,
                tally.confirmed,
                tally.not_understood,
                tally.rightly_ignored,
                tally.wrong,
                tally.confirmed_wrong,
            )
            cells = "  ".join(f"{n:>{max(len(c), 4)}}" for n, c in zip(counts, COLUMNS, strict=True))
            lines.append(f"{name:<{width}}  {cells}  {pct(tally.rate(tally.success)):>8}")
        lines.append(
            f"faux : {pct(total.rate(total.wrong))} ; confirmations demandées : {pct(total.rate(total.doubts))}"
        )
    lines.append("")
    lines.append("Réussite = du premier coup + après confirmation + réponses à ne pas comprendre laissées de côté.")
    if report.copied:
        lines.append(
            f"{len(report.copied)} réponses tirées pour la part de côté figurent mot pour mot dans le parcours "
            "(libellé, synonyme ou exemple) : comptées avec l'entraînement, elles ne mesurent rien."
        )
        if show_all:
            lines += [
                f"{report.file}:{line}: {name} « {text} » (dans le parcours)" for name, line, text in report.copied
            ]
    if report.openings_seen["whole"]:
        seen = report.openings_seen
        lines += ["", f"Premiers messages ({seen['whole']}, dont {seen['aside']} de côté), réponse par réponse"]
        width = max(len("réponse"), *(len(slot) for slot in report.openings))
        lines.append(f"{'réponse':<{width}}  justes  fausses  manquées  en trop")
        for slot, t in report.openings.items():
            lines.append(f"{slot:<{width}}  {t.right:>6}  {t.wrong:>7}  {t.missed:>8}  {t.extra:>7}")
    missed = report.goals_missed()
    lines += ["", "Objectifs atteints." if not missed else "Objectifs manqués : " + " ; ".join(missed)]
    shown = [m for m in report.misses if show_all or m.outcome != "not_understood"]
    if shown:
        lines += ["", "À corriger (ajoutez des exemples au parcours) :" if show_all else "Faux et doutes faux :"]
        lines += [_format_miss(report.file, miss) for miss in shown]
    return "\n".join(lines)


OUTCOME_WORDS = {"wrong": "faux", "confirmed_wrong": "doute faux", "not_understood": "pas compris"}


def _format_miss(file: str, miss: Miss) -> str:
    expected = " + ".join(miss.expected) if miss.expected is not None else "rien (ne doit pas être compris)"
    got = " + ".join(miss.got) or "rien"
    aside = ", de côté" if miss.aside else ""
    return (
        f"{file}:{miss.line}: {miss.question} « {miss.text} » : attendu {expected}, compris {got} "
        f"({OUTCOME_WORDS[miss.outcome]}{aside})"
    )


def report_json(report: Report) -> dict[str, Any]:
    return {
        "file": report.file,
        "flow": report.flow,
        "parts": {
            part: {
                "questions": {name: tally.as_json() for name, tally in report.parts[part].items()},
                "total": report.total(part).as_json(),
            }
            for part in PARTS
        },
        "openings": {
            "seen": report.openings_seen,
            "slots": {slot: asdict(tally) for slot, tally in report.openings.items()},
        },
        "goals": {"met": not report.goals_missed(), "missed": report.goals_missed()},
        "copied": [{"question": name, "line": line, "text": text} for name, line, text in report.copied],
        "misses": [
            {
                "question": m.question,
                "line": m.line,
                "text": m.text,
                "aside": m.aside,
                "expected": list(m.expected) if m.expected is not None else None,
                "got": list(m.got),
                "level": m.level,
                "outcome": m.outcome,
            }
            for m in report.misses
        ],
    }


def run(paths: list[Path], flows_dir: Path, *, as_json: bool, goals: bool, show_all: bool) -> int:
    """The command: 1 when a corpus is invalid (its problems as `file:line: message`), or with --goals when a
    goal is missed by all the corpora read counted together; 0 otherwise, however poor the figures."""
    files = yaml_files(paths or [flows_dir / "understanding"])
    problems: list[Problem] = []
    if not files:
        where = ", ".join(str(p) for p in paths) or str(flows_dir / "understanding")
        problems.append(Problem(where, 1, "aucun corpus trouvé : écrivez un fichier .yaml de réponses tapées"))
    corpora: list[Corpus] = []
    for path in files:
        if not path.is_file():
            problems.append(Problem(str(path), 1, "fichier introuvable"))
            continue
        try:
            corpora.append(load_corpus(path, flows_dir))
        except FlowError as exc:
            problems += exc.problems
    if problems:
        if as_json:
            errors = [{"file": p.file, "line": p.line, "message": p.message} for p in problems]
            print(json.dumps({"corpora": [], "errors": errors}, ensure_ascii=False, indent=2))
        else:
            print("\n".join(str(p) for p in problems))
        return 1
    reports = [measure(corpus) for corpus in corpora]
    together = combined(reports)
    if as_json:
        everything = {
            "parts": {part: together.total(part).as_json() for part in PARTS},
            "goals": {"met": not together.goals_missed(), "missed": together.goals_missed()},
        }
        found = {"corpora": [report_json(r) for r in reports], "all": everything, "errors": []}
        print(json.dumps(found, ensure_ascii=False, indent=2))
    else:
        texts = [format_report(r, show_all=show_all) for r in reports]
        print("\n\n".join(texts + ([format_combined(together)] if len(reports) > 1 else [])))
    return 1 if goals and together.goals_missed() else 0
