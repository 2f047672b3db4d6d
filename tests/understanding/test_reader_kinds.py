"""Words of one kind are different answers (« semaine » is not « jour »), « rien » after a verb of perceiving is
no « nothing » answered (« je n'y vois plus rien »), and « nothing » said beside something is asked back."""

from __future__ import annotations

import pytest

from bot.app.root import LoadedFlow
from bot.understanding.analysis import read
from bot.understanding.question import phase_question
from bot.understanding.reader import understand
from bot.understanding.similarity import similarity
from tests.understanding.test_reader import RELATIVE, SELF, question


@pytest.mark.parametrize(
    ("one", "other"),
    [("semaines", "jours"), ("mois", "semaines"), ("soir", "matin"), ("lundi", "mardi"), ("mars", "avril")],
)
def test_two_words_of_one_kind_are_not_related(one: str, other: str) -> None:
    """Word vectors find a week close to a day: as answers they are as different as two numbers."""
    (a,) = read(one).terms
    (b,) = read(other).terms
    assert similarity(a, b, persons=False) == 0.0
    assert similarity(a, a, persons=False) == 1.0


@pytest.mark.parametrize(
    ("text", "value", "context"),
    [
        ("je m'y mets toutes les semaines", "weekly", SELF),
        ("il regarde ses mails chaque semaine", "weekly", RELATIVE),
        ("tous les jours ou presque", "daily", SELF),
    ],
)
def test_a_week_is_not_a_day(loaded: LoadedFlow, text: str, value: str, context: object) -> None:
    found = understand(text, question(loaded, "frequence"), context)  # type: ignore[arg-type]
    assert found.values == (value,), found
    assert found.level != "none", found


@pytest.mark.parametrize(
    "text",
    [
        "je n'y vois plus rien",
        "il n'entend plus rien du tout",
        "elle ne comprend rien à ces machins",
        "j'y comprends rien",
    ],
)
def test_nothing_perceived_is_not_nothing_holding_back(loaded: LoadedFlow, text: str) -> None:
    """« je n'y vois plus rien » is about the eyes, not « Rien de particulier »."""
    found = understand(text, question(loaded, "freins"), SELF)
    assert "none" not in found.values, found


@pytest.mark.parametrize("text", ["rien", "il n'y a rien", "je ne vois rien qui me gêne", "non rien de spécial"])
def test_nothing_said_as_the_answer_still_is(loaded: LoadedFlow, text: str) -> None:
    found = understand(text, question(loaded, "freins"), SELF)
    assert found.values == ("none",), found
    assert found.sure, found


@pytest.mark.parametrize(
    ("step", "text"),
    [
        ("freins", "rien de spécial, enfin si, le prix peut-être"),
        ("freins", "aucun problème, c'est juste trop cher"),
        ("envies", "rien de particulier, peut-être les photos"),
    ],
)
def test_nothing_said_beside_something_is_asked_back(loaded: LoadedFlow, step: str, text: str) -> None:
    """« Rien » and a button named in one answer contradict each other: which one is meant is asked, never
    taken for sure (the button named is the guess offered)."""
    found = understand(text, question(loaded, step), SELF)
    assert found.level == "doubt", found
    assert "none" not in found.values, found


@pytest.mark.parametrize(
    ("step", "text"),
    [
        ("attitude", "des fois ça me plaît, des fois ça m'énerve"),
        ("attitude", "parfois j'aime bien, parfois je déteste"),
        ("freins", "non aucun... enfin si, le prix"),
        ("entourage", "peut-être ma belle-fille, je ne sais pas"),
        ("entourage", "euh peut-être le voisin"),
    ],
)
def test_an_answer_that_alternates_corrects_itself_or_hedges_is_asked_back(
    loaded: LoadedFlow, step: str, text: str
) -> None:
    """« des fois …, des fois … », « … enfin si, … », « peut-être … »: never taken for sure."""
    found = understand(text, question(loaded, step), SELF)
    assert not found.sure, found


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("ma sœur", "yes"),  # typed « œ » (a phone's keyboard) is « oe »
        ("son aide ménagère ne sait pas s'en servir non plus", None),
        ("c'est compliqué avec mes enfants", None),
        ("mes enfants sont trop occupés", None),
        ("mon fils vient le dimanche", "yes"),
    ],
)
def test_people_named_with_a_negation_or_a_judgement_are_asked_back(
    loaded: LoadedFlow, text: str, value: str | None
) -> None:
    """Someone named to « Quelqu'un peut-il vous aider ? » is a yes; named with « ne … pas » or « compliqué »
    beside them, whether they help is asked back."""
    found = understand(text, question(loaded, "entourage"), SELF)
    if value is None:
        assert not found.sure, found
    else:
        assert (found.values, found.sure) == ((value,), True), found


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("ma mère directement, elle est plus patiente que moi", "person"),
        ("moi, je suis plus disponible qu'elle", "relative"),
        ("appelez-moi plutôt qu'elle", "relative"),
    ],
)
def test_who_is_compared_is_not_who_is_meant(loaded: LoadedFlow, text: str, value: str) -> None:
    found = understand(text, phase_question(loaded.flow.steps["rappel"], "who"), RELATIVE)
    assert found.values == (value,), found


@pytest.mark.parametrize("text", ["elle a 68 ou 72, je sais plus", "il a 79 ou 81 ans"])
def test_two_ages_in_two_bands_are_asked_with_the_buttons(loaded: LoadedFlow, text: str) -> None:
    found = understand(text, question(loaded, "age"), RELATIVE)
    assert found.level == "none", found


def test_a_set_phrase_needs_its_small_words(loaded: LoadedFlow) -> None:
    """« hors de question » is a refusal; « quelle question ! » holds « question » only: not a refusal."""
    assert understand("c'est hors de question", question(loaded, "attitude"), SELF).values == ("refuses",)
    assert not understand("quelle question !", question(loaded, "attitude"), SELF).sure


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("il a un smartphone et un vieil ordi de bureau", ("smartphone", "computer")),
        ("un ordinateur portable et un smartphone", ("computer", "smartphone")),
    ],
)
def test_a_word_only_related_to_a_button_does_not_hide_another(
    loaded: LoadedFlow, text: str, values: tuple[str, ...]
) -> None:
    """« ordinateur portable » is close to « smartphone » by meaning: it does not take the smartphone named
    beside the computer away."""
    found = understand(text, question(loaded, "appareils"), RELATIVE)
    assert set(found.values) == set(values), found


@pytest.mark.parametrize(
    ("step", "text"),
    [("connexion", "je sais pas ce que c'est une box"), ("frequence", "il ne sait même pas ce que c'est")],
)
def test_not_knowing_what_a_thing_is_is_asked_with_the_buttons(loaded: LoadedFlow, step: str, text: str) -> None:
    """Neither « Je ne sais pas » nor the thing named: the buttons show what each answer means."""
    assert understand(text, question(loaded, step), RELATIVE).level == "none"
