"""Understanding typed answers: normalising, matching buttons, and validating postcodes, places and phones."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app.root import LoadedFlow
from bot.core.slots import UNKNOWN
from bot.core.text import (
    MAX_INPUT,
    normalise,
    parse_coordinates,
    parse_free_text,
    parse_location,
    parse_phone,
    parse_postcode,
)
from bot.understanding.matching import Candidate, build_candidates, match_one
from bot.understanding.question import Context, question_of
from bot.understanding.reader import understand


def candidates(loaded: LoadedFlow, step_id: str) -> tuple[list[Candidate], list[str], bool]:
    """The names of a shipped question's buttons (labels, synonyms, "Je ne sais pas"), in button order."""
    step = loaded.flow.steps[step_id]
    options: list[tuple[str, list[str]]] = [(c.value, [*c.label.variants.values(), *c.synonyms]) for c in step.choices]
    order = [c.value for c in step.choices]
    if step.allow_unknown:
        options.append((UNKNOWN, list(loaded.flow.messages["unknown_label"].variants.values())))
        order.append(UNKNOWN)
    return build_candidates(options), order, step.allow_unknown


def one(loaded: LoadedFlow, step_id: str, text: str) -> str | None:
    """The value the conversation takes for this typed answer (a sure reading), or None."""
    unknown = list(loaded.flow.messages["unknown_label"].variants.values())
    found = understand(text, question_of(loaded.flow.steps[step_id], unknown), Context(year=2026))
    return found.values[0] if found.sure and len(found.values) == 1 else None


def many(loaded: LoadedFlow, step_id: str, text: str) -> list[str] | None:
    unknown = list(loaded.flow.messages["unknown_label"].variants.values())
    found = understand(text, question_of(loaded.flow.steps[step_id], unknown), Context(year=2026))
    return list(found.values) if found.sure else None


# ----- normalise -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Ouais !! Ça  VA  ", "ouais ca va"),
        ("Éléphant—à l'école", "elephant a l ecole"),
        ("JE NE SAIS PAS", "je ne sais pas"),
        ("Tous-les-jours", "tous les jours"),
        ("🙂🙂🙂", ""),
        ("\x00\x07\t\n", ""),
        ("", ""),
    ],
)
def test_normalise_lowercases_strips_accents_punctuation_and_spaces(text: str, expected: str) -> None:
    """normalise() gives lower case, no accents, no punctuation, single spaces."""
    assert normalise(text) == expected


def test_normalise_cuts_very_long_input() -> None:
    """A page of text is cut before matching, so matching cost stays bounded."""
    assert len(normalise("a" * 10_000)) == MAX_INPUT


# ----- match_one -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step_id", "text", "expected"),
    [
        # accents, case and punctuation
        ("connexion", "ouais", "yes"),
        ("connexion", "OUAIS", "yes"),
        ("frequence", "Jamais!!", "never"),
        ("frequence", "Chaque SEMAINE", "weekly"),
        ("aisance", "Je me débrouille", "intermediate"),
        ("aisance", "je me debrouille", "intermediate"),
        ("attitude", "J'adore ça", "passionate"),
        # typos
        ("frequence", "tous les jour", "daily"),
        ("frequence", "chaque semainne", "weekly"),
        ("appareils", "ordinatuer", "computer"),
        ("appareils", "smarphone", "smartphone"),
        ("aisance", "a laise", "advanced"),
        # synonyms, per question
        ("frequence", "pas trop", "rarely"),
        ("aisance", "bof", "basic"),
        ("aisance", "pas trop", "basic"),
        ("attitude", "bof", "indifferent"),
        ("attitude", "pourquoi pas", "curious"),
        ("pour_qui", "ma mère", "relative"),
        ("pour_qui", "Pour moi !", "self"),
        ("connexion", "ouaip", "yes"),
        ("mobilite", "compliqué", "difficult"),
        # "I don't know" in its usual forms
        ("frequence", "je sais pas", UNKNOWN),
        ("frequence", "Je ne sais pas", UNKNOWN),
        ("attitude", "aucune idée", UNKNOWN),
        ("age", "jsp", UNKNOWN),
    ],
)
def test_match_one_understands_how_people_type(loaded: LoadedFlow, step_id: str, text: str, expected: str) -> None:
    """Free text picks the right button despite accents, case, punctuation, typos, and through synonyms."""
    assert one(loaded, step_id, text) == expected


@pytest.mark.parametrize(
    ("step_id", "text", "expected"),
    [
        ("appareils", "ce message arrive pendant que le robot est arrêté", None),
        ("appareils", "il fait beau aujourd'hui", None),
        ("appareils", "j'ai juste un téléphone fixe à la maison", "none"),
        ("appareils", "j'ai un smartphone depuis noël", "smartphone"),
        ("frequence", "tous les jourss", "daily"),
    ],
)
def test_a_long_sentence_matches_only_by_a_word_it_contains(
    loaded: LoadedFlow, step_id: str, text: str, expected: str | None
) -> None:
    """A long sentence that merely resembles a short button name in places ("…que le robot est arrêté" and
    "juste le fixe") is not read as that button; one containing a button's word (typo included) still is."""
    assert one(loaded, step_id, text) == expected


def test_for_whom_does_not_accept_i_dont_know(loaded: LoadedFlow) -> None:
    """for_whom has no "Je ne sais pas" (CONTRACT): the phrase matches nothing there."""
    assert one(loaded, "pour_qui", "je sais pas") is None


@pytest.mark.parametrize(
    ("step_id", "text", "expected"),
    [
        ("frequence", "1", "never"),
        ("frequence", "2", "rarely"),
        ("frequence", "4", "daily"),
        ("frequence", "5", UNKNOWN),  # the fifth button is "Je ne sais pas"
        ("frequence", " 3 ", "weekly"),
        ("pour_qui", "2", "relative"),
        ("frequence", "0", None),
        ("frequence", "6", None),
        ("pour_qui", "3", None),
        ("frequence", "99999999999999999999", None),
    ],
)
def test_numbers_pick_buttons_in_order(loaded: LoadedFlow, step_id: str, text: str, expected: str | None) -> None:
    """Typing a number picks the button at that position (1-based); out of range matches nothing."""
    assert one(loaded, step_id, text) == expected


def test_ambiguity_returns_none() -> None:
    """When two buttons fit the text equally well, nothing is picked: better ask again than guess."""
    found = build_candidates([("a", ["cours du matin"]), ("b", ["cours du soir"])])
    assert match_one("cours du", found, ["a", "b"], allow_unknown=False) is None
    assert match_one("cours du matin", found, ["a", "b"], allow_unknown=False) == "a"


def test_contradictory_answer_is_not_guessed(loaded: LoadedFlow) -> None:
    """ "oui et non" to a frequency question says nothing: nothing is picked; « oui mais pas souvent » says how
    often (« oui » alone does not)."""
    assert one(loaded, "frequence", "oui et non") is None
    assert one(loaded, "frequence", "oui") is None
    assert one(loaded, "frequence", "oui mais pas souvent") == "rarely"


def test_contradictory_yes_no_on_a_yes_no_question(loaded: LoadedFlow) -> None:
    """ "oui et non" to a yes/no question is asked again, not recorded as yes."""
    assert one(loaded, "connexion", "oui et non") is None


@pytest.mark.parametrize(
    ("step_id", "text"),
    [
        ("appareils", "pas de smartphone"),
        ("appareils", "je n'ai pas d'ordinateur"),
        ("frequence", "pas tous les jours"),
    ],
)
def test_a_negated_answer_is_not_taken_for_its_opposite(loaded: LoadedFlow, step_id: str, text: str) -> None:
    """Text that resembles a button but negates it ("pas de smartphone") is asked again, not recorded."""
    assert one(loaded, step_id, text) is None


@pytest.mark.parametrize("text", ["", "   ", "a", "xx", "zz", "!!!", "?", "qsdfqsdf", "🙂", "\x00\x07"])
def test_short_garbage_matches_nothing(loaded: LoadedFlow, text: str) -> None:
    """Very short or meaningless text never picks a button."""
    for step_id in ("pour_qui", "frequence", "attitude", "appareils"):
        assert one(loaded, step_id, text) is None, (step_id, text)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=80))
def test_match_one_returns_a_button_value_or_none(loaded: LoadedFlow, text: str) -> None:
    """Whatever the text, match_one answers with one of the question's values or None, never an error."""
    found, order, allow_unknown = candidates(loaded, "attitude")
    assert match_one(text, found, order, allow_unknown) in {*order, None}


# ----- match_many ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step_id", "text", "expected"),
    [
        ("appareils", "smartphone et tablette", ["smartphone", "tablet"]),
        ("appareils", "1, 3", ["none", "smartphone"]),
        ("appareils", "2,3", ["basic_phone", "smartphone"]),
        ("appareils", "smartphone, ordi", ["smartphone", "computer"]),
        ("appareils", "tablette + pc", ["tablet", "computer"]),  # was only the tablet: the whole was fuzzy-matched
        ("appareils", "Une tablette", ["tablet"]),
        ("appareils", "rien", ["none"]),
        ("envies", "famille et impôts", ["family_contact", "admin_procedures"]),
        ("envies", "1 ; 4", ["family_contact", "admin_procedures"]),
        # a label that itself holds commas is one answer, not three
        ("envies", "La vie de tous les jours (santé, courses, transports)", ["daily_life"]),
        ("freins", "Lire ou écrire en français", ["language"]),
        ("freins", "le temps et l'argent", ["time", "money"]),
    ],
)
def test_match_many_reads_several_values(loaded: LoadedFlow, step_id: str, text: str, expected: list[str]) -> None:
    """A typed answer to a several-choice question gives every value it names, in the order typed."""
    assert many(loaded, step_id, text) == expected


@pytest.mark.parametrize("text", ["3 et 9", "", "zz, qq", "xx et yy"])
def test_match_many_rejects_what_it_cannot_read_entirely(loaded: LoadedFlow, text: str) -> None:
    """A list with a part that names no button is not half-accepted."""
    assert many(loaded, "appareils", text) is None


# ----- postcodes and places --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("69003", "69003"),
        ("69 003", "69003"),
        (" 75001 ", "75001"),
        ("01000", "01000"),
        ("97200", "97200"),  # Fort-de-France: overseas departments start with 97
        ("00000", None),
        ("99000", None),
        ("6900", None),
        ("690033", None),
        ("2A000", None),
        ("abcde", None),
        ("", None),
    ],
)
def test_parse_postcode(text: str, expected: str | None) -> None:
    """A French postcode is five digits (a space after the department tolerated), department 01 to 98."""
    assert parse_postcode(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("69003", "69003"),
        ("69 003", "69003"),
        ("Lyon 69003", "69003"),
        ("75 001 Paris", "75001"),
        ("St-Étienne", "St-Étienne"),
        ("Saint-Étienne", "Saint-Étienne"),
        ("l'Isle-sur-la-Sorgue", "l'Isle-sur-la-Sorgue"),
        ("  Saint   Malo ", "Saint Malo"),
        ("DROP TABLE x;", None),
        ("'; DROP TABLE conversations; --", None),
        ("00000", None),
        ("<b>Paris</b>", None),
        ("x", None),
        ("12", None),
        ("🙂", None),
        ("", None),
        ("a" * 61, None),
    ],
)
def test_parse_location(text: str, expected: str | None) -> None:
    """A place is a postcode (also found inside text) or a commune-like name; code and markup are refused."""
    assert parse_location(text) == expected


def test_parse_coordinates() -> None:
    """A shared position is kept as "lat,lon" with 5 decimals; impossible or missing coordinates are refused."""
    assert parse_coordinates(45.764043, 4.835659) == "45.76404,4.83566"
    assert parse_coordinates(91.0, 0.0) is None
    assert parse_coordinates(0.0, 181.0) is None
    assert parse_coordinates(None, 4.8) is None


def test_parse_free_text() -> None:
    """Free text is kept trimmed and bounded; text without a letter or digit is refused."""
    assert parse_free_text("  deux   mots ") == "deux mots"
    assert parse_free_text("!!! ???") is None
    assert parse_free_text("a" * 500) == "a" * 200


# ----- phone numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("0612345678", "+33612345678"),
        ("06.12.34.56.78", "+33612345678"),
        ("06-12-34-56-78", "+33612345678"),
        ("07 81 23 45 67", "+33781234567"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("+33612345678", "+33612345678"),
        ("+33 (0)6 12 34 56 78", "+33612345678"),
        ("0033 6 12 34 56 78", "+33612345678"),
        ("01 42 68 53 00", "+33142685300"),  # landline, Paris
        ("04 78 00 00 00", "+33478000000"),  # landline, Lyon
        ("0696 12 34 56", "+596696123456"),  # Martinique mobile
        ("0262 12 34 56", "+262262123456"),  # La Réunion landline
        ("0692 12 34 56", "+262692123456"),  # La Réunion mobile
        ("0590 12 34 56", "+590590123456"),  # Guadeloupe landline
        ("0594 29 12 34", "+594594291234"),  # Guyane landline
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_parse_phone_accepts_french_and_overseas_numbers(text: str, expected: str) -> None:
    """Phone numbers as people write them come out in E.164, overseas departments included."""
    assert parse_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "12",
        "12345",
        "06 12",
        "06 12 34 56",
        "0612345",  # was accepted as a Saint-Pierre-et-Miquelon number
        "061234567",
        "06 12 34 56 78 99",
        "0590 12 34 5",
        "+33 6 12",
        "+99 123 456 789",
        "3615",
    ],
)
def test_parse_phone_refuses_invalid_or_short_numbers(text: str) -> None:
    """A number too short, too long or impossible is refused (None), so nobody calls a wrong number."""
    assert parse_phone(text) is None
