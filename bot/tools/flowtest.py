"""`flows test`: conversation tests written in YAML beside the flows, run against the real engine.

flow: ../orientation.yaml
tests:
  - name: Une personne qui refuse internet
    conversation: [bonjour, "value:self", …]        # inputs as in `chat --jsonl`
    expect: {persona: refractaire, state: mobilite}  # checked on the last turn
  - name: Étape par étape
    conversation:
      - bonjour
      - send: "value:relative"
        expect: {state: envies, text: "votre proche"}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.app.root import open_app
from bot.channels.terminal import parse_line, turn_to_json
from bot.config import Settings
from bot.core.errors import FlowError, Problem
from bot.core.messages import Turn
from bot.language.yamlload import LineDict, LineList, read_yaml

EXPECT_KEYS = {"persona", "state", "slot", "text", "not_text", "done", "callback", "buttons", "offers"}


@dataclass(frozen=True, slots=True)
class Exchange:
    send: str
    expect: dict[str, Any]
    line: int


@dataclass(frozen=True, slots=True)
class FlowTest:
    name: str
    line: int
    exchanges: tuple[Exchange, ...]


@dataclass(frozen=True, slots=True)
class TestFile:
    file: str
    flow: Path
    tests: tuple[FlowTest, ...]


@dataclass(slots=True)
class Result:
    file: str
    name: str
    line: int
    ok: bool
    message: str = ""


@dataclass(slots=True)
class TestReport:
    results: list[Result] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(not r.ok for r in self.results)

    @property
    def passed(self) -> int:
        return sum(r.ok for r in self.results)


def load_tests(path: Path) -> TestFile:
    _, data = read_yaml(path)
    file = str(path)
    problems: list[Problem] = []
    if (
        not isinstance(data, LineDict)
        or not isinstance(data.get("flow"), str)
        or not isinstance(data.get("tests"), LineList)
    ):
        raise FlowError(
            [Problem(file, 1, "un fichier de test a besoin de `flow:` (le chemin du parcours) et d'une liste `tests:`")]
        )
    flow = (path.parent / data["flow"]).resolve()
    if not flow.exists():
        problems.append(
            Problem(
                file,
                data.line_of("flow"),
                f"parcours `{data['flow']}` introuvable ; le chemin part du dossier de ce fichier de test",
            )
        )
    tests: list[FlowTest] = []
    for index, raw in enumerate(data["tests"]):
        line = data["tests"].line_of(index)
        if not isinstance(raw, LineDict) or "name" not in raw or not isinstance(raw.get("conversation"), LineList):
            problems.append(
                Problem(
                    file,
                    line,
                    "chaque test a besoin de `name` et d'une liste `conversation:` (ce qu'écrit la personne)",
                )
            )
            continue
        exchanges: list[Exchange] = []
        conversation: LineList = raw["conversation"]
        for step_index, item in enumerate(conversation):
            step_line = conversation.line_of(step_index)
            if isinstance(item, str | int | float):
                exchanges.append(Exchange(str(item), {}, step_line))
            elif isinstance(item, LineDict) and "send" in item:
                expect = item.get("expect") or {}
                problems += _check_expect(expect, file, step_line)
                exchanges.append(Exchange(str(item["send"]), dict(expect), step_line))
            else:
                problems.append(
                    Problem(file, step_line, "chaque message est un texte, ou `send:` avec un `expect:` facultatif")
                )
        final = raw.get("expect") or {}
        problems += _check_expect(final, file, raw.line_of("expect"))
        if exchanges and final:
            last = exchanges[-1]
            exchanges[-1] = Exchange(last.send, {**last.expect, **final}, last.line)
        if not exchanges:
            problems.append(Problem(file, line, "la conversation est vide ; écrivez au moins un message"))
        tests.append(FlowTest(str(raw["name"]), line, tuple(exchanges)))
    if problems:
        raise FlowError(problems)
    return TestFile(file, flow, tuple(tests))


def _check_expect(expect: Any, file: str, line: int) -> list[Problem]:
    if not isinstance(expect, dict):
        return [Problem(file, line, "`expect` contient des vérifications `clé: valeur` (persona, state, text…)")]
    return [
        Problem(file, line, f"vérification `{k}` inconnue ; vérifications connues : {', '.join(sorted(EXPECT_KEYS))}")
        for k in expect
        if k not in EXPECT_KEYS
    ]


def mismatch(expect: dict[str, Any], turn: Turn) -> str | None:
    """Why the turn does not meet the expectations, or None."""
    shown = turn_to_json(turn)
    for key, wanted in expect.items():
        if key == "persona":
            got = turn.persona.id if turn.persona else None
            if got != wanted:
                return f"profil attendu {wanted!r}, obtenu {got!r}"
        elif key in ("text", "not_text"):
            for piece in wanted if isinstance(wanted, list) else [wanted]:
                found = str(piece).casefold() in shown["text"].casefold()
                if found != (key == "text"):
                    return f"le texte {'devait' if key == 'text' else 'ne devait pas'} contenir {piece!r}"
        elif key == "callback":
            if bool(turn.callback) != bool(wanted):
                return (
                    "une demande de rappel était attendue à ce message"
                    if wanted
                    else "aucune demande de rappel n'était attendue à ce message"
                )
        elif key == "buttons":
            values = [b["value"] for b in shown["buttons"]]
            missing = [v for v in wanted if str(v) not in values]
            if missing:
                return f"boutons attendus absents : {missing} ; boutons proposés : {values}"
        elif key == "offers":
            if len(turn.offers) != int(wanted):
                return f"{wanted} lieu(x) attendu(s), {len(turn.offers)} montré(s)"
        elif shown[key] != wanted:
            return f"`{key}` attendu {wanted!r}, obtenu {shown[key]!r}"
    return None


async def run_tests(paths: list[Path], settings: Settings) -> TestReport:
    report = TestReport()
    for path in paths:
        try:
            test_file = load_tests(path)
        except FlowError as exc:
            report.results += [Result(p.file, "(fichier)", p.line, False, p.message) for p in exc.problems]
            continue
        try:
            async with open_app(settings, test_file.flow, in_memory=True) as app:
                for number, test in enumerate(test_file.tests):
                    report.results.append(await _run_one(app.engine, test_file.file, test, number))
        except FlowError as exc:
            report.results += [Result(p.file, "(parcours)", p.line, False, p.message) for p in exc.problems]
    return report


async def _run_one(engine: Any, file: str, test: FlowTest, number: int) -> Result:
    key = f"flowtest:{number}"
    turn: Turn | None = None
    for index, exchange in enumerate(test.exchanges, 1):
        turn = await engine.handle(parse_line(key, exchange.send, bool(turn and turn.multi)))
        problem = mismatch(exchange.expect, turn)
        if problem:
            return Result(
                file,
                test.name,
                exchange.line,
                False,
                f"message {index} ({exchange.send!r}) : {problem} ; le robot a dit : "
                f"{turn_to_json(turn)['text'][:300]!r}",
            )
    return Result(file, test.name, test.line, True)
