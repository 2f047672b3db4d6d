"""Flow files: parsed once, validated completely, turned into frozen objects.

Every problem names the file and the line, and says what to do. ``python -m bot flows check`` and the
running process use this same loader, so a file that passes the check is a file the bot can run.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from pathlib import Path
from typing import Any

from bot.core.errors import FlowError, Problem
from bot.core.slots import INPUT_KINDS, SLOTS, UNKNOWN
from bot.language.checks import Collector, check_graph, check_texts
from bot.language.model import (
    ACTIONS,
    REQUIRED_MESSAGES,
    RUNTIME_VARIABLES,
    VARIANTS,
    Choice,
    Flow,
    Rule,
    Step,
    StepKind,
    Wording,
)
from bot.language.yamlload import LineDict, LineList, load_yaml, read_text

# The model is defined in model.py; these names stay importable from here, where coordinators' tools look.
__all__ = [
    "ACTIONS",
    "CHOICE_KEYS",
    "FLOW_KEYS",
    "REQUIRED_MESSAGES",
    "RULE_KEYS",
    "RUNTIME_VARIABLES",
    "STEP_KEYS",
    "Choice",
    "Collector",
    "Flow",
    "Rule",
    "Step",
    "Wording",
    "flow_from_source",
    "flow_version",
    "load_flow",
    "parse_conditions",
    "parse_flow",
    "parse_wording",
]

FLOW_KEYS = {"flow", "title", "start", "human", "personas", "settings", "variables", "messages", "steps"}
STEP_KEYS: dict[StepKind, set[str]] = {
    "say": {"say", "next", "end"},
    "ask": {"ask", "text", "multi", "input", "choices", "unknown", "invalid", "next"},
    "menu": {"menu", "choices"},
    "action": {"action", "next", "end"},
}
SETTINGS_KEYS = {"max_misses"}
# Names the engine gives its own states: a step may not take them. Step names are plain words.
RESERVED_STATES = {"ended"}
STEP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
# A button's value travels in Telegram's callback_data (64 bytes) with a short prefix (channels/telegram).
MAX_VALUE_BYTES = 48
CHOICE_KEYS = {"value", "label", "synonyms", "goto", "exclusive", "numbers"}
RULE_KEYS = {"if", "unless", "goto"}


def flow_version(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load_flow(path: Path) -> Flow:
    """Load and validate a flow file (and the messages.yaml beside it). Raises FlowError with all problems."""
    text = read_text(path)  # parsed once, by flow_from_source
    messages_path = path.with_name("messages.yaml")
    messages_text = ""
    if messages_path.exists() and messages_path.resolve() != path.resolve():
        messages_text = read_text(messages_path)
    source = json.dumps({"flow": text, "messages": messages_text, "messages_file": str(messages_path)})
    return flow_from_source(source, str(path))


def flow_from_source(source: str, file: str) -> Flow:
    """Rebuild a flow from its stored source (the flow text and the messages text it was loaded with)."""
    parts = json.loads(source)
    data = load_yaml(parts["flow"], file)
    base_messages = None
    if parts["messages"]:
        messages_file = parts["messages_file"]
        messages_data = load_yaml(parts["messages"], messages_file)
        if not isinstance(messages_data, LineDict) or not isinstance(messages_data.get("messages"), LineDict):
            raise FlowError([Problem(messages_file, 1, "expected a `messages:` mapping of text names to texts")])
        base_messages = messages_data["messages"]
    return parse_flow(data, file, source, base_messages, parts.get("messages_file", ""))


def parse_flow(
    data: Any, file: str, source: str, base_messages: LineDict | None = None, messages_file: str = ""
) -> Flow:
    out = Collector(file)
    if not isinstance(data, LineDict):
        raise FlowError([Problem(file, 1, "a flow file must be a mapping with `flow`, `start` and `steps`")])
    for key in data:
        if key not in FLOW_KEYS:
            out.add(data.line_of(key), f"unknown key `{key}`; expected one of {sorted(FLOW_KEYS)}")
    name = _text_field(data, "flow", out, required=True)
    start = _text_field(data, "start", out, required=True)
    human = _text_field(data, "human", out, required=True)
    settings = data.get("settings") or LineDict()
    if isinstance(settings, LineDict):
        for key in settings:
            if key not in SETTINGS_KEYS:
                out.add(settings.line_of(key), f"unknown setting `{key}`; known: {', '.join(sorted(SETTINGS_KEYS))}")
    max_misses = settings.get("max_misses", 2) if isinstance(settings, dict) else 2
    if not isinstance(max_misses, int) or isinstance(max_misses, bool) or max_misses < 1:
        out.add(data.line_of("settings"), "settings.max_misses must be a whole number, 1 or more")
        max_misses = 2

    variables = parse_wordings(data.get("variables"), "variables", data.line_of("variables"), out)
    messages = parse_wordings(data.get("messages"), "messages", data.line_of("messages"), out)
    if base_messages:
        other = Collector(messages_file)
        merged = parse_wordings(base_messages, "messages", base_messages.line, other)
        out.problems.extend(other.problems)
        messages = {**merged, **messages}
    if not messages:  # one clear problem rather than one per missing text
        out.add(
            data.line_of("messages"),
            "no texts: copy messages.yaml (the shared texts, as in flows/messages.yaml) beside the flow",
        )
    for key in REQUIRED_MESSAGES:
        if messages and key not in messages:
            out.add(
                data.line_of("messages"),
                f"missing text `messages.{key}`; add it to the flow or to messages.yaml beside it",
            )

    steps: dict[str, Step] = {}
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, LineDict) or not raw_steps:
        out.add(data.line_of("steps"), "`steps` must be a mapping of step names to steps, and not empty")
    else:
        for step_id, raw in raw_steps.items():
            if step_id in RESERVED_STATES or not STEP_NAME.match(step_id):
                out.add(
                    raw_steps.line_of(step_id),
                    f"step name `{step_id}`: use letters, digits, `_` or `-`, "
                    f"starting with a letter, and not {', '.join(sorted(RESERVED_STATES))} (used by the bot)",
                )
            step = _parse_step(step_id, raw, raw_steps.line_of(step_id), out)
            if step is not None:
                steps[step_id] = step

    flow = Flow(
        name=name or Path(file).stem,
        title=str(data.get("title") or name or ""),
        file=file,
        version=flow_version(source),
        source=source,
        start=start or "",
        human=human or "",
        personas_file=str(data.get("personas") or "personas.yaml"),
        max_misses=max_misses,
        steps=steps,
        messages=messages,
        variables=variables,
        personas_line=data.line_of("personas"),
    )
    check_graph(flow, data, out)
    check_texts(flow, out)
    if out.problems:
        raise FlowError(sorted(out.problems, key=lambda p: (p.file, p.line)))
    return flow


def _text_field(data: LineDict, key: str, out: Collector, *, required: bool) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            out.add(data.line, f"missing `{key}`")
        return None
    if not isinstance(value, str) or not value.strip():
        out.add(data.line_of(key), f"`{key}` must be a non-empty text")
        return None
    return value


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


def _parse_step(step_id: str, raw: Any, line: int, out: Collector) -> Step | None:
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
                )
            )
    ranged = sorted((c.numbers, c.value) for c in choices if c.numbers)
    for (first, first_value), (second, second_value) in itertools.pairwise(ranged):
        if second[0] <= first[1]:
            out.add(line, f"{where}: the `numbers` of `{first_value}` and `{second_value}` overlap")
    return choices


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
