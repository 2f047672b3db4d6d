"""The persona classifier: study profiles land on their persona, hesitant answers never break it, files are checked."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app.root import LoadedFlow
from bot.core.errors import FlowError
from bot.core.slots import SLOTS, UNKNOWN, SlotValue, condition_holds
from bot.language.personas import PERSONA_IDS, URGENCY_RANK, Personas, parse_personas
from bot.language.yamlload import load_yaml

Answers = dict[str, SlotValue]

# Profiles drawn from the study's persona sheets (Christine, Matias, Jean-Pierre, Hélène, Anne, Xavier, Jérôme),
# answered as the person (or a relative) would through the default flow: slots the flow skips are left out,
# "Je ne sais pas" is `unknown`.
PROFILES: list[tuple[str, str, Answers]] = [
    # Christine, 83, widow, landline and a basic mobile, hard of hearing, tight budget: "pas de mon âge".
    (
        "refractaire",
        "christine_herself",
        {
            "for_whom": "self",
            "goals": ["admin_procedures"],
            "equipment": ["basic_phone"],
            "attitude": "refuses",
            "brakes": ["health", "money"],
            "age_band": "80_plus",
            "support_nearby": "yes",
        },
    ),
    (
        "refractaire",
        "christine_by_her_daughter",
        {
            "for_whom": "relative",
            "goals": ["family_contact"],
            "equipment": ["none"],
            "attitude": "refuses",
            "brakes": ["interest"],
            "age_band": "80_plus",
            "support_nearby": "no",
        },
    ),
    (
        "refractaire",
        "christine_hesitant",
        {
            "for_whom": "self",
            "goals": [UNKNOWN],
            "equipment": ["basic_phone"],
            "attitude": "refuses",
            "brakes": [UNKNOWN],
            "age_band": UNKNOWN,
        },
    ),
    (
        "refractaire",
        "christine_given_an_old_smartphone",
        {
            "for_whom": "relative",
            "goals": ["admin_procedures"],
            "equipment": ["smartphone"],
            "usage_frequency": "never",
            "internet_at_home": "no",
            "attitude": "refuses",
            "brakes": ["interest", "health"],
            "age_band": "80_plus",
        },
    ),
    (
        "refractaire",
        "christine_distrustful_without_device",
        {"for_whom": "self", "equipment": ["basic_phone"], "attitude": "critical", "brakes": [UNKNOWN]},
    ),
    # Matias, 67, single, phone without 4G, money trouble, some difficulty with written French: curious.
    (
        "novice_curieux",
        "matias_himself",
        {
            "for_whom": "self",
            "goals": ["family_contact", "daily_life", "admin_procedures"],
            "equipment": ["basic_phone"],
            "attitude": "curious",
            "brakes": ["money", "confidence", "language"],
            "age_band": "60_69",
            "support_nearby": "no",
        },
    ),
    (
        "novice_curieux",
        "matias_by_his_sister",
        {
            "for_whom": "relative",
            "goals": ["family_contact"],
            "equipment": ["none"],
            "attitude": "curious",
            "brakes": ["money"],
            "age_band": "60_69",
            "support_nearby": "yes",
        },
    ),
    (
        "novice_curieux",
        "matias_hesitant",
        {
            "for_whom": "self",
            "equipment": ["basic_phone"],
            "attitude": "curious",
            "brakes": [UNKNOWN],
            "age_band": UNKNOWN,
            "support_nearby": UNKNOWN,
        },
    ),
    (
        "novice_curieux",
        "matias_with_a_smartphone_but_no_subscription",
        {
            "for_whom": "self",
            "goals": ["family_contact"],
            "equipment": ["smartphone"],
            "usage_frequency": "never",
            "internet_at_home": "no",
            "attitude": "curious",
            "brakes": ["money"],
            "age_band": "60_69",
        },
    ),
    (
        "novice_curieux",
        "matias_unsure_without_device",
        {
            "for_whom": "self",
            "equipment": ["basic_phone"],
            "attitude": "unsure",
            "brakes": ["confidence"],
            "age_band": "60_69",
        },
    ),
    # Jean-Pierre, 76, village of < 500, smartphone given by the family, reads a few mails: not interested.
    (
        "sans_reperes",
        "jean_pierre_himself",
        {
            "for_whom": "self",
            "goals": ["family_contact"],
            "equipment": ["smartphone"],
            "usage_frequency": "rarely",
            "internet_at_home": "yes",
            "attitude": "indifferent",
            "brakes": ["interest"],
            "age_band": "70_79",
        },
    ),
    (
        "sans_reperes",
        "jean_pierre_by_his_nephew",
        {
            "for_whom": "relative",
            "goals": ["daily_life"],
            "equipment": ["smartphone", "tablet"],
            "usage_frequency": "never",
            "internet_at_home": "yes",
            "attitude": "indifferent",
            "brakes": ["interest"],
            "age_band": "70_79",
        },
    ),
    (
        "sans_reperes",
        "jean_pierre_hesitant",
        {
            "for_whom": "self",
            "goals": [UNKNOWN],
            "equipment": ["smartphone"],
            "usage_frequency": "rarely",
            "internet_at_home": UNKNOWN,
            "attitude": UNKNOWN,
            "brakes": [UNKNOWN],
            "age_band": UNKNOWN,
        },
    ),
    (
        "sans_reperes",
        "jean_pierre_relative_who_knows_little",
        {
            "for_whom": "relative",
            "goals": ["family_contact"],
            "equipment": ["smartphone"],
            "usage_frequency": UNKNOWN,
            "skills": UNKNOWN,
            "attitude": "indifferent",
            "brakes": [UNKNOWN],
            "age_band": "80_plus",
        },
    ),
    (
        "sans_reperes",
        "jean_pierre_basic_mobile_and_tablet",
        {
            "for_whom": "relative",
            "goals": ["family_contact"],
            "equipment": ["basic_phone", "tablet"],
            "usage_frequency": "rarely",
            "internet_at_home": "yes",
            "attitude": "indifferent",
            "brakes": ["interest"],
            "age_band": "70_79",
        },
    ),
    # Hélène, 74, widow, children abroad, smartphone and computer, mails and searches: lacks confidence.
    (
        "timide",
        "helene_herself",
        {
            "for_whom": "self",
            "goals": ["family_contact", "leisure"],
            "equipment": ["smartphone", "computer"],
            "usage_frequency": "daily",
            "skills": "intermediate",
            "attitude": "unsure",
            "brakes": ["confidence"],
        },
    ),
    (
        "timide",
        "helene_by_her_son_abroad",
        {
            "for_whom": "relative",
            "goals": ["family_contact"],
            "equipment": ["smartphone", "tablet"],
            "usage_frequency": "weekly",
            "skills": "basic",
            "attitude": "unsure",
            "brakes": ["confidence"],
        },
    ),
    (
        "timide",
        "helene_hesitant",
        {
            "for_whom": "self",
            "goals": [UNKNOWN],
            "equipment": ["computer"],
            "usage_frequency": "weekly",
            "skills": UNKNOWN,
            "attitude": "unsure",
            "brakes": [UNKNOWN],
        },
    ),
    (
        "timide",
        "helene_underrating_herself_but_keen",
        {
            "for_whom": "self",
            "goals": ["family_contact", "leisure"],
            "equipment": ["smartphone", "computer"],
            "usage_frequency": "daily",
            "skills": "basic",
            "attitude": "curious",
            "brakes": ["confidence"],
        },
    ),
    (
        "timide",
        "helene_basic_mobile_and_computer",
        {
            "for_whom": "self",
            "goals": ["family_contact"],
            "equipment": ["basic_phone", "computer"],
            "usage_frequency": "daily",
            "skills": "intermediate",
            "attitude": "unsure",
            "brakes": ["confidence"],
        },
    ),
    # Anne, 77, retired bookseller, many associations, at ease with internet and word processing: critical.
    (
        "melancolique",
        "anne_herself",
        {
            "for_whom": "self",
            "goals": ["office_skills", "admin_procedures"],
            "equipment": ["smartphone", "computer"],
            "usage_frequency": "weekly",
            "skills": "intermediate",
            "attitude": "critical",
            "brakes": ["interest"],
        },
    ),
    (
        "melancolique",
        "anne_by_her_daughter",
        {
            "for_whom": "relative",
            "goals": ["office_skills"],
            "equipment": ["computer", "smartphone"],
            "usage_frequency": "rarely",
            "internet_at_home": "yes",
            "attitude": "critical",
            "brakes": ["none"],
            "age_band": "70_79",
        },
    ),
    (
        "melancolique",
        "anne_hesitant",
        {
            "for_whom": "self",
            "goals": [UNKNOWN],
            "equipment": ["computer"],
            "usage_frequency": "daily",
            "skills": "advanced",
            "attitude": "critical",
            "brakes": [UNKNOWN],
        },
    ),
    (
        "melancolique",
        "anne_not_saying_what_she_thinks",
        {
            "for_whom": "self",
            "goals": ["office_skills", "admin_procedures"],
            "equipment": ["computer"],
            "usage_frequency": "weekly",
            "skills": "intermediate",
            "attitude": UNKNOWN,
            "brakes": [UNKNOWN],
        },
    ),
    # Xavier, 70, retired engineer, multi-equipped, moderate use, busy: wants help with new online procedures.
    (
        "modere",
        "xavier_himself",
        {
            "for_whom": "self",
            "goals": ["admin_procedures"],
            "equipment": ["smartphone", "tablet", "computer"],
            "usage_frequency": "weekly",
            "skills": "advanced",
            "attitude": "pragmatic",
            "brakes": ["time"],
        },
    ),
    (
        "modere",
        "xavier_by_his_wife",
        {
            "for_whom": "relative",
            "goals": ["admin_procedures", "family_contact"],
            "equipment": ["smartphone", "computer"],
            "usage_frequency": "daily",
            "skills": "intermediate",
            "attitude": "pragmatic",
            "brakes": ["none"],
        },
    ),
    (
        "modere",
        "xavier_hesitant",
        {
            "for_whom": "self",
            "goals": [UNKNOWN],
            "equipment": ["computer", "smartphone"],
            "usage_frequency": "weekly",
            "skills": "advanced",
            "attitude": "pragmatic",
            "brakes": [UNKNOWN],
        },
    ),
    (
        "modere",
        "xavier_not_saying_what_he_thinks",
        {
            "for_whom": "self",
            "goals": ["admin_procedures"],
            "equipment": ["computer"],
            "usage_frequency": "daily",
            "skills": "advanced",
            "attitude": UNKNOWN,
            "brakes": ["time"],
        },
    ),
    # Jérôme, 64, ex-manager, multi-equipped, office software and more: passionate, wants to pass it on.
    (
        "hyper_connecte",
        "jerome_himself",
        {
            "for_whom": "self",
            "goals": ["help_others", "new_tools", "leisure"],
            "equipment": ["smartphone", "tablet", "computer"],
            "usage_frequency": "daily",
            "skills": "advanced",
            "attitude": "passionate",
            "brakes": ["none"],
        },
    ),
    (
        "hyper_connecte",
        "jerome_by_his_daughter",
        {
            "for_whom": "relative",
            "goals": ["new_tools"],
            "equipment": ["computer", "smartphone"],
            "usage_frequency": "daily",
            "skills": "advanced",
            "attitude": "passionate",
            "brakes": ["time"],
        },
    ),
    (
        "hyper_connecte",
        "jerome_hesitant",
        {
            "for_whom": "self",
            "goals": ["help_others"],
            "equipment": ["computer"],
            "usage_frequency": "daily",
            "skills": "advanced",
            "attitude": UNKNOWN,
            "brakes": [UNKNOWN],
        },
    ),
    (
        "hyper_connecte",
        "jerome_less_expert_but_keen_to_share",
        {
            "for_whom": "self",
            "goals": ["help_others", "family_contact"],
            "equipment": ["smartphone", "computer"],
            "usage_frequency": "weekly",
            "skills": "intermediate",
            "attitude": "passionate",
            "brakes": ["time"],
        },
    ),
]

PROFILE_PARAMS = [pytest.param(expected, answers, id=name) for expected, name, answers in PROFILES]


@pytest.fixture(scope="module")
def personas(loaded: LoadedFlow) -> Personas:
    return loaded.personas


def _is_unknown(value: SlotValue) -> bool:
    return value == UNKNOWN or value == [UNKNOWN]


def _heaviest_matched_reason(personas: Personas, persona_id: str, answers: Answers) -> str:
    known = {k: v for k, v in answers.items() if not _is_unknown(v)}
    matched = [r for r in personas.personas[persona_id].rules if r.weight > 0 and condition_holds(dict(r.when), known)]
    return max(matched, key=lambda r: r.weight).reason


# ----- the study's profiles ----------------------------------------------------------------------------------


def test_profile_table_covers_every_persona_with_relatives_and_hesitant_answers() -> None:
    """Each persona has at least three study profiles, one told by a relative and one with unknown answers."""
    for persona_id in PERSONA_IDS:
        mine = [answers for expected, _, answers in PROFILES if expected == persona_id]
        assert len(mine) >= 3, persona_id
        assert any(a.get("for_whom") == "relative" for a in mine), persona_id
        assert any(any(_is_unknown(v) for v in a.values()) for a in mine), persona_id


@pytest.mark.parametrize(("expected", "answers"), PROFILE_PARAMS)
def test_study_profile_is_classified_as_its_persona(personas: Personas, expected: str, answers: Answers) -> None:
    """A profile taken from the study's persona sheet is classified as that persona."""
    result = personas.classify(answers)
    assert result.id == expected, result.reasons
    assert 0.0 < result.confidence <= 1.0


@pytest.mark.parametrize(("expected", "answers"), PROFILE_PARAMS)
def test_reasons_start_with_the_heaviest_rule(personas: Personas, expected: str, answers: Answers) -> None:
    """The reasons are non-empty, at most four, and the first one is the heaviest rule that matched."""
    result = personas.classify(answers)
    assert 1 <= len(result.reasons) <= 4
    assert result.reasons[0].startswith(_heaviest_matched_reason(personas, result.id, answers))
    assert all("(+" in reason for reason in result.reasons)


@pytest.mark.parametrize(("expected", "answers"), PROFILE_PARAMS)
def test_for_whom_does_not_change_the_persona(personas: Personas, expected: str, answers: Answers) -> None:
    """The same answers given by the person or by a relative lead to the same persona."""
    for who in ("self", "relative"):
        assert personas.classify({**answers, "for_whom": who}).id == expected


@pytest.mark.parametrize(("expected", "answers"), PROFILE_PARAMS)
def test_any_slot_missing_or_unknown_still_gives_a_persona(personas: Personas, expected: str, answers: Answers) -> None:
    """Dropping any one answer, or replacing it by "je ne sais pas", never crashes and gives one of the seven."""
    del expected
    for slot in SLOTS:
        if slot == "for_whom":
            continue
        unknown: SlotValue = [UNKNOWN] if SLOTS[slot].multi else UNKNOWN
        without = {k: v for k, v in answers.items() if k != slot}
        for variant in (without, {**answers, slot: unknown}):
            result = personas.classify(variant)
            assert result.id in PERSONA_IDS
            assert 0.0 <= result.confidence <= 1.0
            assert result.reasons


# ----- hesitant and empty answers ----------------------------------------------------------------------------


def test_empty_answers_give_the_most_urgent_persona_with_zero_confidence(personas: Personas) -> None:
    """With no answer at all, the person is oriented to the most urgent persona, with confidence 0."""
    result = personas.classify({})
    most_urgent = max(URGENCY_RANK[p.urgency] for p in personas.personas.values())
    assert URGENCY_RANK[personas.personas[result.id].urgency] == most_urgent
    assert result.id == "refractaire"
    assert result.confidence == 0.0
    assert result.reasons
    assert "défaut" in result.reasons[0]


def test_only_unknown_answers_count_as_no_answer(personas: Personas) -> None:
    """Answering "je ne sais pas" everywhere classifies like answering nothing."""
    answers: Answers = {"for_whom": "relative"}
    for slot, spec in SLOTS.items():
        if slot != "for_whom":
            answers[slot] = [UNKNOWN] if spec.multi else UNKNOWN
    assert personas.classify(answers) == personas.classify({})


def test_unknown_values_never_match_a_rule(personas: Personas) -> None:
    """An unknown answer adds nothing: the result equals the one with that slot left out."""
    answers: Answers = {"equipment": ["smartphone"], "usage_frequency": "rarely", "attitude": UNKNOWN}
    assert personas.classify(answers) == personas.classify({"equipment": ["smartphone"], "usage_frequency": "rarely"})


def test_unexpected_values_do_not_crash(personas: Personas) -> None:
    """Values outside the contract (an old button, a typo stored by a channel) are ignored, not fatal."""
    result = personas.classify({"attitude": "grumpy", "equipment": ["minitel"], "brakes": [], "goals": "leisure"})
    assert result.id in PERSONA_IDS
    assert 0.0 <= result.confidence <= 1.0
    assert result.reasons


def _slot_answer(slot: str) -> st.SearchStrategy[SlotValue]:
    spec = SLOTS[slot]
    if slot == "for_whom":
        return st.sampled_from(spec.values)
    if slot == "location":
        return st.sampled_from(["69003", "Pau", "43.3,-0.37", UNKNOWN])
    if spec.multi:
        return st.one_of(
            st.just([UNKNOWN]), st.lists(st.sampled_from(spec.values), min_size=1, max_size=4, unique=True)
        )
    return st.sampled_from([*spec.values, UNKNOWN])


ANY_ANSWERS = st.fixed_dictionaries({}, optional={slot: _slot_answer(slot) for slot in SLOTS})


@settings(max_examples=400, deadline=None)
@given(answers=ANY_ANSWERS)
def test_any_answers_give_one_persona_a_bounded_confidence_and_reasons(personas: Personas, answers: Answers) -> None:
    """Whatever subset of answers is given, the result is one of the seven ids, confidence in [0, 1], reasons."""
    result = personas.classify(answers)
    assert result.id in PERSONA_IDS
    assert 0.0 <= result.confidence <= 1.0
    assert result.reasons
    assert all(isinstance(r, str) and r for r in result.reasons)


# ----- ties and confidence, on small inline personas files -------------------------------------------------

URGENCIES = {
    "refractaire": "high",
    "novice_curieux": "high",
    "sans_reperes": "high",
    "timide": "medium",
    "melancolique": "medium",
    "modere": "low",
    "hyper_connecte": "none",
}


def personas_text(rules: dict[str, str], order: tuple[str, ...] = PERSONA_IDS, extra: str = "") -> str:
    """A minimal personas file: every persona gets one rule that only `skills: none` triggers, unless overridden."""
    lines = ["personas:"]
    for persona_id in order:
        rule = rules.get(persona_id, '{if: {skills: none}, weight: 1, reason: "Rien"}')
        lines += [
            f"  {persona_id}:",
            f'    title: "Titre {persona_id}"',
            f"    urgency: {URGENCIES[persona_id]}",
            '    message: "Merci."',
            "    rules:",
            f"      - {rule}",
        ]
    return "\n".join(lines) + "\n" + extra


def parse(text: str) -> Personas:
    return parse_personas(load_yaml(text, "x.yaml"), "x.yaml")


PRAGMATIC = '{if: {attitude: pragmatic}, weight: 2, reason: "Utile, sans plus"}'


@pytest.mark.parametrize(
    "order",
    [PERSONA_IDS, tuple(reversed(PERSONA_IDS))],
    ids=["file_order", "reversed_order"],
)
def test_a_tie_goes_to_the_more_urgent_persona(order: tuple[str, ...]) -> None:
    """Two personas with the same score: the more urgent one wins, whatever their order in the file."""
    personas = parse(personas_text({"modere": PRAGMATIC, "timide": PRAGMATIC}, order))
    result = personas.classify({"attitude": "pragmatic"})
    assert result.id == "timide"
    assert result.confidence <= 0.4  # no margin at all over the runner-up
    assert result.reasons == ("Utile, sans plus (+2)",)


def test_a_tie_between_equally_urgent_personas_goes_to_the_first_in_the_file() -> None:
    """Equal score and equal urgency: the persona written first in the file wins (stable, explainable)."""
    rules = {"sans_reperes": PRAGMATIC, "novice_curieux": PRAGMATIC}
    forward = parse(personas_text(rules))
    backward = parse(personas_text(rules, tuple(reversed(PERSONA_IDS))))
    assert forward.classify({"attitude": "pragmatic"}).id == "novice_curieux"
    assert backward.classify({"attitude": "pragmatic"}).id == "sans_reperes"


def test_a_clear_winner_gets_full_confidence() -> None:
    """All of a persona's rules matched and no other persona scoring: confidence is 1."""
    personas = parse(personas_text({"modere": PRAGMATIC}))
    result = personas.classify({"attitude": "pragmatic"})
    assert (result.id, result.confidence) == ("modere", 1.0)


def test_negative_weights_count_against_a_persona() -> None:
    """A negative rule lowers a persona's score, and is never shown as a reason."""
    rules = {
        "modere": PRAGMATIC + '\n      - {if: {equipment: [none]}, weight: -5, reason: "Pas d\'appareil"}',
        "timide": '{if: {attitude: pragmatic}, weight: 1, reason: "Un peu utile"}',
    }
    personas = parse(personas_text(rules))
    assert personas.classify({"attitude": "pragmatic"}).id == "modere"
    result = personas.classify({"attitude": "pragmatic", "equipment": ["none"]})
    assert result.id == "timide"
    assert all("Pas d'appareil" not in reason for reason in result.reasons)


def test_reasons_list_the_heaviest_rules_first() -> None:
    """Reasons are the matched rules, heaviest first, with their weight."""
    rules = {
        "hyper_connecte": (
            '{if: {skills: advanced}, weight: 1, reason: "A l\'aise"}\n'
            '      - {if: {attitude: passionate}, weight: 3, reason: "Passionné"}\n'
            '      - {if: {goals: [help_others]}, weight: 2, reason: "Veut aider"}'
        )
    }
    result = parse(personas_text(rules)).classify(
        {"skills": "advanced", "attitude": "passionate", "goals": ["help_others", "leisure"]}
    )
    assert result.reasons == ("Passionné (+3)", "Veut aider (+2)", "A l'aise (+1)")


# ----- errors in a personas file name the file and the line ------------------------------------------------


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


def problems_of(text: str) -> list[str]:
    with pytest.raises(FlowError) as caught:
        parse(text)
    return [str(problem) for problem in caught.value.problems]


def test_minimal_file_parses() -> None:
    """The inline file used by these tests is itself valid (so the error tests below test one thing each)."""
    assert list(parse(personas_text({})).personas) == list(PERSONA_IDS)


def test_unknown_persona_id_names_file_and_line() -> None:
    """A persona id outside the fixed seven is reported at its own line."""
    text = personas_text({}) + (
        '  christine:\n    title: "T"\n    urgency: high\n    message: "M"\n'
        '    rules:\n      - {if: {attitude: refuses}, weight: 1, reason: "R"}\n'
    )
    problems = problems_of(text)
    assert any(
        p.startswith(f"x.yaml:{line_of(text, 'christine:')}: identifiant de profil `christine` inconnu")
        for p in problems
    )


def test_bad_urgency_names_file_and_line() -> None:
    """An urgency outside high/medium/low/none is reported at the `urgency:` line."""
    text = personas_text({}).replace("urgency: low", "urgency: urgent")
    problems = problems_of(text)
    assert problems == [
        f"x.yaml:{line_of(text, 'urgency: urgent')}: profil `modere` : `urgency` doit valoir une de ces valeurs : "
        "high, medium, low, none"
    ]


def test_service_outside_the_national_standard_names_file_and_line() -> None:
    """A preferred service that the national standard does not know is reported at the `services:` line."""
    text = personas_text({}).replace(
        '    title: "Titre timide"',
        '    title: "Titre timide"\n    preferences:\n      services: ["Cours de tricot en ligne"]',
    )
    problems = problems_of(text)
    assert len(problems) == 1
    assert problems[0].startswith(f"x.yaml:{line_of(text, 'Cours de tricot')}: profil `timide` : ")
    assert "`Cours de tricot en ligne` n'est pas un service du standard national" in problems[0]


def test_missing_persona_is_reported() -> None:
    """All seven personas are needed; a missing one is named."""
    text = personas_text({}, tuple(p for p in PERSONA_IDS if p != "melancolique"))
    assert any("il manque le profil `melancolique`" in p and p.startswith("x.yaml:") for p in problems_of(text))


def test_rule_on_unknown_slot_or_value_names_the_line() -> None:
    """A rule on a slot or a value the contract does not define is reported at the rule's line."""
    text = personas_text(
        {
            "timide": '{if: {mood: sad}, weight: 1, reason: "R"}',
            "modere": '{if: {attitude: grumpy}, weight: 1, reason: "R"}',
        }
    )
    problems = problems_of(text)
    assert any(
        p.startswith(f"x.yaml:{line_of(text, 'mood: sad')}:") and "réponse `mood` inconnue" in p for p in problems
    )
    assert any(
        p.startswith(f"x.yaml:{line_of(text, 'attitude: grumpy')}:") and "`grumpy` n'est pas une valeur" in p
        for p in problems
    )


def test_weight_must_be_a_number() -> None:
    """A weight written as text is reported at its line."""
    text = personas_text({"timide": '{if: {attitude: unsure}, weight: "beaucoup", reason: "R"}'})
    problems = problems_of(text)
    assert len(problems) == 1
    assert problems[0].startswith(f"x.yaml:{line_of(text, 'beaucoup')}:")
    assert "`weight` doit être un nombre" in problems[0]


def test_every_problem_is_reported_at_once() -> None:
    """Several mistakes in one file are all reported, not only the first."""
    text = personas_text({}).replace("urgency: low", "urgency: urgent").replace("urgency: none", "urgency: nulle")
    assert len(problems_of(text)) == 2


# ----- the shipped personas file ----------------------------------------------------------------------------


def test_shipped_personas_never_say_senior_and_speak_of_the_relative(personas: Personas) -> None:
    """Titles and messages never use the word "senior"; the relative's message speaks of "votre proche"."""
    assert list(personas.personas) == list(PERSONA_IDS)
    for persona in personas.personas.values():
        parts = [text for wording in persona.message.wordings() for text in wording.variants.values()]
        texts = [persona.title, persona.description, *parts]
        assert all("senior" not in text.casefold() for text in texts), persona.id
        assert "votre proche" in persona.message.said({}).pick("relative").casefold(), persona.id
        assert all(rule.reason.strip() for rule in persona.rules), persona.id


def test_shipped_urgencies_follow_the_study(personas: Personas) -> None:
    """Urgency per persona is the study's: high for the three furthest from digital, none for the most at ease."""
    assert {p.id: p.urgency for p in personas.personas.values()} == URGENCIES
