"""`flows graph`: draw a flow as Mermaid text, or as SVG/PNG through Graphviz's `dot` when installed.

Coordinators read the drawing as the conversation: each box shows what the bot says or asks (the `self` wording,
shortened), the step's name in small below; each arrow the button pressed or the answers that lead there, in the
buttons' own words.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from pathlib import Path

from bot.core.commands import HUMAN
from bot.core.slots import UNKNOWN
from bot.language.flows import Flow, Rule, Step

BOX_CHARS = 60  # a box's text is cut at about this many characters, with « … »
ARROW_CHARS = 30  # an arrow's label likewise
ACTIONS = {
    "classify": "Choisir le profil et dire son message",
    "show_offers": "Montrer les lieux proches",
    "request_callback": "Demande de rappel",
}
MISSING = "question sautée"


def shorten(text: str, limit: int) -> str:
    """One line of at most about `limit` characters, cut between words with « … »."""
    words = " ".join(text.split())
    if len(words) <= limit:
        return words
    cut = words[: limit - 1].rsplit(" ", 1)[0] if " " in words[: limit - 1] else words[: limit - 1]
    return cut.rstrip(" ,;:.!?") + " …"


def _answer_labels(flow: Flow) -> dict[str, dict[str, str]]:
    """slot -> value -> the words of its button, for conditions drawn in the buttons' words."""
    unknown = flow.messages.get("unknown_label")
    labels: dict[str, dict[str, str]] = {}
    for step in flow.steps.values():
        if step.kind == "ask" and step.slot:
            known = labels.setdefault(step.slot, {})
            for choice in step.choices:
                known.setdefault(choice.value, choice.label.pick(None))
            known.setdefault(UNKNOWN, unknown.pick(None) if unknown else UNKNOWN)
            known.setdefault("missing", MISSING)
    return labels


def _condition(rule: Rule, labels: dict[str, dict[str, str]]) -> str:
    def words(slot: str, values: frozenset[str]) -> str:
        known = labels.get(slot, {})
        order = list(known)  # the buttons' order in the question
        ranked = sorted(values, key=lambda v: (order.index(v) if v in order else len(order), v))
        return " ou ".join(shorten(known.get(v, v), ARROW_CHARS) for v in ranked)

    parts = [words(slot, values) for slot, values in rule.when.items()]
    parts += [f"sauf {words(slot, values)}" for slot, values in rule.unless.items()]
    return " et ".join(parts)


def _edges(step: Step, labels: dict[str, dict[str, str]]) -> list[tuple[str, str]]:
    edges = [(c.goto, shorten(c.label.pick(None), ARROW_CHARS)) for c in step.choices if c.goto]
    edges += [(r.goto, _condition(r, labels)) for r in step.next]
    if any(label for _, label in edges):  # beside labelled arrows, the unlabelled one is the rest
        edges = [(target, label or "sinon") for target, label in edges]
    return edges


def _text(step: Step) -> str:
    """What the box says: the question or text (`self` wording), or what the action does."""
    if step.kind == "action":
        return ACTIONS.get(step.action or "", step.action or "")
    return shorten(step.text.pick(None), BOX_CHARS) if step.text else step.id


# ----- Mermaid ------------------------------------------------------------------------------------------------------
def _mermaid_text(text: str) -> str:
    """Text inside a quoted Mermaid label: the characters Mermaid reads as syntax written as its entity codes."""
    codes = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "|": "#124;", "[": "#91;", "]": "#93;"}
    return "".join(codes.get(ch, ch) for ch in text)


def mermaid(flow: Flow) -> str:
    labels = _answer_labels(flow)
    lines = ["flowchart TD"]
    shapes = {"ask": ('["', '"]'), "menu": ('{"', '"}'), "action": ('[["', '"]]'), "say": ('("', '")')}
    for step in flow.steps.values():
        left, right = shapes[step.kind]
        label = f"{_mermaid_text(_text(step))}<br/><small>{_mermaid_text(step.id)}</small>"
        lines.append(f"  {step.id}{left}{label}{right}")
    for step in flow.steps.values():
        for target, label in _edges(step, labels):
            lines.append(
                f'  {step.id} -->|"{_mermaid_text(label)}"| {target}' if label else f"  {step.id} --> {target}"
            )
        if step.end:
            lines.append(f"  {step.id} --> end_of_conversation")
    # Declared once, apart from the edges, so that each line is either a box or an arrow.
    lines += ['  end_of_conversation(("fin"))', f'  human_cmd(["{HUMAN}"])', f"  human_cmd -.-> {flow.human}"]
    return "\n".join(lines) + "\n"


# ----- Graphviz -----------------------------------------------------------------------------------------------------
END_NODE = "(fin de la conversation)"  # not a valid step name, so it never collides with a step


def _dot_text(text: str) -> str:
    """A DOT string body: quotes and backslashes escaped."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _dot_box(step: Step) -> str:
    """An HTML-like DOT label: the text, and the step's name in small below."""
    return f'<{html.escape(_text(step))}<BR/><FONT POINT-SIZE="9">{html.escape(step.id)}</FONT>>'


def dot(flow: Flow) -> str:
    labels = _answer_labels(flow)
    shapes = {"ask": "box", "menu": "diamond", "action": "component", "say": "note"}
    lines = [f'digraph "{_dot_text(flow.name)}" {{', "  rankdir=TB;", '  node [fontname="sans-serif"];']
    lines.append('  edge [fontname="sans-serif", fontsize=10];')
    for step in flow.steps.values():
        lines.append(f'  "{_dot_text(step.id)}" [shape={shapes[step.kind]}, label={_dot_box(step)}];')
    for step in flow.steps.values():
        for target, label in _edges(step, labels):
            attributes = f' [label="{_dot_text(label)}"]' if label else ""
            lines.append(f'  "{_dot_text(step.id)}" -> "{_dot_text(target)}"{attributes};')
        if step.end:
            lines.append(f'  "{_dot_text(step.id)}" -> "{END_NODE}";')
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
