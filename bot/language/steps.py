"""The steps of a flow file and their parts: texts with their variants, choices, conditions, `next` rules.

Each parser reports every problem it finds to the Collector (with its line) and returns what it could read.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from bot.core.slots import INPUT_KINDS, SLOTS, UNKNOWN
from bot.language.callback_answers import parse_answers
from bot.language.checks import Collector, did_you_mean, listing, unknown_key
from bot.language.examples import check_examples, read_examples, read_synonyms
from bot.language.model import ACTIONS, VARIANTS, Choice, Rule, Step, StepKind, Wording
from bot.language.yamlload import LineDict, LineList

STEP_KEYS: dict[StepKind, set[str]] = {
    "say": {"say", "next", "end"},
    "ask": {"ask", "text", "multi", "input", "choices", "unknown", "invalid", "next"},
    "menu": {"menu", "choices", "feedback"},
    "action": {"action", "next", "end", "answers"},
}
STEP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
# A button's value travels in Telegram's callback_data (64 bytes) with a short prefix (channels/telegram).
MAX_VALUE_BYTES = 48
FEEDBACK_RATINGS = ("yes", "some", "no")  # « Est-ce que cette conversation vous a été utile ? » Oui / Un peu / Non
CHOICE_KEYS = {"value", "label", "synonyms", "examples", "goto", "exclusive", "numbers"}
RULE_KEYS = {"if", "unless", "goto"}


def parse_wording(raw: Any, where: str, line: int, out: Collector) -> Wording | None:
    if isinstance(raw, str):
        if not raw.strip():
            out.add(line, f"{where} : texte vide ; écrivez le texte, ou retirez la clé")
            return None
        return Wording({"self": raw.strip()}, line)
    if isinstance(raw, LineDict):
        bad = [k for k in raw if k not in VARIANTS]
        if bad or "self" not in raw:
            out.add(
                raw.line,
                f"{where} : un texte à plusieurs versions s'écrit avec `self:` (et peut avoir `relative:`, "
                f"`person_called:`, `web:`, `web_relative:`), pas {listing(sorted(bad)) if bad else 'sans `self:`'}",
            )
            return None
        if not all(isinstance(v, str) and v.strip() for v in raw.values()):
            out.add(raw.line, f"{where} : chaque version (`self`, `relative`, `web`…) doit être un texte non vide")
            return None
        if "web" in raw and "relative" in raw and "web_relative" not in raw:
            out.add(
                raw.line,
                f"{where} : ce texte a une version `relative:` et une version `web:` ; ajoutez `web_relative:` "
                "(le texte du chat web quand on écrit pour un proche)",
            )
            return None
        return Wording({k: str(v).strip() for k, v in raw.items()}, raw.line)
    out.add(line, f"{where} : un texte est attendu, ou ses versions `self:`, `relative:`, `web:`…")
    return None


def parse_wordings(raw: Any, where: str, line: int, out: Collector) -> dict[str, Wording]:
    if raw is None:
        return {}
    if not isinstance(raw, LineDict):
        out.add(line, f"`{where}` doit donner un texte par nom : `nom: texte`, un par ligne")
        return {}
    result = {}
    for key, value in raw.items():
        wording = parse_wording(value, f"{where}.{key}", raw.line_of(key), out)
        if wording is not None:
            result[key] = wording
    return result


def parse_step(step_id: str, raw: Any, line: int, out: Collector) -> Step | None:
    where = f"étape `{step_id}`"
    if not isinstance(raw, LineDict):
        out.add(line, f"{where} : une étape s'écrit avec un de `say`, `ask`, `menu`, `action`, suivi de ses clés")
        return None
    kinds = [k for k in ("say", "ask", "menu", "action") if k in raw]
    if len(kinds) != 1:
        out.add(
            raw.line,
            f"{where} : il faut exactement un de `say`, `ask`, `menu`, `action` "
            f"(trouvé : {listing(kinds) if kinds else 'aucun'})",
        )
        return None
    kind: StepKind = kinds[0]  # type: ignore[assignment]
    for key in raw:
        if key not in STEP_KEYS[kind]:
            out.add(raw.line_of(key), unknown_key(key, STEP_KEYS[kind], f"{where} (étape `{kind}`) : "))
    end = raw.get("end") is True
    rules = _parse_next(raw.get("next"), where, raw.line_of("next"), out)
    if kind == "say":
        text = parse_wording(raw["say"], where, raw.line_of("say"), out)
        return Step(step_id, kind, raw.line, text=text, next=rules, end=end)
    if kind == "action":
        action = raw["action"]
        if action not in ACTIONS:
            out.add(
                raw.line_of("action"),
                f"{where} : action `{action}` inconnue{did_you_mean(str(action), ACTIONS)} "
                f"(actions connues : {', '.join(ACTIONS)})",
            )
        answers = parse_answers(raw.get("answers"), where, raw.line_of("answers"), out)
        if "answers" in raw and action != "request_callback":
            out.add(
                raw.line_of("answers"),
                f"{where} : `answers` ne sert qu'à l'action `request_callback` (ce que les gens écrivent pendant la "
                "demande de rappel) ; retirez-le",
            )
        return Step(step_id, kind, raw.line, action=str(action), next=rules, end=end, answers=answers)
    if kind == "menu":
        text = parse_wording(raw["menu"], where, raw.line_of("menu"), out)
        choices = _parse_choices(raw.get("choices"), where, raw.line_of("choices"), None, out)
        if not choices:
            out.add(raw.line, f"{where} : un menu a besoin de `choices`, chaque bouton avec son `goto`")
        for choice in choices:
            if choice.goto is None:
                out.add(
                    raw.line_of("choices"),
                    f"{where} : le bouton `{choice.value}` du menu a besoin d'un `goto` (l'étape où il mène)",
                )
        feedback = _parse_feedback(raw, where, choices, out)
        return Step(step_id, kind, raw.line, text=text, choices=tuple(choices), feedback=feedback)
    return _parse_ask(step_id, raw, rules, out)


def _parse_feedback(raw: LineDict, where: str, choices: list[Choice], out: Collector) -> str | None:
    """`feedback: rating`: the button pressed is kept (anonymously) as the answer to « utile ? », its values among
    FEEDBACK_RATINGS and `skip`; `feedback: word`: a text typed instead of a button is kept, masked."""
    if "feedback" not in raw:
        return None
    kind = raw["feedback"]
    if kind not in ("rating", "word"):
        out.add(raw.line_of("feedback"), f"{where} : `feedback` vaut `rating` (la note) ou `word` (un mot libre)")
        return None
    if kind == "rating":
        for choice in choices:
            if choice.value not in (*FEEDBACK_RATINGS, "skip"):
                out.add(
                    choice.line,
                    f"{where} : `{choice.value}` n'est pas une note ; les boutons d'une étape `feedback: rating` "
                    f"valent {listing((*FEEDBACK_RATINGS, 'skip'))} (`skip` : passer, rien n'est gardé)",
                )
    return str(kind)


def _parse_ask(step_id: str, raw: LineDict, rules: tuple[Rule, ...], out: Collector) -> Step:
    where = f"étape `{step_id}`"
    slot = raw["ask"]
    spec = SLOTS.get(slot) if isinstance(slot, str) else None
    if spec is None:
        out.add(
            raw.line_of("ask"),
            f"{where} : réponse `{slot}` inconnue{did_you_mean(str(slot), SLOTS)} (réponses connues : "
            f"{', '.join(SLOTS)})",
        )
    text = parse_wording(raw.get("text"), where, raw.line_of("text"), out) if "text" in raw else None
    if text is None and "text" not in raw:
        out.add(raw.line, f"{where} : il manque `text` (la question posée)")
    multi = raw.get("multi") is True
    if spec is not None and multi != spec.multi:
        out.add(
            raw.line_of("multi") if "multi" in raw else raw.line,
            f"{where} : la réponse `{slot}` "
            + (
                "accepte plusieurs choix : ajoutez `multi: true`"
                if spec.multi
                else "n'accepte qu'un choix : retirez `multi`"
            ),
        )
    input_kind = raw.get("input")
    if input_kind is not None and input_kind not in INPUT_KINDS:
        out.add(
            raw.line_of("input"),
            f"{where} : `input: {input_kind}` inconnu ; valeurs connues : {', '.join(INPUT_KINDS)}",
        )
    choices = _parse_choices(raw.get("choices"), where, raw.line_of("choices"), spec, out)
    if spec is not None and spec.values and not choices:
        out.add(raw.line, f"{where} : la réponse `{slot}` a besoin de `choices` (un bouton par valeur)")
    if spec is not None and not spec.values and input_kind is None:
        out.add(
            raw.line,
            f"{where} : la réponse `{slot}` s'écrit librement : ajoutez `input: location` (ou `postcode`, `text`)",
        )
    allow_unknown = raw.get("unknown", True) is not False
    if spec is not None and spec.unknown_allowed and not allow_unknown:
        out.add(
            raw.line_of("unknown"),
            f"{where} : toute question sauf `for_whom` doit accepter « Je ne sais pas » ; retirez `unknown: false`",
        )
    if spec is not None and not spec.unknown_allowed:
        allow_unknown = False
    invalid = parse_wording(raw["invalid"], where, raw.line_of("invalid"), out) if "invalid" in raw else None
    if multi and any(c.goto for c in choices):
        out.add(
            raw.line_of("choices"),
            f"{where} : un `goto` sur un bouton d'une question à plusieurs réponses ne sert jamais (la réponse est "
            "un ensemble) : utilisez plutôt `next:` avec des conditions `if:`",
        )
    every_button_leads = bool(choices) and all(c.goto for c in choices) and not allow_unknown and not multi
    if not rules and not every_button_leads:
        out.add(
            raw.line,
            f"{where} : impasse ; ajoutez `next:` (l'étape suivante, nécessaire pour « Je ne sais pas » "
            "et pour les boutons sans `goto`)",
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
        out.add(line, f"{where} : `choices` doit être une liste, un bouton par `- value: …`")
        return []
    choices: list[Choice] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        item_line = raw.line_of(index)
        if not isinstance(item, LineDict) or "value" not in item or "label" not in item:
            out.add(
                item_line,
                f"{where} : chaque bouton a besoin de `value` (ce qui est enregistré) et de `label` (son texte)",
            )
            continue
        for key in item:
            if key not in CHOICE_KEYS:
                out.add(item.line_of(key), unknown_key(key, CHOICE_KEYS, f"{where}, bouton : "))
        value = str(item["value"])
        if value in seen:
            out.add(
                item.line_of("value"),
                f"{where} : la valeur de bouton `{value}` est en double ; chaque bouton a la sienne",
            )
        seen.add(value)
        if len(value.encode()) > MAX_VALUE_BYTES:
            out.add(
                item.line_of("value"),
                f"{where} : la valeur de bouton `{value}` est trop longue ({len(value.encode())} octets) ; "
                f"{MAX_VALUE_BYTES} au plus (un bouton Telegram transporte 64 octets) ; le `label` peut rester long",
            )
        if value == UNKNOWN:
            out.add(
                item.line_of("value"),
                f"{where} : le bouton `unknown` (« Je ne sais pas ») est ajouté tout seul ; retirez-le",
            )
        elif spec is not None and spec.values and value not in spec.values:
            out.add(
                item.line_of("value"),
                f"{where} : `{value}` n'est pas une valeur de la réponse `{spec.name}`"
                f"{did_you_mean(value, spec.values)} (valeurs possibles : {', '.join(spec.values)})",
            )
        label = parse_wording(item["label"], f"{where}, bouton `{value}`", item.line_of("label"), out)
        synonyms, synonyms_lines = read_synonyms(item, f"{where}, bouton `{value}`", out)
        examples, examples_lines = read_examples(item, f"{where}, bouton `{value}`", out)
        goto = item.get("goto")
        numbers = _number_range(item, where, out)
        if label is not None:
            choices.append(
                Choice(
                    value,
                    label,
                    synonyms,
                    str(goto) if goto is not None else None,
                    item.get("exclusive") is True,
                    item.line_of("goto") if goto is not None else item_line,
                    numbers,
                    examples,
                    examples_lines,
                    synonyms_lines,
                )
            )
    ranged = sorted((c.numbers, c.value) for c in choices if c.numbers)
    for (first, first_value), (second, second_value) in itertools.pairwise(ranged):
        if second[0] <= first[1]:
            out.add(
                line,
                f"{where} : les intervalles `numbers` de `{first_value}` et de `{second_value}` se chevauchent ; "
                "un nombre ne doit mener qu'à un bouton",
            )
    check_examples(choices, where, out)
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
        out.add(
            item.line_of("numbers"),
            f"{where} : `numbers` s'écrit `[minimum, maximum]`, deux nombres entiers, le plus petit d'abord",
        )
        return None
    return (raw[0], raw[1])


def parse_conditions(raw: Any, where: str, line: int, out: Collector) -> dict[str, frozenset[str]]:
    if raw is None:
        return {}
    if not isinstance(raw, LineDict) or not raw:
        out.add(line, f"{where} : une condition s'écrit `réponse: valeur` ou `réponse: [valeur1, valeur2]`")
        return {}
    result = {}
    for slot, values in raw.items():
        spec = SLOTS.get(slot)
        values_list = [str(v) for v in values] if isinstance(values, list) else [str(values)]
        if spec is None:
            out.add(
                raw.line_of(slot),
                f"{where} : réponse `{slot}` inconnue dans une condition{did_you_mean(slot, SLOTS)} "
                f"(réponses connues : {', '.join(SLOTS)})",
            )
            continue
        for value in values_list:
            if spec.values and value not in spec.values and value not in (UNKNOWN, "missing"):
                out.add(
                    raw.line_of(slot),
                    f"{where} : `{value}` n'est pas une valeur de la réponse `{slot}`"
                    f"{did_you_mean(value, spec.values)} (valeurs possibles : {', '.join(spec.values)}, unknown, "
                    "missing)",
                )
        result[slot] = frozenset(values_list)
    return result


def _parse_next(raw: Any, where: str, line: int, out: Collector) -> tuple[Rule, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (Rule(raw, line=line),)
    if not isinstance(raw, LineList) or not raw:
        out.add(line, f"{where} : `next` est un nom d'étape, ou une liste de `- if: … goto: …`")
        return ()
    rules = []
    for index, item in enumerate(raw):
        item_line = raw.line_of(index)
        if not isinstance(item, LineDict) or "goto" not in item:
            out.add(item_line, f"{where} : chaque règle de `next` a besoin de `goto` (et peut avoir `if`, `unless`)")
            continue
        for key in item:
            if key not in RULE_KEYS:
                out.add(item.line_of(key), unknown_key(key, RULE_KEYS, f"{where}, `next` : "))
        rules.append(
            Rule(
                str(item["goto"]),
                parse_conditions(item.get("if"), where, item.line_of("if"), out),
                parse_conditions(item.get("unless"), where, item.line_of("unless"), out),
                item_line,
            )
        )
    if rules and (rules[-1].when or rules[-1].unless):
        out.add(
            rules[-1].line,
            f"{where} : impasse possible ; terminez `next` par un `- goto: …` sans condition",
        )
    return tuple(rules)
