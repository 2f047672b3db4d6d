"""`flows graph` draws the conversation in its own words: boxes hold the question texts (`self`, shortened), with
the step's name in small; arrows hold the buttons' labels, not their values. The Mermaid text stays valid whatever
the texts hold (quotes, brackets, pipes, `#`), checked line by line against Mermaid's flowchart grammar; the SVG
when Graphviz is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bot.app.root import load_flow_with_personas
from bot.language.flows import Flow, load_flow
from bot.tools.graph import BOX_CHARS, dot, mermaid, shorten
from tests.test_cli import FIXTURES, ROOT, bot_env, run_bot

SHIPPED_FLOW = ROOT / "flows" / "orientation.yaml"
TRICKY = """\
flow: "piège"
start: accueil
human: rappel
steps:
  accueil:
    ask: for_whom
    text: 'C''est pour vous ? Répondez "oui" [ou] | non #1 <b>gras</b> {{accolades}} ; très long texte qui déborde'
    choices:
      - {value: self, label: 'Pour "moi" | [seul] #1', goto: rappel}
      - {value: relative, label: Pour un proche}
    next: fin
  rappel:
    action: request_callback
    next: fin
  fin:
    say: "Au revoir « et merci »."
    end: true
"""

# Mermaid flowchart lines as `flows graph` writes them: a node with a quoted label in one of the shapes, or an edge
# between two ids with an optional quoted label. Inside a quoted label, Mermaid reads `"` as its end.
NODE_ID = r"[A-Za-z][A-Za-z0-9_-]*"
LABEL = r'"[^"]*"'
NODE = re.compile(
    rf"^  (?P<id>{NODE_ID})(?:\[{LABEL}\]|\{{{LABEL}\}}|\[\[{LABEL}\]\]|\({LABEL}\)|\(\[{LABEL}\]\)|\(\({LABEL}\)\))$"
)
EDGE = re.compile(rf"^  (?P<source>{NODE_ID}) (?:-->|-\.->)(?:\|(?P<label>{LABEL})\|)? (?P<target>{NODE_ID})$")


def parse_mermaid(text: str) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Nodes (id -> line) and edges (source, label, target); an AssertionError at the first line Mermaid could not
    read as `flows graph` means it."""
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str, str]] = []
    for line in lines[1:]:
        node, edge = NODE.match(line), EDGE.match(line)
        assert node or edge, f"not Mermaid: {line!r}"
        if edge:
            edges.append((edge["source"], (edge["label"] or '""')[1:-1], edge["target"]))
        elif node:
            assert node["id"] not in nodes, f"declared twice: {line!r}"
            nodes[node["id"]] = line
    for source, _, target in edges:
        assert source in nodes, source
        assert target in nodes, target
    return nodes, edges


def flow_at(tmp_path: Path, text: str) -> Flow:
    path = tmp_path / "piege.yaml"
    path.write_text(text, encoding="utf-8")
    shutil.copy(ROOT / "flows" / "messages.yaml", tmp_path / "messages.yaml")
    shutil.copy(FIXTURES / "broken" / "personas.yaml", tmp_path / "personas.yaml")
    return load_flow_with_personas(path).flow


def test_boxes_hold_the_questions_and_arrows_the_buttons_labels() -> None:
    """On the shipped flow: each question's box holds its `self` text and its step name in small; a menu's arrows
    are its buttons' labels; a condition's arrow names the buttons' labels, never their values."""
    flow = load_flow(SHIPPED_FLOW)
    nodes, edges = parse_mermaid(mermaid(flow))
    pour_qui = flow.steps["pour_qui"]
    assert pour_qui.text is not None
    assert f'["{pour_qui.text.pick(None)}<br/><small>pour_qui</small>"]' in nodes["pour_qui"]
    labels = {label for source, label, _ in edges if source == "proposition"}
    assert labels == {c.label.pick(None) for c in flow.steps["proposition"].choices}
    conditions = [label for source, label, target in edges if (source, target) == ("appareils", "frequence")]
    assert conditions == ["Un smartphone ou Une tablette ou Un ordinateur"]
    values = {c.value for step in flow.steps.values() for c in step.choices}
    assert not [label for _, label, _ in edges if label in values]


def test_long_texts_are_shortened_between_words_with_an_ellipsis() -> None:
    """A text longer than the box is cut between two words, at most BOX_CHARS characters, ending with « … »."""
    text = "Pour commencer, qu'aimeriez-vous pouvoir faire plus facilement grâce à internet ? Plusieurs réponses"
    short = shorten(text, BOX_CHARS)
    assert short.endswith(" …")
    assert len(short) <= BOX_CHARS + 1
    assert text.startswith(short[:-2])
    assert shorten("Quels appareils avez-vous ?", BOX_CHARS) == "Quels appareils avez-vous ?"


def test_mermaid_stays_valid_with_quotes_brackets_and_pipes_in_the_texts(tmp_path: Path) -> None:
    """Texts holding `"`, `[`, `]`, `|`, `#`, `<`, `>` are written as Mermaid's entity codes: every line still
    parses, and the labels keep their words."""
    nodes, edges = parse_mermaid(mermaid(flow_at(tmp_path, TRICKY)))
    assert "#quot;oui#quot; #91;ou#93; #124; non #35;1 #lt;b#gt;gras#lt;/b#gt;" in nodes["accueil"]
    assert ("accueil", "Pour #quot;moi#quot; #124; #91;seul#93; #35;1", "rappel") in edges
    assert ("accueil", "sinon", "fin") in edges


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
def test_svg_shows_the_question_texts_and_the_button_labels(tmp_path: Path) -> None:
    """With Graphviz: the SVG's texts hold the questions, the step names and the buttons' labels, even with quotes
    and markup in them."""
    out = tmp_path / "parcours.svg"
    result = run_bot(["flows", "graph", str(SHIPPED_FLOW), "-o", str(out)], tmp_path, env=bot_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == f"écrit : {out}"
    texts = {el.text for el in ET.parse(out).getroot().iter("{http://www.w3.org/2000/svg}text")}
    assert {"Vous m'écrivez pour vous-même ou pour un proche ?", "pour_qui", "Oui, qu'on me rappelle"} <= texts
    tricky = flow_at(tmp_path, TRICKY)
    svg = tmp_path / "piege.svg"
    done = subprocess.run(
        [shutil.which("dot") or "dot", "-Tsvg", "-o", str(svg)], input=dot(tricky).encode(), capture_output=True
    )
    assert done.returncode == 0, done.stderr
    texts = {el.text for el in ET.parse(svg).getroot().iter("{http://www.w3.org/2000/svg}text")}
    assert 'Pour "moi" | [seul] #1' in texts
    assert any(t and t.startswith('C\'est pour vous ? Répondez "oui" [ou] | non #1 <b>gras</b>') for t in texts)
