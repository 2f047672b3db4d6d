"""`flows check`: find the coordinators' YAML files and validate each with the loader the bot runs; then warn about
what loads but would be misunderstood (bot/tools/confusions.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.app.root import load_flow_with_personas
from bot.callbacks.queuefile import TOP_KEYS as QUEUE_KEYS
from bot.callbacks.queuefile import load_queues
from bot.core.errors import FlowError, Problem
from bot.language.personas import load_personas
from bot.language.yamlload import LineDict, read_yaml
from bot.places.geo import Geo
from bot.tools.confusions import confusions
from bot.tools.flowtest import load_tests
from bot.tools.understanding_corpus import load_corpus


@dataclass(slots=True)
class CheckReport:
    files: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # shown, but the files are valid: `ok` ignores them

    @property
    def ok(self) -> bool:
        return not self.problems


def yaml_files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.y*ml") if p.suffix in (".yaml", ".yml"))
        else:
            found.append(path)
    return found


def kind_of(path: Path) -> str:
    """flow, personas, messages, tests, understanding (a corpus of typed answers) or queues, told by the top-level
    keys (unreadable files count as flows)."""
    try:
        _, data = read_yaml(path)
    except FlowError:
        return "flow"
    if isinstance(data, LineDict):
        # `steps` before `personas`: a flow names its personas file under a top-level `personas:` key too.
        for key, kind in (
            ("tests", "tests"),
            ("steps", "flow"),
            ("personas", "personas"),
            ("answers", "understanding"),
            ("openings", "understanding"),
        ):
            if key in data:
                return kind
        if set(data) == {"messages"}:
            return "messages"
        if set(data) & set(QUEUE_KEYS):
            return "queues"
    return "flow"


def check(paths: list[Path]) -> CheckReport:
    report = CheckReport()
    for path in yaml_files(paths):
        if not path.exists():
            report.problems.append(Problem(str(path), 1, "fichier introuvable ; vérifiez le chemin"))
            continue
        kind = kind_of(path)
        report.files.append(str(path))
        try:
            if kind == "flow":
                report.warnings += confusions(load_flow_with_personas(path).flow)
            elif kind == "personas":
                load_personas(path)
            elif kind == "tests":
                load_tests(path)
            elif kind == "understanding":
                load_corpus(path)
            elif kind == "queues":
                load_queues(path, default_chat_id=None, geo=Geo.load())
            else:
                read_yaml(path)
        except FlowError as exc:
            report.problems.extend(exc.problems)
    unique = {(p.file, p.line, p.message): p for p in report.problems}
    report.problems = sorted(unique.values(), key=lambda p: (p.file, p.line, p.message))
    report.warnings = sorted(set(report.warnings), key=lambda p: (p.file, p.line, p.message))
    return report


def warning_text(warning: Problem) -> str:
    """`file:line: attention : message`: the problem's shape, marked as a warning."""
    return str(Problem(warning.file, warning.line, f"attention : {warning.message}"))
