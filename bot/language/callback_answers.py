"""What people type at each phase of the callback request: the `answers:` of a `request_callback` step.

The phases and their buttons are fixed (the engine records their values); the buttons' labels are messages
(`consent_yes_label`…); what people write for each button is the flow's, like a question's `synonyms` and
`examples`, so coordinators teach it in YAML:

    rappel:
      action: request_callback
      answers:
        moment:
          - value: morning
            examples: ["avant le repas de midi", "de bonne heure"]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from bot.language.checks import Collector, did_you_mean, listing, unknown_key
from bot.language.examples import check_examples, read_examples, read_synonyms
from bot.language.model import Choice, Step, Wording
from bot.language.yamlload import LineDict, LineList

# Per phase, its buttons: (value recorded, message holding the button's label).
CALLBACK_PHASES: dict[str, tuple[tuple[str, str], ...]] = {
    "consent": (("yes", "consent_yes_label"), ("no", "consent_no_label")),
    "phone": (("no", "consent_no_label"),),
    "moment": (("morning", "moment_morning"), ("afternoon", "moment_afternoon"), ("any", "moment_any")),
    "who": (("person", "who_person_label"), ("relative", "who_relative_label")),
    "relation": (
        ("child", "relation_child_label"),
        ("partner", "relation_partner_label"),
        ("family", "relation_family_label"),
        ("friend", "relation_friend_label"),
        ("pro", "relation_pro_label"),
        ("skip", "skip_label"),
    ),
    "name": (("skip", "skip_label"),),  # otherwise a first name, typed
}
SKIP = "skip"  # an optional phase (relation, name) passed
MOMENT_HOURS = {"morning": (6, 11), "afternoon": (12, 18)}  # « vers 10h »: the moment by the hour (not the evening)
EITHER = "any"  # the moment that goes with neither of the others (« Peu importe »)
ANSWER_KEYS = {"value", "synonyms", "examples"}


def parse_answers(raw: Any, where: str, line: int, out: Collector) -> dict[str, tuple[Choice, ...]]:
    """Per phase, the buttons the flow teaches, with the words written for them (labels: see `with_labels`)."""
    if raw is None:
        return {}
    if not isinstance(raw, LineDict):
        out.add(
            line,
            f"{where} : `answers` range ce que les gens écrivent, par étape du rappel ({listing(CALLBACK_PHASES)}) : "
            "`moment:` puis `- value: morning` et ses `examples:`",
        )
        return {}
    phases: dict[str, tuple[Choice, ...]] = {}
    for phase, items in raw.items():
        if phase not in CALLBACK_PHASES:
            out.add(
                raw.line_of(phase),
                f"{where}, `answers` : `{phase}` n'est pas une étape du rappel"
                f"{did_you_mean(str(phase), CALLBACK_PHASES)} (étapes : {listing(CALLBACK_PHASES)})",
            )
            continue
        taught = _parse_phase(items, f"{where}, `answers.{phase}`", raw.line_of(phase), phase, out)
        phases[phase] = tuple(taught.values())
    return phases


def _parse_phase(items: Any, where: str, line: int, phase: str, out: Collector) -> dict[str, Choice]:
    values = [value for value, _ in CALLBACK_PHASES[phase]]
    if not isinstance(items, LineList):
        out.add(line, f"{where} : une liste, un bouton par `- value: …` (valeurs : {listing(values)})")
        return {}
    found: dict[str, Choice] = {}
    for index, item in enumerate(items):
        item_line = items.line_of(index)
        if not isinstance(item, LineDict) or "value" not in item:
            out.add(item_line, f"{where} : chaque bouton commence par `- value: …` (valeurs : {listing(values)})")
            continue
        for key in item:
            if key not in ANSWER_KEYS:
                out.add(item.line_of(key), unknown_key(key, ANSWER_KEYS, f"{where} : "))
        value = str(item["value"])
        if value not in values:
            out.add(
                item.line_of("value"),
                f"{where} : `{value}` n'est pas un bouton de cette étape{did_you_mean(value, values)} "
                f"(valeurs : {listing(values)})",
            )
            continue
        if value in found:
            out.add(item.line_of("value"), f"{where} : le bouton `{value}` est écrit deux fois ; gardez-en un")
            continue
        synonyms, synonyms_lines = read_synonyms(item, f"{where}, bouton `{value}`", out)
        examples, examples_lines = read_examples(item, f"{where}, bouton `{value}`", out)
        found[value] = Choice(
            value,
            Wording({"self": value}, item_line),  # the label's message, filled in by `with_labels`
            synonyms,
            line=item_line,
            examples=examples,
            examples_lines=examples_lines,
            synonyms_lines=synonyms_lines,
        )
    return found


def with_labels(step: Step, messages: Mapping[str, Wording], out: Collector) -> Step:
    """The callback step with every phase's buttons: their labels from the messages, the words from `answers`
    (none for a button the flow does not teach: its label is still understood)."""
    phases: dict[str, tuple[Choice, ...]] = {}
    for phase, buttons in CALLBACK_PHASES.items():
        written = {choice.value: choice for choice in step.answers.get(phase, ())}
        choices = []
        for value, message in buttons:
            label = messages.get(message, Wording({"self": value}, step.line))  # a missing message is reported
            taught = written.get(value)
            choices.append(
                Choice(
                    value,
                    label,
                    taught.synonyms if taught else (),
                    line=taught.line if taught else step.line,
                    numbers=MOMENT_HOURS.get(value) if phase == "moment" else None,
                    exclusive=phase == "moment" and value == EITHER,
                    examples=taught.examples if taught else (),
                    examples_lines=taught.examples_lines if taught else (),
                    synonyms_lines=taught.synonyms_lines if taught else (),
                )
            )
        check_examples(choices, f"étape `{step.id}`, `answers.{phase}`", out)
        phases[phase] = tuple(choices)
    return dataclasses.replace(step, answers=phases)
