"""`flows graph`: draw a flow as Mermaid text, or as SVG/PNG through Graphviz's `dot` when installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bot.core.commands import HUMAN
from bot.language.flows import Flow, Rule, Step


def _condition(rule: Rule) -> str:
    parts = [f"{slot} = {' ou '.join(sorted(values))}" for slot, values in rule.when.items()]
    parts += [f"sauf {slot} = {' ou '.join(sorted(values))}" for slot, values in rule.unless.items()]
    return " et ".join(parts)


def _edges(step: Step) -> list[tuple[str, str]]:
    edges = [(c.goto, c.value) for c in step.choices if c.goto]
    edges += [(r.goto, _condition(r)) for r in step.next]
    return edges


def _title(step: Step) -> str:
    detail = step.slot if step.kind == "ask" else step.action if step.kind == "action" else step.kind
    return f"{step.id}\\n({detail})" if detail != step.kind else f"{step.id}\\n({step.kind})"


def mermaid(flow: Flow) -> str:
    lines = ["flowchart TD"]
    shapes = {"ask": ('["', '"]'), "menu": ('{"', '"}'), "action": ('[["', '"]]'), "say": ('("', '")')}
    for step in flow.steps.values():
        left, right = shapes[step.kind]
        lines.append(f"  {step.id}{left}{_title(step).replace(chr(92) + 'n', '<br/>')}{right}")
    for step in flow.steps.values():
        for target, label in _edges(step):
            label = label.replace('"', "'")
            lines.append(f'  {step.id} -->|"{label}"| {target}' if label else f"  {step.id} --> {target}")
        if step.end:
            lines.append(f"  {step.id} --> end_of_conversation((fin))")
    lines.append(f"  human_cmd([{HUMAN}]) -.-> {flow.human}")
    return "\n".join(lines) + "\n"


END_NODE = "(fin de la conversation)"  # not a valid step name, so it never collides with a step


def _dot_text(text: str) -> str:
    """A DOT string body: quotes and backslashes escaped, except the line breaks _title() puts in."""
    return text.replace("\\n", "\n").replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def dot(flow: Flow) -> str:
    shapes = {"ask": "box", "menu": "diamond", "action": "component", "say": "note"}
    lines = [f'digraph "{_dot_text(flow.name)}" {{', "  rankdir=TB;", '  node [fontname="sans-serif"];']
    for step in flow.steps.values():
        lines.append(f'  "{step.id}" [shape={shapes[step.kind]}, label="{_dot_text(_title(step))}"];')
    for step in flow.steps.values():
        for target, label in _edges(step):
            attributes = f' [label="{_dot_text(label)}"]' if label else ""
            lines.append(f'  "{step.id}" -> "{target}"{attributes};')
        if step.end:
            lines.append(f'  "{step.id}" -> "{END_NODE}";')
    lines.append(f'  "{END_NODE}" [shape=doublecircle, label="fin"];')
    lines.append(f'  "{HUMAN}" [shape=oval, style=dashed];\n  "{HUMAN}" -> "{flow.human}" [style=dashed];')
    return "\n".join(lines) + "\n}\n"


def draw(flow: Flow, output: Path | None) -> tuple[str, Path | None, str | None]:
    """Returns (text for stdout, file written, warning)."""
    if output is None:
        return mermaid(flow), None, None
    suffix = output.suffix.lower()
    if suffix in (".svg", ".png"):
        dot_binary = shutil.which("dot")
        if dot_binary is None:
            fallback = output.with_suffix(".mmd")
            fallback.write_text(mermaid(flow), encoding="utf-8")
            return (
                "",
                fallback,
                (
                    f"Graphviz (`dot`) n'est pas installé : texte Mermaid écrit dans {fallback} à la place "
                    "(installez le paquet `graphviz` pour avoir SVG ou PNG)"
                ),
            )
        subprocess.run(
            [dot_binary, f"-T{suffix[1:]}", "-o", str(output)],
            input=dot(flow).encode(),
            check=True,
            capture_output=True,
            timeout=60,
        )
        return "", output, None
    if suffix == ".dot":
        output.write_text(dot(flow), encoding="utf-8")
    else:
        output.write_text(mermaid(flow), encoding="utf-8")
    return "", output, None
