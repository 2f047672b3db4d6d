"""The slots of the default flow, as fixed by CONTRACT.md, and the free-text input kinds."""

from __future__ import annotations

from dataclasses import dataclass

UNKNOWN = "unknown"  # "Je ne sais pas" / "Je préfère ne pas répondre": accepted on every question but for_whom


@dataclass(frozen=True, slots=True)
class SlotSpec:
    name: str
    values: tuple[str, ...]  # empty for free slots (location)
    multi: bool = False
    unknown_allowed: bool = True


SLOTS: dict[str, SlotSpec] = {
    spec.name: spec
    for spec in (
        SlotSpec("for_whom", ("self", "relative"), unknown_allowed=False),
        SlotSpec("age_band", ("under_60", "60_69", "70_79", "80_plus")),
        SlotSpec("equipment", ("none", "basic_phone", "smartphone", "tablet", "computer"), multi=True),
        SlotSpec("internet_at_home", ("yes", "no")),
        SlotSpec("usage_frequency", ("never", "rarely", "weekly", "daily")),
        SlotSpec("skills", ("none", "basic", "intermediate", "advanced")),
        SlotSpec(
            "attitude",
            ("refuses", "curious", "indifferent", "unsure", "critical", "pragmatic", "passionate"),
        ),
        SlotSpec(
            "goals",
            (
                "family_contact",
                "admin_procedures",
                "daily_life",
                "leisure",
                "office_skills",
                "new_tools",
                "help_others",
            ),
            multi=True,
        ),
        SlotSpec("brakes", ("none", "time", "confidence", "money", "language", "health", "interest"), multi=True),
        SlotSpec("support_nearby", ("yes", "no")),
        SlotSpec("mobility", ("easy", "difficult")),
        SlotSpec("location", ()),
    )
}

# Free-text inputs a question may ask for, with what the engine accepts for each.
INPUT_KINDS = ("location", "postcode", "phone", "text")

SlotValue = str | list[str]


def condition_holds(condition: dict[str, frozenset[str]] | object, answers: dict[str, SlotValue]) -> bool:
    """True when every `slot: values` pair of the condition matches the answers.

    A several-choice slot matches when it shares a value with the condition; `missing` matches a slot never
    answered (skipped), `unknown` one answered "je ne sais pas".
    """
    assert isinstance(condition, dict)
    for slot, wanted in condition.items():
        given = answers.get(slot)
        if given is None:
            if "missing" not in wanted:
                return False
        elif isinstance(given, list):
            if wanted.isdisjoint(given):
                return False
        elif given not in wanted:
            return False
    return True


# Short headings for the slots of the default flow (CONTRACT.md); a flow's other slots show their name.
SLOT_TITLES = {
    "for_whom": "Pour qui",
    "age_band": "Âge",
    "equipment": "Équipement",
    "internet_at_home": "Internet à la maison",
    "usage_frequency": "Usage",
    "skills": "Aisance",
    "attitude": "Rapport au numérique",
    "goals": "Envies",
    "brakes": "Freins",
    "support_nearby": "Entourage",
    "mobility": "Déplacements",
    "location": "Lieu",
}
