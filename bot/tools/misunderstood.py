"""`python -m bot flows misunderstood [--since DATE] [--flow NAME] [--limit N] [--json]`: what people wrote that the bot
did not understand (or understood and had refused), most frequent first, per question, for the coordinators to add
as `examples:` of the right choice.

The answers are stored masked and unlinked from their conversation (bot/understanding/masking.py, the `misunderstood`
table). Spellings of one answer are counted together: lower case, accents and punctuation removed (every masked digit
counts as one, so phone numbers in any format make one line); the form written most often is shown. Questions come in
the flow's order, read from the flow version most recently seen (kept in the database); phases of a dialogue
(« rappel.who ») after the step they belong to, unknown ones last.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config import Settings
from bot.core.clock import PARIS
from bot.core.errors import FlowError
from bot.core.text import normalise
from bot.language.flows import flow_from_source
from bot.language.model import Flow
from bot.storage import Storage
from bot.storage.records import MisunderstoodGroup
from bot.understanding.masking import MASK

DEFAULT_LIMIT = 10
_DATE_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DATE_FR = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


@dataclass(slots=True)
class TextCount:
    """One answer (its spellings together) at one question."""

    text: str  # the spelling written most often
    count: int = 0
    not_understood: int = 0
    refused: int = 0
    last: datetime | None = None
    spellings: dict[str, tuple[int, datetime]] = field(default_factory=dict)

    def add(self, group: MisunderstoodGroup) -> None:
        self.count += group.count
        if group.kind == "refused":
            self.refused += group.count
        else:
            self.not_understood += group.count
        self.last = group.last if self.last is None else max(self.last, group.last)
        seen, last = self.spellings.get(group.text, (0, group.last))
        self.spellings[group.text] = (seen + group.count, max(last, group.last))
        self.text = max(self.spellings, key=lambda s: (*self.spellings[s], s))

    def to_json(self) -> dict[str, Any]:
        assert self.last is not None
        return {
            "text": self.text,
            "count": self.count,
            "not_understood": self.not_understood,
            "refused": self.refused,
            "last": self.last.isoformat(),
        }


@dataclass(slots=True)
class QuestionReport:
    flow: str
    question: str
    wording: str | None  # the question as the flow asks it, when the flow is known
    texts: list[TextCount]

    @property
    def total(self) -> int:
        return sum(t.count for t in self.texts)

    def to_json(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "question": self.question,
            "total": self.total,
            "texts": [t.to_json() for t in self.texts],
        }


def add_parser(flows_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = flows_sub.add_parser(
        "misunderstood",
        help="ce que les gens ont écrit sans être compris, par question (à ajouter en `examples:`)",
        description="Les réponses non comprises (ou comprises puis refusées : « Si je comprends bien … ? » « non »), "
        "données personnelles masquées, les plus fréquentes d'abord, question par question, lues dans DATABASE_URL.",
    )
    command.add_argument(
        "--since", metavar="DATE", help="seulement depuis cette date (2026-11-01 ou 01/11/2026, heure de Paris)"
    )
    command.add_argument("--flow", metavar="NAME", help="seulement ce parcours (son nom `flow:`, ex. orientation)")
    command.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"réponses montrées par question (défaut {DEFAULT_LIMIT} ; 0 : toutes ; --json les donne toutes)",
    )
    command.add_argument("--json", action="store_true", help="une liste d'objets JSON, un par question")


def parse_since(text: str) -> datetime:
    """The start of that day in Paris: « 2026-11-01 » or « 01/11/2026 ». Raises ValueError."""
    if (iso := _DATE_ISO.fullmatch(text.strip())) is not None:
        year, month, day = (int(g) for g in iso.groups())
    elif (french := _DATE_FR.fullmatch(text.strip())) is not None:
        day, month, year = (int(g) for g in french.groups())
    else:
        raise ValueError(text)
    return datetime.combine(datetime(year, month, day).date(), time(), PARIS)


async def run(settings: Settings, args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    since = None
    if args.since is not None:
        try:
            since = parse_since(args.since)
        except ValueError:
            print(f"erreur : --since attend une date comme 2026-11-01 ou 01/11/2026, pas « {args.since} »", file=err)
            return 2
    reports: list[QuestionReport] = []
    if _database_exists(settings.database_url):
        storage = await Storage.open(settings.database_url)
        try:
            groups = await storage.misunderstood_groups(since, args.flow)
            flows = {name: await _latest_flow(storage, name, groups) for name in {g.flow for g in groups}}
        finally:
            await storage.close()
        reports = build_report(groups, flows)
    if args.json:
        print(json.dumps([r.to_json() for r in reports], ensure_ascii=False, indent=2), file=out)
        if not reports:
            print(_nothing(since, args.flow), file=err)
    else:
        print_report(reports, since, args.flow, args.limit, out)
    return 0


def build_report(groups: Iterable[MisunderstoodGroup], flows: dict[str, Flow | None]) -> list[QuestionReport]:
    """The groups of the database, spellings and flow versions merged, per question in the flow's order."""
    by_question: dict[tuple[str, str], dict[str, TextCount]] = {}
    for group in groups:
        texts = by_question.setdefault((group.flow, group.question), {})
        texts.setdefault(spelling_key(group.text), TextCount(group.text)).add(group)
    reports = []
    for (flow_name, question), texts in by_question.items():
        flow = flows.get(flow_name)
        step = flow.steps.get(question) if flow is not None else None
        wording = step.text.pick(None) if step is not None and step.text is not None else None
        ordered = sorted(texts.values(), key=lambda t: (-t.count, -_stamp(t.last), t.text))
        reports.append(QuestionReport(flow_name, question, wording, ordered))
    reports.sort(key=lambda r: (r.flow, *_position(flows.get(r.flow), r.question)))
    return reports


def spelling_key(text: str) -> str:
    """What tells two answers apart: lower case, no accents, no punctuation; a masked digit counts as a digit (so
    « ••.•• » and « •• •• » go together). Text with no letter or digit is its own key."""
    return normalise(text.replace(MASK, "0")) or text.strip()


def print_report(
    reports: Sequence[QuestionReport], since: datetime | None, flow: str | None, limit: int, out: TextIO
) -> None:
    if not reports:
        print(_nothing(since, flow), file=out)
        return
    total = sum(r.total for r in reports)
    flows = sorted({r.flow for r in reports})
    where = f"parcours {', '.join(flows)}" if len(flows) > 1 else f"parcours {flows[0]}"
    print(
        f"Réponses non comprises{_since_words(since)} : {total}, à {len(reports)} question(s) ({where}).\n"
        "Données personnelles masquées (numéros •, [e-mail], [prénom]) ; « refusées » : comprises puis refusées "
        "(« Si je comprends bien … ? » « non »).",
        file=out,
    )
    for report in reports:
        wording = f" : « {_short(report.wording)} »" if report.wording else ""
        prefix = f"{report.flow} / " if len(flows) > 1 else ""
        print(f"\n{prefix}{report.question}{wording} ({_answers(report.total)})", file=out)
        shown = report.texts if limit <= 0 else report.texts[:limit]
        for t in shown:
            kinds = f"non comprise {t.not_understood}, refusée {t.refused}"
            print(f"  {t.count:>5} × « {t.text} »  ({kinds} ; dernière fois le {_when(t.last)})", file=out)
        if len(shown) < len(report.texts):
            hidden = len(report.texts) - len(shown)
            print(f"        … et {hidden} autre(s) réponse(s) (--limit 0 pour toutes)", file=out)
    print(
        "\nPour qu'elles soient comprises : ajoutez ces phrases (ou leurs semblables) dans `examples:` du bon choix "
        "de la question, puis `python -m bot flows check` (voir flows/README.md).",
        file=out,
    )


# ----- helpers ---------------------------------------------------------------------------------------------------
def _database_exists(url: str) -> bool:
    """A SQLite file that is not there holds nothing: report that, and create no empty database."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return True  # Storage.open says what is wrong with it
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return True
    return Path(parsed.database).exists()


async def _latest_flow(storage: Storage, name: str, groups: Sequence[MisunderstoodGroup]) -> Flow | None:
    """The version of flow `name` seen last, rebuilt from the source the database keeps (for its questions' order
    and wording); None when it cannot be."""
    latest = max((g for g in groups if g.flow == name), key=lambda g: g.last)
    stored = await storage.flow_source(latest.flow_version)
    if stored is None:
        return None
    try:
        return flow_from_source(stored[1], stored[0])
    except (FlowError, ValueError, KeyError):
        return None


def _position(flow: Flow | None, question: str) -> tuple[int, str]:
    """Where a question comes: its step's rank in the flow; a phase (« rappel.who ») right after its step."""
    steps = list(flow.steps) if flow is not None else []
    for name in (question, question.split(".", 1)[0]):
        if name in steps:
            return steps.index(name), question
    return len(steps), question


def _stamp(moment: datetime | None) -> float:
    return moment.timestamp() if moment is not None else 0.0


def _when(moment: datetime | None) -> str:
    return moment.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M") if moment is not None else "?"


def _since_words(since: datetime | None) -> str:
    return f" depuis le {since.strftime('%d/%m/%Y')}" if since is not None else ""


def _answers(count: int) -> str:
    return "1 réponse" if count == 1 else f"{count} réponses"


def _short(text: str, width: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _nothing(since: datetime | None, flow: str | None) -> str:
    which = f" pour le parcours {flow}" if flow else ""
    return (
        f"Aucune réponse non comprise n'a été enregistrée{_since_words(since)}{which} : "
        "rien à revoir pour l'instant. Revenez après quelques conversations."
    )
