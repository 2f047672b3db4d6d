"""Whole-flow checks, once every step is parsed: links, reachability, texts and their variables."""

from __future__ import annotations

import string

from bot.core.errors import Problem
from bot.language.model import RUNTIME_VARIABLES, Flow, Wording
from bot.language.yamlload import LineDict


class Collector:
    """Gathers every problem of a file, so a coordinator sees them all at once."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))


def check_graph(flow: Flow, data: LineDict, out: Collector) -> None:
    steps = flow.steps
    if flow.start and flow.start not in steps:
        out.add(data.line_of("start"), f"start step `{flow.start}` does not exist")
    if flow.human:
        human = steps.get(flow.human)
        if human is None or human.action != "request_callback":
            out.add(data.line_of("human"), f"`human: {flow.human}` must name a step with `action: request_callback`")
    broken_links = 0
    for step in steps.values():
        links = [(r.goto, r.line) for r in step.next] + [(c.goto, c.line) for c in step.choices if c.goto]
        for target, line in links:
            if target not in steps:
                broken_links += 1
                out.add(line or step.line, f"step `{step.id}`: goes to unknown step `{target}`")
        if step.kind in ("say", "action") and not step.next and not step.end:
            out.add(step.line, f"step `{step.id}`: dead end: add `next:` or `end: true`")
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
            out.add(step.line, f"step `{step.id}` is unreachable from `{flow.start}`; link it or remove it")


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
            wordings.append((f"step `{step.id}`", step.text))
        if step.invalid:
            wordings.append((f"step `{step.id}` invalid", step.invalid))
        wordings += [(f"step `{step.id}` choice `{c.value}`", c.label) for c in step.choices]
    for where, wording in wordings:
        for variant in wording.variants.values():
            for name in _placeholders(variant):
                if name == "{" or not name.isidentifier():
                    out.add(
                        wording.line,
                        f"{where}: malformed `{{…}}` placeholder; write `{{name}}`, "
                        "or double the braces for a literal one",
                    )
                elif name not in known:
                    out.add(wording.line, f"{where}: unknown variable `{{{name}}}`; known: {', '.join(sorted(known))}")
