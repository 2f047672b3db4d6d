"""The last resort before « not understood »: a text that shares no word with any button, but means what one of
its phrases means, is asked back (a doubt), never taken; a negated text is left alone."""

from __future__ import annotations

import pytest

from bot.app.root import LoadedFlow
from bot.tools.confusions import left_out
from bot.understanding.nearest import CONFIDENCE
from bot.understanding.question import Question
from bot.understanding.reader import understand
from tests.understanding.test_reader import SELF, question


def without(loaded: LoadedFlow, step: str, value: str, text: str) -> Question:
    """The question with `text` taken out of its button: the text no longer finds itself."""
    asked = question(loaded, step)
    return left_out(asked, asked.values.index(value), text)


@pytest.mark.parametrize(
    ("step", "value", "text"),
    [
        ("connexion", "yes", "la freebox"),
        ("appareils", "computer", "un laptop"),
        ("envies", "admin_procedures", "mes remboursements de sécu"),
        ("frequence", "never", "la tablette reste dans le tiroir"),
    ],
)
def test_other_words_for_a_button_are_asked_back(loaded: LoadedFlow, step: str, value: str, text: str) -> None:
    """Without its own example, « la freebox » shares no word with the buttons; its meaning is closest to « une
    box » (yes): asked back, as a doubt, never taken."""
    found = understand(text, without(loaded, step, value, text), SELF)
    assert found.level == "doubt", found
    assert found.values == (value,)
    assert found.confidence == CONFIDENCE


def test_a_negated_text_or_one_meaning_nothing_close_is_not_guessed(loaded: LoadedFlow) -> None:
    """A sum of word vectors loses negation: « je n'ai pas la freebox » is not asked back as « yes »; a text
    meaning nothing close to any button stays not understood."""
    asked = without(loaded, "connexion", "yes", "la freebox")
    found = understand("je n'ai pas la freebox", asked, SELF)
    assert found.values != ("yes",) or found.confidence != CONFIDENCE, found
    assert understand("la tour eiffel", question(loaded, "aisance"), SELF).level == "none"


def test_a_word_the_model_does_not_know_stops_the_guess(loaded: LoadedFlow) -> None:
    """« zorglub mon numéro … »: part of its meaning is unknown; « numéro » alone would make a guess
    (« trouver un numéro de téléphone »): nothing is asked back."""
    found = understand("zorglub mon numéro 06 12 34 56 78", question(loaded, "envies"), SELF)
    assert found.confidence != CONFIDENCE, found
    assert found.level == "none", found
