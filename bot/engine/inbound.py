"""Reading what the person did against the current question: commands, buttons, typed numbers, toggles."""

from __future__ import annotations

import re

from bot.core.commands import COMMANDS, HUMAN
from bot.core.messages import Inbound, InboundKind
from bot.core.slots import UNKNOWN
from bot.core.text import normalise, parse_free_text, parse_location, parse_phone, parse_postcode
from bot.language.model import Step

CONFIRM_WORDS = frozenset({"valider", "ok", "c est tout", "c est bon", "termine", "fini", "voila"})


def command_of(inbound: Inbound) -> str | None:
    if inbound.kind is InboundKind.BUTTON and inbound.values and inbound.values[0] in COMMANDS:
        return inbound.values[0]
    if inbound.kind is InboundKind.TEXT:
        text = inbound.text.strip()
        if text.startswith("/") and len(text) > 1 and text[1:2].isalpha():
            return text.split()[0].split("@")[0].lower()
    return None


def typed_human(inbound: Inbound, human_label: str) -> str | None:
    """The "Parler à quelqu'un" button's label typed (or sent by a keyboard that types labels) is /humain."""
    if inbound.kind is InboundKind.TEXT and normalise(inbound.text) == normalise(human_label):
        return HUMAN
    return None


NUMBER = re.compile(r"(?<![\d,.])(\d{1,3})(?![\d,.])")


def by_number(step: Step, text: str) -> str | None:
    """The button whose `numbers` hold the one number typed ("83", "j'ai 83 ans"); None otherwise, so that a
    small number still picks a button by its position."""
    ranged = [c for c in step.choices if c.numbers]
    found = NUMBER.findall(text[:200]) if ranged else []
    if len(found) != 1:
        return None
    number = int(found[0])
    return next((c.value for c in ranged if c.numbers and c.numbers[0] <= number <= c.numbers[1]), None)


def button_value(inbound: Inbound) -> str | None:
    return inbound.values[0] if inbound.kind is InboundKind.BUTTON and inbound.values else None


def is_empty(inbound: Inbound) -> bool:
    return inbound.kind is InboundKind.TEXT and not normalise(inbound.text)


def parse_input(kind: str, text: str) -> str | None:
    parsers = {"location": parse_location, "postcode": parse_postcode, "phone": parse_phone, "text": parse_free_text}
    return parsers[kind](text)


def toggle(step: Step, pending: list[str], value: str) -> list[str]:
    if value in pending:
        return [v for v in pending if v != value]
    return exclusive_clean(step, [*pending, value], latest=value)


def exclusive_clean(step: Step, values: list[str], latest: str | None = None) -> list[str]:
    """ "none" or "unknown" with something else: the latest pick wins; typed sets keep the real values."""
    exclusive = {c.value for c in step.choices if c.exclusive} | {UNKNOWN}
    if len(values) < 2 or not exclusive.intersection(values):
        return values
    if latest is not None:
        return [latest] if latest in exclusive else [v for v in values if v not in exclusive]
    return [v for v in values if v not in exclusive] or values[:1]
