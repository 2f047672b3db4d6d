"""The seven personas of the study and the classifier that places a person among them.

The classifier is deterministic and explainable: each persona has weighted rules on the answers; the persona
with the highest score wins, ties going to the more urgent one (the one at risk of losing rights). The reasons
returned are the rules that weighed most. A missing or "unknown" answer matches only a rule that names
`missing` or `unknown` for that slot: otherwise it simply weighs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.errors import FlowError, Problem
from bot.core.messages import PersonaResult
from bot.core.slots import SLOTS, UNKNOWN, SlotValue, condition_holds
from bot.language.checks import did_you_mean, unknown_key
from bot.language.flows import Collector, Flow, parse_conditions
from bot.language.persona_message import PersonaMessage, parse_message
from bot.language.standard import V1_ENUMS
from bot.language.yamlload import LineDict, LineList, read_yaml

PERSONA_IDS = ("refractaire", "novice_curieux", "sans_reperes", "timide", "melancolique", "modere", "hyper_connecte")
URGENCY_RANK = {"high": 3, "medium": 2, "low": 1, "none": 0}
SOLUTION_TYPES = (
    "inform_motivate",
    "equip_connect",
    "assist",
    "train_basics",
    "train_themes",
    "one_off_support",
    "volunteer",
)
# Values of the national standard "lieux de médiation numérique" (schema v1.0.x), defined with the importer.
SERVICES = V1_ENUMS["services"]
SUPPORT_MODES = V1_ENUMS["modalites_accompagnement"]
PERSONA_KEYS = {"title", "description", "urgency", "solutions", "message", "preferences", "rules"}
PREFERENCE_KEYS = {"services", "modalites_accompagnement", "free_only", "prefer_free", "home_or_remote_when_difficult"}


@dataclass(frozen=True, slots=True)
class PersonaRule:
    when: Mapping[str, frozenset[str]]
    weight: float
    reason: str
    line: int


@dataclass(frozen=True, slots=True)
class OfferPreferences:
    """What the search favours for this persona (national-standard values, best first)."""

    services: tuple[str, ...]
    support_modes: tuple[str, ...]
    free_only: bool
    prefer_free: bool
    home_or_remote_when_difficult: bool


@dataclass(frozen=True, slots=True)
class Persona:
    id: str
    title: str
    description: str
    urgency: str
    solutions: tuple[str, ...]
    message: PersonaMessage  # said after the classification, built from the answers given
    preferences: OfferPreferences
    rules: tuple[PersonaRule, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Personas:
    file: str
    personas: Mapping[str, Persona]  # in file order

    def classify(self, answers: Mapping[str, SlotValue]) -> PersonaResult:
        """One persona id, a confidence in [0, 1] and the reasons (the rules that weighed most)."""
        scored: list[tuple[float, int, int, Persona, list[PersonaRule]]] = []
        for order, persona in enumerate(self.personas.values()):
            matched = [r for r in persona.rules if condition_holds(dict(r.when), dict(answers))]
            score = sum(r.weight for r in matched)
            scored.append((score, URGENCY_RANK[persona.urgency], -order, persona, matched))
        scored.sort(key=lambda item: item[:3], reverse=True)
        best_score, _, _, best, matched = scored[0]
        second_score = scored[1][0] if len(scored) > 1 else 0.0
        reachable = sum(r.weight for r in best.rules if r.weight > 0) or 1.0
        if best_score <= 0:
            confidence = 0.0
        else:
            margin = (best_score - max(second_score, 0.0)) / best_score
            coverage = min(best_score / reachable, 1.0)
            confidence = round(min(1.0, 0.6 * margin + 0.4 * coverage), 2)
        strongest = sorted((r for r in matched if r.weight > 0), key=lambda r: -r.weight)[:4]
        reasons = tuple(f"{r.reason} (+{r.weight:g})" for r in strongest)
        if not reasons:
            reasons = ("Peu de réponses connues : orientation par défaut vers la personne la plus à aider",)
        return PersonaResult(best.id, confidence, reasons)


def load_personas(path: Path) -> Personas:
    _, data = read_yaml(path)
    return parse_personas(data, str(path))


def parse_personas(data: Any, file: str) -> Personas:
    out = Collector(file)
    if not isinstance(data, LineDict) or not isinstance(data.get("personas"), LineDict):
        raise FlowError(
            [Problem(file, 1, "`personas:` est attendu en tête du fichier, avec chaque profil sous son identifiant")]
        )
    raw_personas: LineDict = data["personas"]
    for key in data:
        if key != "personas":
            out.add(data.line_of(key), f"clé `{key}` inconnue ; seule `personas:` est attendue en tête du fichier")
    personas: dict[str, Persona] = {}
    for persona_id, raw in raw_personas.items():
        line = raw_personas.line_of(persona_id)
        if persona_id not in PERSONA_IDS:
            out.add(
                line,
                f"identifiant de profil `{persona_id}` inconnu{did_you_mean(persona_id, PERSONA_IDS)} ; les "
                f"identifiants sont fixes : {', '.join(PERSONA_IDS)}",
            )
            continue
        persona = _parse_persona(persona_id, raw, line, out)
        if persona is not None:
            personas[persona_id] = persona
    for persona_id in PERSONA_IDS:
        if persona_id not in raw_personas:
            out.add(data.line_of("personas"), f"il manque le profil `{persona_id}` ; les sept profils sont nécessaires")
    if out.problems:
        raise FlowError(out.problems)
    return Personas(file, personas)


def _parse_persona(persona_id: str, raw: Any, line: int, out: Collector) -> Persona | None:
    where = f"profil `{persona_id}`"
    if not isinstance(raw, LineDict):
        out.add(line, f"{where} : les clés du profil sont attendues (`title`, `urgency`, `message`, `rules`…)")
        return None
    for key in raw:
        if key not in PERSONA_KEYS:
            out.add(raw.line_of(key), unknown_key(key, PERSONA_KEYS, f"{where} : "))
    for key in ("title", "urgency", "message", "rules"):
        if key not in raw:
            out.add(raw.line, f"{where} : il manque `{key}`")
    urgency = str(raw.get("urgency", "none"))
    if urgency not in URGENCY_RANK:
        out.add(
            raw.line_of("urgency"), f"{where} : `urgency` doit valoir une de ces valeurs : {', '.join(URGENCY_RANK)}"
        )
        urgency = "none"
    solutions = _list(raw, "solutions", where, out)
    for value in solutions:
        if value not in SOLUTION_TYPES:
            out.add(
                raw.line_of("solutions"),
                f"{where} : solution `{value}` inconnue{did_you_mean(str(value), SOLUTION_TYPES)} (solutions "
                f"connues : {', '.join(SOLUTION_TYPES)})",
            )
    # A missing message is reported once, above, not again as "expected a text".
    message = (
        parse_message(raw["message"], f"{where}, `message`", raw.line_of("message"), out) if "message" in raw else None
    )
    rules: list[PersonaRule] = []
    raw_rules = raw.get("rules")
    if "rules" in raw and (not isinstance(raw_rules, LineList) or not raw_rules):
        out.add(
            raw.line_of("rules"), f"{where} : `rules` doit être une liste non vide de `- if: … weight: … reason: …`"
        )
    rule_items: LineList = raw_rules if isinstance(raw_rules, LineList) else LineList()
    for index, item in enumerate(rule_items):
        item_line = rule_items.line_of(index)
        if not isinstance(item, LineDict) or not {"if", "weight", "reason"} <= set(item):
            out.add(item_line, f"{where} : chaque règle a besoin de `if`, `weight` et `reason`")
            continue
        for key in item:
            if key not in {"if", "weight", "reason"}:
                out.add(
                    item.line_of(key),
                    unknown_key(key, ("if", "weight", "reason"), f"{where}, règle : ")
                    + " ; pour une exception, écrivez une règle de poids négatif",
                )
        weight = item["weight"]
        if not isinstance(weight, int | float) or isinstance(weight, bool):
            out.add(
                item.line_of("weight"),
                f"{where} : `weight` doit être un nombre (négatif pour compter contre le profil)",
            )
            continue
        when = parse_conditions(item["if"], where, item.line_of("if"), out)
        rules.append(PersonaRule(when, float(weight), str(item["reason"]), item_line))
    preferences = _parse_preferences(raw.get("preferences"), where, raw.line_of("preferences"), out)
    if message is None:
        return None
    return Persona(
        persona_id,
        str(raw.get("title", persona_id)),
        str(raw.get("description", "")).strip(),
        urgency,
        tuple(str(s) for s in solutions),
        message,
        preferences,
        tuple(rules),
        line,
    )


def _list(raw: LineDict, key: str, where: str, out: Collector) -> list[Any]:
    """The list under `key` (none: empty); anything else is reported, and read as empty."""
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        out.add(
            raw.line_of(key), f"{where} : `{key}` doit être une liste : une ligne `- valeur` par élément, ou [a, b]"
        )
        return []
    return value


def _parse_preferences(raw: Any, where: str, line: int, out: Collector) -> OfferPreferences:
    if raw is None:
        raw = LineDict()
        raw.line, raw.key_lines = line, {}
    if not isinstance(raw, LineDict):
        out.add(line, f"{where} : `preferences` doit contenir ses clés (`services`, `modalites_accompagnement`…)")
        raw = LineDict()
        raw.line, raw.key_lines = line, {}
    for key in raw:
        if key not in PREFERENCE_KEYS:
            out.add(raw.line_of(key), unknown_key(key, PREFERENCE_KEYS, f"{where}, `preferences` : "))
    services = [str(s) for s in _list(raw, "services", where, out)]
    for value in services:
        if value not in SERVICES:
            out.add(
                raw.line_of("services"),
                f"{where} : `{value}` n'est pas un service du standard national ; recopiez exactement l'un de : "
                f"{'; '.join(SERVICES)}",
            )
    modes = [str(s) for s in _list(raw, "modalites_accompagnement", where, out)]
    for value in modes:
        if value not in SUPPORT_MODES:
            out.add(
                raw.line_of("modalites_accompagnement"),
                f"{where} : `{value}` n'est pas une modalité d'accompagnement du standard national ; recopiez "
                f"exactement l'une de : {'; '.join(SUPPORT_MODES)}",
            )
    return OfferPreferences(
        tuple(services),
        tuple(modes),
        raw.get("free_only") is True,
        raw.get("prefer_free") is True,
        raw.get("home_or_remote_when_difficult") is True,
    )


def check_against_flow(personas: Personas, flow: Flow) -> list[Problem]:
    """Rules naming a slot no question asks, or a value no button can produce."""
    producible: dict[str, set[str]] = {}
    for step in flow.steps.values():
        if step.kind == "ask" and step.slot:
            produced = producible.setdefault(step.slot, {"missing"})
            produced.update(c.value for c in step.choices)
            if step.allow_unknown:
                produced.add(UNKNOWN)
    problems = []
    for persona in personas.personas.values():
        conditions = [(rule.line, rule.when) for rule in persona.rules]
        conditions += [(p.line, c) for p in persona.message.parts for c in (p.when, p.unless) if c]
        for line, when in conditions:
            for slot, values in when.items():
                if slot not in producible:
                    if SLOTS.get(slot) is not None and set(values) != {"missing"}:
                        problems.append(
                            Problem(
                                personas.file,
                                line,
                                f"profil `{persona.id}` : aucune question du parcours `{flow.name}` ne "
                                f"demande `{slot}` : cette règle ne peut jamais s'appliquer ; corrigez la "
                                "condition ou retirez la règle",
                            )
                        )
                    continue
                for value in sorted(values - producible[slot]):
                    problems.append(
                        Problem(
                            personas.file,
                            line,
                            f"profil `{persona.id}` : aucun bouton du parcours `{flow.name}` ne donne "
                            f"`{slot}: {value}` : cette partie de la règle ne peut jamais s'appliquer ; corrigez la "
                            "valeur ou ajoutez le bouton",
                        )
                    )
    return problems
