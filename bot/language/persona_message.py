"""A persona's message, built from the answers actually given: sentences the coordinators condition on answers.

A message is one text (said to everyone of the persona), or a list of parts, each a text with optional `if` and
`unless` conditions written as in `next` rules; the parts whose conditions hold are said, in order, joined:

    message:
      - self: "Merci !"
      - if: {attitude: curious}
        self: "Vous avez envie de vous y mettre, c'est une très bonne nouvelle."
      - if: {equipment: [none, basic_phone]}
        self: "Il existe des parcours à petit prix : un appareil reconditionné, …"

A « je ne sais pas » or a skipped question makes a condition false (unless it names `unknown` or `missing`), so
nothing is claimed from an answer nobody gave.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.slots import SlotValue, condition_holds
from bot.language.checks import Collector, unknown_key
from bot.language.model import VARIANTS, Wording
from bot.language.steps import parse_conditions, parse_wording
from bot.language.yamlload import LineDict, LineList

PART_KEYS = {"if", "unless", *VARIANTS}


@dataclass(frozen=True, slots=True)
class MessagePart:
    text: Wording
    when: Mapping[str, frozenset[str]] = field(default_factory=dict)
    unless: Mapping[str, frozenset[str]] = field(default_factory=dict)
    line: int = 0

    def holds(self, answers: Mapping[str, SlotValue]) -> bool:
        given = dict(answers)
        if self.when and not condition_holds(dict(self.when), given):
            return False
        return not (self.unless and condition_holds(dict(self.unless), given))


@dataclass(frozen=True, slots=True)
class PersonaMessage:
    parts: tuple[MessagePart, ...]
    line: int

    def said(self, answers: Mapping[str, SlotValue]) -> Wording:
        """The message for these answers: the parts that hold, joined, in each variant any of them has."""
        kept = [part.text for part in self.parts if part.holds(answers)]
        variants = [v for v in VARIANTS if any(v in text.variants for text in kept)]
        joined = {v: " ".join(_variant(text, v) for text in kept) for v in variants}
        return Wording(joined or {"self": ""}, self.line)

    def wordings(self) -> list[Wording]:
        return [part.text for part in self.parts]


def _variant(text: Wording, variant: str) -> str:
    """A part's text in a variant, falling back as `Wording.pick` does (person_called → relative → self; the web's
    variants → the others)."""
    if variant == "person_called":
        return text.pick("relative", "person")
    if variant in ("web", "web_relative"):
        return text.pick("relative" if variant == "web_relative" else None, channel="web")
    return text.pick(variant)


def parse_message(raw: Any, where: str, line: int, out: Collector) -> PersonaMessage | None:
    if not isinstance(raw, LineList):
        wording = parse_wording(raw, where, line, out)
        return PersonaMessage((MessagePart(wording, line=wording.line),), wording.line) if wording else None
    if not raw:
        out.add(line, f"{where} : la liste est vide ; écrivez au moins une phrase `- self: …`")
        return None
    parts: list[MessagePart] = []
    for index, item in enumerate(raw):
        item_line = raw.line_of(index)
        if not isinstance(item, LineDict):
            out.add(item_line, f"{where} : chaque partie s'écrit `- self: …` (avec `relative:`, `if:`, `unless:`)")
            continue
        for key in item:
            if key not in PART_KEYS:
                out.add(item.line_of(key), unknown_key(str(key), PART_KEYS, f"{where}, partie : "))
        texts = LineDict({k: v for k, v in item.items() if k in VARIANTS})
        texts.line, texts.key_lines = item.line, {k: item.line_of(k) for k in texts}
        wording = parse_wording(texts, f"{where}, partie", item_line, out)
        when = parse_conditions(item.get("if"), where, item.line_of("if"), out) if "if" in item else {}
        unless = parse_conditions(item.get("unless"), where, item.line_of("unless"), out) if "unless" in item else {}
        if wording is not None:
            parts.append(MessagePart(wording, when, unless, item_line))
    if parts and all(part.when or part.unless for part in parts):
        out.add(
            line,
            f"{where} : chaque partie a une condition : selon les réponses, le robot pourrait ne rien dire ; "
            "écrivez au moins une partie sans `if` ni `unless` (par exemple « Merci pour vos réponses. »)",
        )
    return PersonaMessage(tuple(parts), line) if parts else None
