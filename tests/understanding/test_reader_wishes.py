"""Reading what people would like to do (the several-choice `envies` question), and words typed without their
hyphen: what someone cannot do is what they wish for; a word one wish already holds is no second wish."""

from __future__ import annotations

import pytest

from bot.app.root import LoadedFlow
from bot.understanding.analysis import read as analysis_read
from tests.understanding.test_reader import RELATIVE, SELF, read


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("elle n'arrive pas à envoyer des photos à sa fille", "family_contact"),
        ("il ne sait pas prendre un rendez vous chez le medecin", "daily_life"),
        ("je ne réussis pas à remplir ma declaration d'impots", "admin_procedures"),
        ("il arrive pas a faire ses impots", "admin_procedures"),
    ],
)
def test_what_cannot_be_done_is_a_wish(loaded: LoadedFlow, text: str, value: str) -> None:
    """« n'arrive pas à », « ne sait pas », « ne réussit pas à » + what: that is what the person would like to
    do; the negation of the inability does not rule the wish out."""
    level, values = read(loaded, "envies", text, RELATIVE)
    assert level != "none", (text, level, values)
    assert values == {value}, (text, values)


def test_not_wanting_is_no_wish_and_inability_stays_negative_elsewhere(loaded: LoadedFlow) -> None:
    """« je ne veux pas faire mes impôts en ligne » is no wish for them; and to the skills question, « je n'arrive
    pas à envoyer un mail » still says little skill, never ease."""
    level, values = read(loaded, "envies", "je ne veux pas faire mes impôts en ligne")
    assert not (level == "sure" and "admin_procedures" in values), (level, values)
    _, values = read(loaded, "aisance", "je n'arrive pas à envoyer un mail", SELF)
    assert values <= {"none", "basic"}, values


def test_a_word_one_wish_holds_is_no_second_wish(loaded: LoadedFlow) -> None:
    """« photos » names keeping in touch (a synonym) and pastimes (in the label): said with the family, it is the
    family's photos, not a second wish; said beside another pastime, it goes with the pastimes as before."""
    _, values = read(loaded, "envies", "partager des photos avec mes enfants sur messenger")
    assert values == {"family_contact"}
    _, values = read(loaded, "envies", "regarder les photos de la famille sur facebook")
    assert values == {"family_contact"}
    _, values = read(loaded, "envies", "les mots croisés et la musique")
    assert values == {"leisure"}


@pytest.mark.parametrize(
    ("typed", "word"),
    [
        ("prendre mes rendez vous medicaux", "rendez-vous"),
        ("ma belle mere", "belle-mere"),
        ("sa grand mere", "grand-mere"),
        ("les e mails", "e-mails"),
    ],
)
def test_a_compound_typed_without_its_hyphen_is_one_word(typed: str, word: str) -> None:
    """« rendez vous » is read as « rendez-vous » (one word, as the flow's examples write it), not « rendez »."""
    words = {t.word.lower() for t in analysis_read(typed).terms}
    assert word in {w.replace("è", "e") for w in words}, words


def test_rendez_vous_without_hyphen_joins_another_wish(loaded: LoadedFlow) -> None:
    """« la caf et mes rendez vous medicaux » names two wishes, the second in words typed without a hyphen."""
    _, values = read(loaded, "envies", "la caf et mes rendez vous medicaux")
    assert values == {"admin_procedures", "daily_life"}


def test_an_adverb_is_its_adjective(loaded: LoadedFlow) -> None:
    """« contraint financièrement » names what « problèmes financiers » names (the adverb's adjective)."""
    level, values = read(loaded, "freins", "je suis contraint financièrement", SELF)
    assert values == {"money"}
    assert level != "none"
