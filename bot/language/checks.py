"""Whole-flow checks, once every step is parsed: links, reachability, texts and their variables."""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Iterable

from bot.core.errors import Problem
from bot.language.model import RUNTIME_VARIABLES, Flow, Wording
from bot.language.yamlload import LineDict


class Collector:
    """Gathers every problem of a file, so a coordinator sees them all at once; warnings apart (they do not stop
    the file from loading)."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def add(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    def warn(self, line: int, message: str) -> None:
        self.warnings.append(Problem(self.file, line, message))


def listing(names: Iterable[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def unknown_key(key: str, allowed: Iterable[str], where: str = "") -> str:
    """« clé `titre` inconnue ; vouliez-vous dire `title` ? » with the keys allowed there."""
    known = sorted(allowed)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f" ; vouliez-vous dire `{close[0]}` ?" if close else ""
    return f"{where}clé `{key}` inconnue{hint} (clés permises : {listing(known)})"


def did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" ; vouliez-vous dire `{close[0]}` ?" if close else ""


def check_graph(flow: Flow, data: LineDict, out: Collector) -> None:
    steps = flow.steps
    if flow.start and flow.start not in steps:
        out.add(
            data.line_of("start"),
            f"l'étape de départ `{flow.start}` n'existe pas{did_you_mean(flow.start, steps)} ; `start:` nomme une "
            "étape de `steps`",
        )
    if flow.human:
        human = steps.get(flow.human)
        if human is None or human.action != "request_callback":
            out.add(
                data.line_of("human"),
                f"`human: {flow.human}` doit nommer une étape `action: request_callback` (la demande de rappel où "
                "mène /humain)",
            )
    broken_links = 0
    for step in steps.values():
        links = [(r.goto, r.line) for r in step.next] + [(c.goto, c.line) for c in step.choices if c.goto]
        for target, line in links:
            if target not in steps:
                broken_links += 1
                out.add(
                    line or step.line,
                    f"étape `{step.id}` : mène à l'étape `{target}`, qui n'existe pas"
                    f"{did_you_mean(target, steps) or ' ; corrigez le nom ou ajoutez cette étape'}",
                )
        if step.kind in ("say", "action") and not step.next and not step.end:
            out.add(step.line, f"étape `{step.id}` : impasse ; ajoutez `next:` (l'étape suivante) ou `end: true`")
    reachable: set[str] = set()
    todo = [s for s in (flow.start, flow.human) if s in steps]
    while todo:
        current = todo.pop()
        if current in reachable:
            continue
        reachable.add(current)
        todo.extend(t for t in steps[current].targets() if t in steps)
    if broken_links:
        return  # one mistyped `goto` would make every later step "unreachable": fix the link first
    for step in steps.values():
        if step.id not in reachable and flow.start in steps:
            out.add(
                step.line,
                f"étape `{step.id}` : aucune étape n'y mène depuis `{flow.start}` ; reliez-la (`next` ou `goto`) "
                "ou supprimez-la",
            )


# A label speaking as the one who writes: « je », « j' », « me », « m' », « moi », « mon », « ma », « mes ».
FIRST_PERSON = re.compile(r"(?<![\w])(?:[jm]['’]|(?:je|me|moi|mon|ma|mes)(?![\w]))", re.IGNORECASE)


def check_relative_labels(flow: Flow, out: Collector) -> None:
    """A question worded apart for a relative must not leave its buttons in the first person: the relative would
    press « Ce n'est pas pour moi » about someone else."""
    for step in flow.steps.values():
        if step.text is None or "relative" not in step.text.variants:
            continue
        for choice in step.choices:
            label = choice.label
            if "relative" in label.variants:
                continue
            said = FIRST_PERSON.search(label.variants.get("self", ""))
            if said is None:
                continue
            out.add(
                label.line or choice.line,
                f"étape `{step.id}`, bouton `{choice.value}` : la question a une version pour un proche "
                f"(`relative:`), mais ce bouton parle à la première personne (« {label.variants['self']} », "
                f"d'après « {said.group(0)} ») ; écrivez son `label:` en deux versions, `self:` et `relative:` "
                "(par exemple « Mon proche … »), ou reformulez-le sans « je », « moi », « mon »…",
            )


def _placeholders(text: str) -> list[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError:
        return ["{"]


def check_texts(flow: Flow, out: Collector) -> None:
    known = RUNTIME_VARIABLES | set(flow.variables)
    wordings: list[tuple[str, Wording]] = [(f"messages.{k}", w) for k, w in flow.messages.items()]
    wordings += [(f"variables.{k}", w) for k, w in flow.variables.items()]
    for step in flow.steps.values():
        if step.text:
            wordings.append((f"étape `{step.id}`", step.text))
        if step.invalid:
            wordings.append((f"étape `{step.id}`, texte `invalid`", step.invalid))
        wordings += [(f"étape `{step.id}`, bouton `{c.value}`", c.label) for c in step.choices]
    for where, wording in wordings:
        for variant in wording.variants.values():
            for name in _placeholders(variant):
                if name == "{" or not name.isidentifier():
                    out.add(
                        wording.line,
                        f"{where} : accolades `{{…}}` mal formées ; écrivez `{{nom}}`, "
                        "ou doublez l'accolade pour l'afficher telle quelle",
                    )
                elif name not in known:
                    out.add(
                        wording.line,
                        f"{where} : variable `{{{name}}}` inconnue{did_you_mean(name, known)} (variables connues : "
                        f"{', '.join(sorted(known))})",
                    )
