"""The steps of a flow file and their parts: texts with their variants, choices, conditions, `next` rules.

Each parser reports every problem it finds to the Collector (with its line) and returns what it could read.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from bot.core.slots import INPUT_KINDS, SLOTS, UNKNOWN
from bot.language.checks import Collector
from bot.language.model import ACTIONS, VARIANTS, Choice, Rule, Step, StepKind, Wording
from bot.language.yamlload import LineDict, LineList

STEP_KEYS: dict[StepKind, set[str]] = {
    "say": {"say", "next", "end"},
    "ask": {"ask", "text", "multi", "input", "choices", "unknown", "invalid", "next"},
    "menu": {"menu", "choices"},
    "action": {"action", "next", "end"},
}
STEP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
# A button's value travels in Telegram's callback_data (64 bytes) with a short prefix (channels/telegram).
MAX_VALUE_BYTES = 48
CHOICE_KEYS = {"value", "label", "synonyms", "examples", "goto", "exclusive", "numbers"}
RULE_KEYS = {"if", "unless", "goto"}


def parse_wording(raw: Any, where: str, line: int, out: Collector) -> Wording | None:
    if isinstance(raw, str):
        if not raw.strip():
            out.add(line, f"{where}: empty text")
            return None
        return Wording({"self": raw.strip()}, line)
    if isinstance(raw, LineDict):
        bad = [k for k in raw if k not in VARIANTS]
        if bad or "self" not in raw:
            out.add(
                raw.line,
                f"{where}: a text with variants needs `self:` (and may have `relative:`), "
                f"not {sorted(bad) or 'only relative'}",
            )
            return None
        if not all(isinstance(v, str) and v.strip() for v in raw.values()):
            out.add(raw.line, f"{where}: every variant must be a non-empty text")
            return None
        return Wording({k: str(v).strip() for k, v in raw.items()}, raw.line)
    out.add(line, f"{where}: expected a text, or `self:`/`relative:` variants")
    return None


def parse_wordings(raw: Any, where: str, line: int, out: Collector) -> dict[str, Wording]:
    if raw is None:
        return {}
    if not isinstance(raw, LineDict):
        out.add(line, f"`{where}` must be a mapping of names to texts")
        return {}
    result = {}
    for key, value in raw.items():
        wording = parse_wording(value, f"{where}.{key}", raw.line_of(key), out)
        if wording is not None:
            result[key] = wording
    return result


def parse_step(step_id: str, raw: Any, line: int, out: Collector) -> Step | None:
    where = f"step `{step_id}`"
    if not isinstance(raw, LineDict):
        out.add(line, f"{where}: expected a mapping with one of `say`, `ask`, `menu`, `action`")
        return None
    kinds = [k for k in ("say", "ask", "menu", "action") if k in raw]
    if len(kinds) != 1:
        out.add(raw.line, f"{where}: needs exactly one of `say`, `ask`, `menu`, `action` (found {kinds or 'none'})")
        return None
    kind: StepKind = kinds[0]  # type: ignore[assignment]
    for key in raw:
        if key not in STEP_KEYS[kind]:
            out.add(
                raw.line_of(key),
                f"{where}: unknown key `{key}` for a `{kind}` step; allowed: {sorted(STEP_KEYS[kind])}",
            )
    end = raw.get("end") is True
    rules = _parse_next(raw.get("next"), where, raw.line_of("next"), out)
    if kind == "say":
        text = parse_wording(raw["say"], where, raw.line_of("say"), out)
        return Step(step_id, kind, raw.line, text=text, next=rules, end=end)
    if kind == "action":
        action = raw["action"]
        if action not in ACTIONS:
            out.add(raw.line_of("action"), f"{where}: unknown action `{action}`; known: {', '.join(ACTIONS)}")
        return Step(step_id, kind, raw.line, action=str(action), next=rules, end=end)
    if kind == "menu":
        text = parse_wording(raw["menu"], where, raw.line_of("menu"), out)
        choices = _parse_choices(raw.get("choices"), where, raw.line_of("choices"), None, out)
        if not choices:
            out.add(raw.line, f"{where}: a menu needs `choices`, each with a `goto`")
        for choice in choices:
            if choice.goto is None:
                out.add(raw.line_of("choices"), f"{where}: menu choice `{choice.value}` needs a `goto`")
        return Step(step_id, kind, raw.line, text=text, choices=tuple(choices))
    return _parse_ask(step_id, raw, rules, out)


def _parse_ask(step_id: str, raw: LineDict, rules: tuple[Rule, ...], out: Collector) -> Step:
    where = f"step `{step_id}`"
    slot = raw["ask"]
    spec = SLOTS.get(slot) if isinstance(slot, str) else None
    if spec is None:
        out.add(raw.line_of("ask"), f"{where}: unknown slot `{slot}`; known slots: {', '.join(SLOTS)}")
    text = parse_wording(raw.get("text"), where, raw.line_of("text"), out) if "text" in raw else None
    if text is None and "text" not in raw:
        out.add(raw.line, f"{where}: missing `text` (the question asked)")
    multi = raw.get("multi") is True
    if spec is not None and multi != spec.multi:
        out.add(
            raw.line_of("multi") if "multi" in raw else raw.line,
            f"{where}: slot `{slot}` is "
            + ("several-choice: add `multi: true`" if spec.multi else "single-choice: remove `multi`"),
        )
    input_kind = raw.get("input")
    if input_kind is not None and input_kind not in INPUT_KINDS:
        out.add(raw.line_of("input"), f"{where}: unknown input `{input_kind}`; known: {', '.join(INPUT_KINDS)}")
    choices = _parse_choices(raw.get("choices"), where, raw.line_of("choices"), spec, out)
    if spec is not None and spec.values and not choices:
        out.add(raw.line, f"{where}: slot `{slot}` needs `choices` (one button per value)")
    if spec is not None and not spec.values and input_kind is None:
        out.add(raw.line, f"{where}: slot `{slot}` is free text: add `input: location` (or postcode, text)")
    allow_unknown = raw.get("unknown", True) is not False
    if spec is not None and spec.unknown_allowed and not allow_unknown:
        out.add(
            raw.line_of("unknown"),
            f'{where}: every question but for_whom must accept "je ne sais pas" (CONTRACT); remove `unknown: false`',
        )
    if spec is not None and not spec.unknown_allowed:
        allow_unknown = False
    invalid = parse_wording(raw["invalid"], where, raw.line_of("invalid"), out) if "invalid" in raw else None
    if multi and any(c.goto for c in choices):
        out.add(
            raw.line_of("choices"),
            f"{where}: `goto` on a button of a several-choice question is never used "
            "(the answer is a set): use `next:` with `if:` conditions instead",
        )
    every_button_leads = bool(choices) and all(c.goto for c in choices) and not allow_unknown and not multi
    if not rules and not every_button_leads:
        out.add(
            raw.line,
            f'{where}: dead end: add `next:` (the step that follows; needed for "Je ne sais pas" '
            "and for buttons without `goto`)",
        )
    return Step(
        step_id,
        "ask",
        raw.line,
        text=text,
        slot=str(slot),
        multi=multi,
        input=str(input_kind) if input_kind else None,
        choices=tuple(choices),
        allow_unknown=allow_unknown,
        invalid=invalid,
        next=rules,
    )


def _parse_choices(raw: Any, where: str, line: int, spec: Any, out: Collector) -> list[Choice]:
    if raw is None:
        return []
    if not isinstance(raw, LineList):
        out.add(line, f"{where}: `choices` must be a list")
        return []
    choices: list[Choice] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        item_line = raw.line_of(index)
        if not isinstance(item, LineDict) or "value" not in item or "label" not in item:
            out.add(item_line, f"{where}: each choice needs `value` and `label`")
            continue
        for key in item:
            if key not in CHOICE_KEYS:
                out.add(item.line_of(key), f"{where}: unknown key `{key}` in a choice; allowed: {sorted(CHOICE_KEYS)}")
        value = str(item["value"])
        if value in seen:
            out.add(item.line_of("value"), f"{where}: duplicate button value `{value}`")
        seen.add(value)
        if len(value.encode()) > MAX_VALUE_BYTES:
            out.add(
                item.line_of("value"),
                f"{where}: button value `{value}` is too long ({len(value.encode())} bytes); use at most "
                f"{MAX_VALUE_BYTES} (Telegram buttons carry 64 bytes); the label can stay long",
            )
        if value == UNKNOWN:
            out.add(item.line_of("value"), f'{where}: `unknown` is added automatically ("Je ne sais pas"); remove it')
        elif spec is not None and spec.values and value not in spec.values:
            out.add(
                item.line_of("value"),
                f"{where}: `{value}` is not a value of slot `{spec.name}`; expected one of {', '.join(spec.values)}",
            )
        label = parse_wording(item["label"], f"{where} choice `{value}`", item.line_of("label"), out)
        synonyms = item.get("synonyms") or []
        if not isinstance(synonyms, list) or not all(isinstance(s, str | int) for s in synonyms):
            out.add(item.line_of("synonyms"), f"{where}: `synonyms` must be a list of texts")
            synonyms = []
        examples = item.get("examples") or []
        if not isinstance(examples, list) or not all(isinstance(s, str) and s.strip() for s in examples):
            out.add(item.line_of("examples"), f"{where}: `examples` must be a list of sentences")
            examples = []
        goto = item.get("goto")
        numbers = _number_range(item, where, out)
        if label is not None:
            choices.append(
                Choice(
                    value,
                    label,
                    tuple(str(s) for s in synonyms),
                    str(goto) if goto is not None else None,
                    item.get("exclusive") is True,
                    item.line_of("goto") if goto is not None else item_line,
                    numbers,
                    tuple(examples),
                    tuple(_item_line(item.get("examples"), i) for i in range(len(examples))),
                )
            )
    ranged = sorted((c.numbers, c.value) for c in choices if c.numbers)
    for (first, first_value), (second, second_value) in itertools.pairwise(ranged):
        if second[0] <= first[1]:
            out.add(line, f"{where}: the `numbers` of `{first_value}` and `{second_value}` overlap")
    return choices


def _item_line(items: Any, index: int) -> int:
    return items.line_of(index) if isinstance(items, LineList) else 0


def _number_range(item: LineDict, where: str, out: Collector) -> tuple[int, int] | None:
    raw = item.get("numbers")
    if raw is None:
        return None
    if (
        not isinstance(raw, list)
        or len(raw) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in raw)
        or raw[0] > raw[1]
    ):
        out.add(item.line_of("numbers"), f"{where}: `numbers` is `[minimum, maximum]`, two whole numbers")
        return None
    return (raw[0], raw[1])


def parse_conditions(raw: Any, where: str, line: int, out: Collector) -> dict[str, frozenset[str]]:
    if raw is None:
        return {}
    if not isinstance(raw, LineDict) or not raw:
        out.add(line, f"{where}: a condition is a mapping `slot: value` or `slot: [values]`")
        return {}
    result = {}
    for slot, values in raw.items():
        spec = SLOTS.get(slot)
        values_list = [str(v) for v in values] if isinstance(values, list) else [str(values)]
        if spec is None:
            out.add(raw.line_of(slot), f"{where}: unknown slot `{slot}` in a condition")
            continue
        for value in values_list:
            if spec.values and value not in spec.values and value not in (UNKNOWN, "missing"):
                out.add(
                    raw.line_of(slot),
                    f"{where}: `{value}` is not a value of slot `{slot}`; expected one of "
                    f"{', '.join(spec.values)}, unknown, missing",
                )
        result[slot] = frozenset(values_list)
    return result


def _parse_next(raw: Any, where: str, line: int, out: Collector) -> tuple[Rule, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (Rule(raw, line=line),)
    if not isinstance(raw, LineList) or not raw:
        out.add(line, f"{where}: `next` is a step name or a list of `- if: … goto: …`")
        return ()
    rules = []
    for index, item in enumerate(raw):
        item_line = raw.line_of(index)
        if not isinstance(item, LineDict) or "goto" not in item:
            out.add(item_line, f"{where}: each `next` entry needs `goto` (and may have `if` / `unless`)")
            continue
        for key in item:
            if key not in RULE_KEYS:
                out.add(item.line_of(key), f"{where}: unknown key `{key}` in `next`; allowed: if, unless, goto")
        rules.append(
            Rule(
                str(item["goto"]),
                parse_conditions(item.get("if"), where, item.line_of("if"), out),
                parse_conditions(item.get("unless"), where, item.line_of("unless"), out),
                item_line,
            )
        )
    if rules and (rules[-1].when or rules[-1].unless):
        out.add(rules[-1].line, f"{where}: possible dead end: finish `next` with a `- goto: …` without condition")
    return tuple(rules)
