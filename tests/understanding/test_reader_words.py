"""How a word is written changes which word it is, and a number may be out of every button's reach: set phrases of
common words said inside a longer answer (« sans plus »), a final « é » (« retraités » is not « retraite »), ages
« pas encore 60 », hours later than any button, and « pas avant 10h »."""

from __future__ import annotations

import pytest

from bot.app.root import LoadedFlow
from bot.understanding.analysis import read as analysis_read
from bot.understanding.question import phase_question
from bot.understanding.reader import understand
from bot.understanding.similarity import other_word
from tests.understanding.test_reader import RELATIVE, SELF, question


@pytest.mark.parametrize(
    "text",
    [
        "c'est bien, sans plus",
        "pour les papiers c'est pratique, sans plus",
        "ça rend service sans plus",
    ],
)
def test_a_set_phrase_of_common_words_counts_inside_a_longer_answer(loaded: LoadedFlow, text: str) -> None:
    """« sans plus » alone is « C'est utile, sans plus »; said at the end of a sentence it still is, not another
    button carried by « bien »."""
    found = understand(text, question(loaded, "attitude"), SELF)
    assert found.values == ("pragmatic",), found
    assert found.level != "none", found


def test_a_set_phrase_is_not_found_across_a_negation(loaded: LoadedFlow) -> None:
    """« ça va pas » does not hold « ça va »: the negation rules the set phrase out."""
    found = understand("ça va pas du tout avec internet", question(loaded, "aisance"), SELF)
    assert found.values != ("intermediate",) or not found.sure, found


@pytest.mark.parametrize(
    ("typed", "named", "accented", "other"),
    [
        ("retraités", "retraite", True, True),  # people retired, not the pension
        ("âgée", "âge", True, True),
        ("marché", "marche", False, True),  # « marche » is a French word: even in a list written without accents
        ("actualité", "actualite", False, False),  # « actualite » is no word: « actualité » typed without accents
        ("attirée", "attire", True, False),  # the same verb: « attirer »
        ("retraite", "retraité", True, False),  # typed without accents: both stay possible
    ],
)
def test_a_final_accent_makes_another_word(typed: str, named: str, accented: bool, other: bool) -> None:
    (typed_term,) = [t for t in analysis_read(f"les {typed}").terms if t.word == typed]
    (named_term,) = [t for t in analysis_read(f"les {named}").terms if t.word == named]
    assert other_word(typed_term, named_term, accented) is other


def test_retired_people_are_not_the_pension(loaded: LoadedFlow) -> None:
    """« transmettre … aux autres retraités » is helping others, not the pension's procedures."""
    found = understand("je voudrais montrer aux autres retraités ce que je sais", question(loaded, "envies"), SELF)
    assert "admin_procedures" not in found.values, found


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("j'ai pas encore 60 ans", "under_60"),
        ("elle a pas tout à fait 80 ans", "70_79"),
        ("il n'a pas encore 70 ans mais presque", "60_69"),
    ],
)
def test_not_yet_an_age_is_below_it(loaded: LoadedFlow, text: str, value: str) -> None:
    found = understand(text, question(loaded, "age"), RELATIVE)
    assert found.values == (value,), found


@pytest.mark.parametrize("text", ["le soir après 19h", "vers 20h30", "à 21 heures si possible"])
def test_an_hour_later_than_every_moment_is_not_taken(loaded: LoadedFlow, text: str) -> None:
    """The buttons are the morning and the afternoon: an evening hour is not read as the afternoon (the buttons are
    shown again)."""
    found = understand(text, phase_question(loaded.flow.steps["rappel"], "moment"), SELF)
    assert not found.sure, found


@pytest.mark.parametrize("text", ["pas avant 10h", "pas après 11h s'il vous plaît"])
def test_not_before_an_hour_is_not_that_hours_moment_for_sure(loaded: LoadedFlow, text: str) -> None:
    """« pas avant 10h » may be late morning or the afternoon: never taken as the morning outright."""
    found = understand(text, phase_question(loaded.flow.steps["rappel"], "moment"), SELF)
    assert not found.sure, found


def test_an_age_beyond_every_band_is_not_taken(loaded: LoadedFlow) -> None:
    assert understand("j'ai 130 ans", question(loaded, "age"), SELF).level == "none"


@pytest.mark.parametrize(
    ("step", "text", "value"),
    [
        ("entourage", "il refuse qu'on l'aide", "yes"),  # what is refused is not there: never « oui »
        ("appareils", "elle a refusé la tablette que je lui ai offerte", "tablet"),
    ],
)
def test_what_is_refused_is_not_had(loaded: LoadedFlow, step: str, text: str, value: str) -> None:
    found = understand(text, question(loaded, step), RELATIVE)
    assert value not in found.values, found


def test_not_refusing_is_not_a_refusal(loaded: LoadedFlow) -> None:
    """« il ne refuse pas qu'on l'aide »: two negations over « aide »; not read as nobody helping."""
    found = understand("il ne refuse pas qu'on l'aide", question(loaded, "entourage"), RELATIVE)
    assert found.values != ("no",), found


@pytest.mark.parametrize(
    ("step", "text"),
    [
        ("frequence", "ça dépend des semaines"),
        ("frequence", "bah ça dépend, des fois tous les jours"),
        ("aisance", "selon les jours, je me débrouille"),
    ],
)
def test_an_answer_that_varies_is_asked_back(loaded: LoadedFlow, step: str, text: str) -> None:
    """« ça dépend … »: whatever it names after, the answer is not taken without asking."""
    assert not understand(text, question(loaded, step), SELF).sure


@pytest.mark.parametrize("text", ["y'a le wifi de la voisine", "on capte le wifi du voisin"])
def test_someone_elses_internet_is_asked_back(loaded: LoadedFlow, text: str) -> None:
    """Internet at home? The neighbour's wifi may or may not count: asked, never taken as « oui »."""
    found = understand(text, question(loaded, "connexion"), SELF)
    assert not found.sure, found


@pytest.mark.parametrize(("text", "value"), [("négatif", "no"), ("affirmatif", "yes")])
def test_radio_yes_and_no(loaded: LoadedFlow, text: str, value: str) -> None:
    found = understand(text, question(loaded, "connexion"), SELF)
    assert found.values == (value,), found
    assert found.sure, found


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("rien, sauf la vue", "health"),
        ("rien à part le prix", "money"),
        ("aucun sauf le manque de temps", "time"),
    ],
)
def test_nothing_but_is_only_what_follows(loaded: LoadedFlow, text: str, value: str) -> None:
    """« rien, sauf la vue » names the eyes, never « Rien de particulier »."""
    found = understand(text, question(loaded, "freins"), SELF)
    assert found.values == (value,), found


def test_nobody_but_someone_is_someone(loaded: LoadedFlow) -> None:
    found = understand("personne à part ma fille", question(loaded, "entourage"), SELF)
    assert found.values == ("yes",), found


@pytest.mark.parametrize("text", ["rien, ça va", "aucun, j'ai tout ce qu'il faut"])
def test_nothing_first_then_why_to_a_several_choice_question(loaded: LoadedFlow, text: str) -> None:
    """« rien, ça va »: the button that stands alone (« Rien de particulier ») said first, then why."""
    found = understand(text, question(loaded, "freins"), SELF)
    assert found.values == ("none",), found


def test_two_answers_one_said_after_plutot(loaded: LoadedFlow) -> None:
    """« il n'est pas contre, il est même plutôt curieux »: not « oui et non », the one after « plutôt »."""
    found = understand("il n'est pas contre, il est même plutôt curieux", question(loaded, "attitude"), RELATIVE)
    assert found.values == ("curious",), found


@pytest.mark.parametrize(
    ("step", "text"),
    [
        ("attitude", "j'ai envie d'apprendre mais j'ose pas"),
        ("mobilite", "je marche bien mais je ne conduis plus"),
    ],
)
def test_an_answer_turned_by_mais_and_a_negation_is_asked_back(loaded: LoadedFlow, step: str, text: str) -> None:
    assert not understand(text, question(loaded, step), SELF).sure


@pytest.mark.parametrize(
    ("step", "text", "value"),
    [
        ("appareils", "jsp ce qu'il a exactement, un ordinateur je crois", "computer"),
        ("appareils", "je sais pas trop, une tablette peut-être", "tablet"),
        ("connexion", "je sais pas si elle a le wifi, je crois que oui", "yes"),
    ],
)
def test_not_knowing_then_a_guess_is_asked_back(loaded: LoadedFlow, step: str, text: str, value: str) -> None:
    """« je ne sais pas …, X je crois »: neither « je ne sais pas » nor X for sure: X is asked back."""
    found = understand(text, question(loaded, step), RELATIVE)
    assert found.values == (value,), found
    assert found.level == "doubt", found
