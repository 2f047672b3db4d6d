"""Persona messages say only what was said: each sentence that claims something of the person (a wish, a device,
a level) is said only when an answer gave it, never from « je ne sais pas » or a question skipped."""

from __future__ import annotations

import pytest

from bot.app.root import LoadedFlow
from bot.core.errors import FlowError
from bot.core.slots import SLOTS, UNKNOWN, SlotValue
from bot.engine.engine import Engine
from bot.language.personas import PERSONA_IDS, Personas, check_against_flow, parse_personas
from bot.language.yamlload import load_yaml
from tests.conftest import Chat

Answers = dict[str, SlotValue]
# Per persona, what its message may claim, and answers that justify it (the claim is said with them only).
CLAIMS: dict[str, list[tuple[str, Answers]]] = {
    "refractaire": [("normal de ne pas en avoir envie", {"attitude": "refuses"})],
    "novice_curieux": [
        ("envie de vous y mettre", {"attitude": "curious"}),
        ("un appareil reconditionné", {"equipment": ["none"]}),
        ("forfaits solidaires", {"equipment": ["smartphone"], "internet_at_home": "no"}),
    ],
    "sans_reperes": [("déjà un appareil", {"equipment": ["smartphone"]})],
    "timide": [
        ("vous débrouillez déjà", {"usage_frequency": "weekly"}),
        ("peur de mal faire", {"attitude": "unsure"}),
        ("peur de mal faire", {"brakes": ["confidence"]}),
    ],
    "melancolique": [
        ("de bonnes bases", {"skills": "intermediate"}),
        ("réserves sur internet sont légitimes", {"attitude": "critical"}),
    ],
    "modere": [("déjà à l'aise", {"skills": "advanced"}), ("raison de ne pas y passer", {"attitude": "pragmatic"})],
    "hyper_connecte": [
        ("très à l'aise", {"skills": "advanced"}),
        ("envie de partager", {"goals": ["help_others"]}),
        ("goût pour internet", {"attitude": "passionate"}),
    ],
}
ALL_UNKNOWN: Answers = {slot: [UNKNOWN] if spec.multi else UNKNOWN for slot, spec in SLOTS.items() if spec.values}
NOTHING_SAID = [pytest.param({}, id="all-missing"), pytest.param(ALL_UNKNOWN, id="all-unknown")]


@pytest.fixture(scope="module")
def personas(loaded: LoadedFlow) -> Personas:
    return loaded.personas


def message(personas: Personas, persona_id: str, answers: Answers, who: str = "self") -> str:
    return personas.personas[persona_id].message.said(answers).pick(who, None)


def test_every_persona_has_its_claims_listed() -> None:
    """The table covers the seven personas."""
    assert set(CLAIMS) == set(PERSONA_IDS)


@pytest.mark.parametrize("answers", NOTHING_SAID)
@pytest.mark.parametrize("persona_id", PERSONA_IDS)
def test_with_nothing_answered_a_message_claims_nothing(personas: Personas, persona_id: str, answers: Answers) -> None:
    """Every slot missing, or every one « je ne sais pas »: the message still thanks and orients (for oneself and for
    a relative), and claims none of the persona's wishes, devices or levels."""
    own, relative = message(personas, persona_id, answers), message(personas, persona_id, answers, "relative")
    assert own.startswith("Merci")
    assert relative.startswith("Merci")
    assert "votre proche" in relative.casefold()
    assert len(own) > 60
    for claim, _ in CLAIMS[persona_id]:
        assert claim not in own, claim


@pytest.mark.parametrize(
    ("persona_id", "claim", "given"),
    [pytest.param(p, claim, given, id=f"{p}-{claim}") for p, claims in CLAIMS.items() for claim, given in claims],
)
def test_a_claim_is_said_only_from_the_answer_that_gives_it(
    personas: Personas, persona_id: str, claim: str, given: Answers
) -> None:
    """With its answer the claim is said; with the same questions answered « je ne sais pas », or skipped, not."""
    assert claim in message(personas, persona_id, given)
    unknown: Answers = {slot: [UNKNOWN] if isinstance(value, list) else UNKNOWN for slot, value in given.items()}
    assert claim not in message(personas, persona_id, unknown)
    assert claim not in message(personas, persona_id, {})


def test_equipped_people_are_not_offered_equipment(personas: Personas) -> None:
    """A smartphone and internet at home: no refurbished device, no solidarity plan (seen in the field)."""
    said = message(personas, "novice_curieux", {"equipment": ["smartphone"], "internet_at_home": "yes"})
    assert "reconditionné" not in said
    assert "forfait" not in said


# ----- in a conversation ------------------------------------------------------------------------------------
async def test_no_device_and_je_ne_sais_pas_claims_no_wish(memory_engine: Engine) -> None:
    """« Aucun » device, « Je ne sais pas » for the attitude and the brakes (seen in the field): the result does not
    say « Vous avez envie de vous y mettre »."""
    turns = await Chat(memory_engine, "test:unknown").script(
        [
            "bonjour",
            "value:self",
            "value:family_contact",
            "value:none",
            "value:unknown",
            "value:unknown",
            "value:70_79",
            "value:no",
        ]
    )
    result = next(t for t in turns if t.persona is not None)
    said = "\n".join(r.text for r in result.replies)
    assert "Merci" in said
    assert "envie de vous y mettre" not in said
    assert "envie" not in said.split("Merci", 1)[1].split(".")[0]


async def test_a_smartphone_with_internet_at_home_is_offered_no_device(memory_engine: Engine) -> None:
    """A smartphone and internet at home, keen but short of money: the result offers no device and no plan."""
    turns = await Chat(memory_engine, "test:equipped").script(
        [
            "bonjour",
            "value:self",
            "value:family_contact",
            "value:smartphone",
            "value:rarely",
            "value:yes",
            "value:curious",
            "value:money",
            "value:60_69",
        ]
    )
    result = next(t for t in turns if t.persona is not None)
    said = "\n".join(r.text for r in result.replies)
    assert "Merci" in said
    assert "reconditionné" not in said
    assert "forfait solidaire" not in said


# ----- the loader ------------------------------------------------------------------------------------------
def personas_with(message: str) -> str:
    lines = ["personas:"]
    for persona_id in PERSONA_IDS:
        lines += [
            f"  {persona_id}:",
            f'    title: "Titre {persona_id}"',
            "    urgency: high",
            f"    message: {message}" if persona_id == "timide" else '    message: "Merci."',
            "    rules:",
            '      - {if: {skills: none}, weight: 1, reason: "Rien"}',
        ]
    return "\n".join(lines) + "\n"


def problems_of(text: str) -> list[str]:
    with pytest.raises(FlowError) as error:
        parse_personas(load_yaml(text, "x.yaml"), "x.yaml")
    return [f"{p.line}: {p.message}" for p in error.value.problems]


def test_a_message_whose_every_part_is_conditioned_is_refused() -> None:
    """If every part has a condition, some answers would make the bot say nothing: refused, at the message's line."""
    text = personas_with('[{if: {attitude: unsure}, self: "Peur de mal faire."}]')
    [problem] = problems_of(text)
    assert problem.startswith("23: profil `timide`, `message` : chaque partie a une condition")


def test_a_part_with_an_unknown_key_or_value_is_refused() -> None:
    """A mistyped key in a part, or a value the slot does not have, is named with its line."""
    text = personas_with(
        '[{self: "Merci."}, {si: {attitude: unsure}, self: "Oui."}, {if: {attitude: timid}, self: "Non."}]'
    )
    problems = problems_of(text)
    assert any("clé `si` inconnue" in p for p in problems), problems
    assert any("`timid` n'est pas une valeur de la réponse `attitude`" in p for p in problems), problems


def test_a_part_no_button_can_satisfy_is_reported_against_the_flow(loaded: LoadedFlow) -> None:
    """A part conditioned on a value no button of the flow gives can never be said: reported like a rule, at the
    part's line (`for_whom` has no « Je ne sais pas »)."""
    fine = personas_with('[{self: "Merci."}, {if: {for_whom: relative}, self: "Oui."}]')
    assert check_against_flow(parse_personas(load_yaml(fine, "x.yaml"), "x.yaml"), loaded.flow) == []
    never = fine.replace("for_whom: relative", "for_whom: unknown")
    [problem] = check_against_flow(parse_personas(load_yaml(never, "x.yaml"), "x.yaml"), loaded.flow)
    assert problem.line == 23
    assert "profil `timide` : aucun bouton du parcours `orientation` ne donne `for_whom: unknown`" in problem.message
