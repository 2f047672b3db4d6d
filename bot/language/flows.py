"""Flow files: parsed once, validated completely, turned into frozen objects.

Every problem names the file and the line, and says what to do. ``python -m bot flows check`` and the
running process use this same loader, so a file that passes the check is a file the bot can run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from bot.core.errors import FlowError, Problem
from bot.language.callback_answers import with_labels
from bot.language.checks import Collector, check_graph, check_relative_labels, check_texts, unknown_key
from bot.language.model import (
    ACTIONS,
    REQUIRED_MESSAGES,
    RUNTIME_VARIABLES,
    Choice,
    Flow,
    Rule,
    Step,
    Wording,
)
from bot.language.steps import (
    CHOICE_KEYS,
    RULE_KEYS,
    STEP_KEYS,
    STEP_NAME,
    parse_conditions,
    parse_step,
    parse_wording,
    parse_wordings,
)
from bot.language.yamlload import LineDict, load_yaml, read_text

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
SETTINGS_KEYS = {"max_misses"}
# Names the engine gives its own states: a step may not take them. Step names are plain words.
RESERVED_STATES = {"ended"}


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
            raise FlowError(
                [Problem(messages_file, 1, "`messages:` est attendu en tête du fichier, avec un texte par nom")]
            )
        base_messages = messages_data["messages"]
    return parse_flow(data, file, source, base_messages, parts.get("messages_file", ""))


def parse_flow(
    data: Any, file: str, source: str, base_messages: LineDict | None = None, messages_file: str = ""
) -> Flow:
    out = Collector(file)
    if not isinstance(data, LineDict):
        raise FlowError(
            [
                Problem(
                    file,
                    1,
                    "un parcours s'écrit avec `flow:`, `start:`, `human:` et `steps:` (voir flows/orientation.yaml)",
                )
            ]
        )
    for key in data:
        if key not in FLOW_KEYS:
            out.add(data.line_of(key), unknown_key(key, FLOW_KEYS))
    name = _text_field(data, "flow", out, required=True)
    start = _text_field(data, "start", out, required=True)
    human = _text_field(data, "human", out, required=True)
    settings = data.get("settings") or LineDict()
    if isinstance(settings, LineDict):
        for key in settings:
            if key not in SETTINGS_KEYS:
                out.add(settings.line_of(key), unknown_key(key, SETTINGS_KEYS, "`settings` : "))
    max_misses = settings.get("max_misses", 2) if isinstance(settings, dict) else 2
    if not isinstance(max_misses, int) or isinstance(max_misses, bool) or max_misses < 1:
        out.add(data.line_of("settings"), "`settings.max_misses` doit être un nombre entier, 1 ou plus")
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
            "aucun texte commun : copiez messages.yaml (les textes communs, comme flows/messages.yaml) à côté du "
            "parcours",
        )
    for key in REQUIRED_MESSAGES:
        if messages and key not in messages:
            out.add(
                data.line_of("messages"),
                f"il manque le texte `messages.{key}` ; ajoutez-le à messages.yaml à côté du parcours, ou à la "
                "section `messages` du parcours",
            )

    steps: dict[str, Step] = {}
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, LineDict) or not raw_steps:
        out.add(data.line_of("steps"), "`steps` doit contenir les étapes, chacune sous son nom (`accueil:` …)")
    else:
        for step_id, raw in raw_steps.items():
            if step_id in RESERVED_STATES or not STEP_NAME.match(step_id):
                out.add(
                    raw_steps.line_of(step_id),
                    f"nom d'étape `{step_id}` : utilisez des lettres, des chiffres, `_` ou `-`, en commençant par "
                    f"une lettre, et pas {', '.join(sorted(RESERVED_STATES))} (réservé au robot)",
                )
            step = parse_step(step_id, raw, raw_steps.line_of(step_id), out)
            if step is not None and step.action == "request_callback":
                step = with_labels(step, messages, out)
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
    check_relative_labels(flow, out)
    if out.problems:
        raise FlowError(sorted(out.problems, key=lambda p: (p.file, p.line)))
    return flow


def _text_field(data: LineDict, key: str, out: Collector, *, required: bool) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            out.add(data.line, f"il manque `{key}:`")
        return None
    if not isinstance(value, str) or not value.strip():
        out.add(data.line_of(key), f"`{key}` doit être un texte non vide")
        return None
    return value
