"""Texts in the web chat's words: the `web:` / `web_relative:` variants are chosen for web conversations, the shipped
flow never names a command there (the page has buttons for them), and Telegram keeps its commands."""

from __future__ import annotations

import re
from pathlib import Path

from bot.app.root import load_flow_with_personas
from bot.language.checks import Collector
from bot.language.flows import Wording, parse_wording
from bot.language.yamlload import load_yaml

ROOT = Path(__file__).resolve().parents[2]
COMMAND = re.compile(r"/(start|aide|humain|annuler|mesdonnees|oublier|stop|valider)\b")


def test_the_shipped_texts_name_no_command_in_the_web_chat_and_telegram_keeps_them() -> None:
    """Every message, question, button and persona message of the shipped flow, for oneself or a relative, in the
    web chat's words names no slash command; the help, welcome and privacy notice still name them elsewhere."""
    loaded = load_flow_with_personas(ROOT / "flows" / "orientation.yaml")
    flow = loaded.flow
    wordings: list[tuple[str, Wording]] = [(f"messages.{key}", w) for key, w in flow.messages.items()]
    for step in flow.steps.values():
        wordings += [(step.id, w) for w in (step.text, step.invalid) if w is not None]
        wordings += [(f"{step.id}.{c.value}", c.label) for c in step.choices]
    wordings += [(pid, w) for pid, p in loaded.personas.personas.items() for w in p.message.wordings()]
    with_commands = [
        (name, who) for name, w in wordings for who in (None, "relative") if COMMAND.search(w.pick(who, channel="web"))
    ]
    assert with_commands == []
    for key in ("help", "privacy_notice", "stop", "forget_done"):
        assert COMMAND.search(flow.messages[key].pick(None, channel="telegram")), key
        assert flow.messages[key].pick(None, channel="web") != flow.messages[key].pick(None), key
    assert "/humain" in flow.steps[flow.start].text.pick(None)  # type: ignore[union-attr]  # the welcome says
    assert "/humain" not in flow.steps[flow.start].text.pick(None, channel="web")  # type: ignore[union-attr]


def test_the_variant_chosen_by_who_writes_and_where() -> None:
    """web_relative for a relative on the web, web for oneself there (or a relative when the text has no relative
    variant), relative and self elsewhere; a text without web variants is the same everywhere."""
    both = Wording({"self": "s", "relative": "r", "web": "w", "web_relative": "wr"}, 1)
    assert [
        both.pick(who, channel=channel) for channel in ("web", "telegram", None) for who in ("self", "relative")
    ] == [
        "w",
        "wr",
        "s",
        "r",
        "s",
        "r",
    ]
    web_only = Wording({"self": "s", "web": "w"}, 1)
    assert [web_only.pick("relative", channel="web"), web_only.pick("relative", channel="terminal")] == ["w", "s"]
    assert Wording({"self": "s"}, 1).pick("self", channel="web") == "s"


def test_a_text_with_relative_and_web_versions_needs_web_relative() -> None:
    """`flows check`: a text with `relative:` and `web:` but no `web_relative:` is refused, with what to add; an
    unknown version is named."""
    source = (
        'a:\n  self: "Vous"\n  relative: "Votre proche"\n  web: "Vous, sur la page"\n'
        'b:\n  self: "Vous"\n  mobile: "?"\n'
    )
    data = load_yaml(source, "f.yaml")
    out = Collector("f.yaml")
    assert parse_wording(data["a"], "messages.a", 1, out) is None
    assert parse_wording(data["b"], "messages.b", 5, out) is None
    messages = [p.message for p in out.problems]
    assert "ajoutez `web_relative:`" in messages[0]
    assert "`mobile`" in messages[1]
