"""Where words stand changes what they say: the moment said after « plutôt » is the one preferred (the other may be
busy), and « pas vraiment, … » said first to a yes-or-no question is « non », then why."""

from __future__ import annotations

import pytest

from bot.app.root import LoadedFlow
from bot.tools.confusions import left_out
from bot.understanding.analysis import read as analysis_read
from bot.understanding.question import phase_question
from bot.understanding.reader import understand
from tests.understanding.test_reader import RELATIVE, SELF, question, read


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("l'après-midi elle fait la sieste, plutôt le matin", "morning"),
        ("le matin je suis au marché, plutôt l'après-midi", "afternoon"),
        ("plutôt l'après-midi, le matin j'ai le kiné", "afternoon"),
    ],
)
def test_the_moment_said_after_plutot_is_the_one_preferred(loaded: LoadedFlow, text: str, value: str) -> None:
    """Both moments named, one busy: the one after « plutôt » is taken, whatever the order of the rest."""
    found = understand(text, phase_question(loaded.flow.steps["rappel"], "moment"), SELF)
    assert found.values == (value,), found
    assert found.level == "sure", found


def test_mirror_sentences_are_told_apart_without_their_own_example(loaded: LoadedFlow) -> None:
    """The same words in another order (« l'aprem je dors, plutôt le matin » / « elle dort le matin, plutôt
    l'après-midi ») mean opposite moments: each, left out of the flow, is still read as its own."""
    step = loaded.flow.steps["rappel"]
    moment = phase_question(step, "moment")
    for text, value in (
        ("l'aprem je dors, plutôt le matin", "morning"),
        ("je dors le matin, plutôt l'aprem", "afternoon"),
    ):
        index = moment.values.index(value)
        found = understand(text, left_out(moment, index, text), SELF)
        assert found.values == (value,), (text, found)


def test_busy_with_plutot_in_the_same_clause_is_still_busy(loaded: LoadedFlow) -> None:
    """« je travaille plutôt le matin »: the morning is taken by work, never taken as the moment to call."""
    found = understand("je travaille plutôt le matin", phase_question(loaded.flow.steps["rappel"], "moment"), SELF)
    assert found.values != ("morning",) or not found.sure, found


@pytest.mark.parametrize(
    ("step", "text", "level"),
    [
        ("entourage", "pas vraiment", "sure"),
        ("entourage", "pas trop, sa fille habite à Lyon", "doubt"),
        ("connexion", "pas vraiment, juste son portable", "doubt"),
    ],
)
def test_pas_vraiment_first_is_no(loaded: LoadedFlow, step: str, text: str, level: str) -> None:
    """« pas vraiment » alone is « non »; followed by why, « non » is asked back (the reason may say more)."""
    assert read(loaded, step, text, RELATIVE) == (level, {"no"})


def test_pas_vraiment_mais_leaves_the_rest_to_decide(loaded: LoadedFlow) -> None:
    """« pas vraiment, mais sa voisine passe souvent »: the « mais » turns it; never a sure « non »."""
    assert read(loaded, "entourage", "pas vraiment, mais sa voisine passe souvent", RELATIVE) != ("sure", {"no"})


@pytest.mark.parametrize(
    ("text", "value"),
    [("le mieux c'est elle", "person"), ("le mieux c'est lui", "person"), ("le mieux c'est moi", "relative")],
)
def test_moi_and_elle_are_opposites_where_the_question_is_who(loaded: LoadedFlow, text: str, value: str) -> None:
    """To « who should be called », « le mieux c'est lui » is not « moi c'est mieux » with one word changed: the
    pronoun is the answer, the rest of the words are shared."""
    found = understand(text, phase_question(loaded.flow.steps["rappel"], "who"), RELATIVE)
    assert found.values == (value,), found
    assert found.level != "none", found


@pytest.mark.parametrize(
    ("step", "text", "value"),
    [
        ("aisance", "à l'aise ? pas du tout, je suis perdue", "none"),
        ("aisance", "à l'aise ? moi ? pas vraiment, je fais juste les mails", "basic"),
        ("frequence", "internet ? jamais de la vie", "never"),
    ],
)
def test_the_question_said_back_then_the_answer(loaded: LoadedFlow, step: str, text: str, value: str) -> None:
    """« à l'aise ? … »: the words of the question, repeated with a question mark, are not the answer; what follows
    is (« à l'aise » alone would be the top level)."""
    level, values = read(loaded, step, text, SELF)
    assert values == {value}, (text, values)
    assert level != "none"


def test_cest_pas_de_is_no_denial(loaded: LoadedFlow) -> None:
    """« c'est pas de mon âge tout ça » says no, as « pas de mon âge » does; it does not say what something is not
    (as « c'est pas l'argent, c'est la vue » does), whatever the parse makes of « tout ça »."""
    assert read(loaded, "attitude", "c'est pas de mon âge tout ça", SELF) == ("sure", {"refuses"})
    assert read(loaded, "freins", "c'est pas l'argent, c'est la vue", SELF)[1] == {"health"}


@pytest.mark.parametrize("text", ["vous n'avez pas autre chose ?", "il y en a pas d'autres ?"])
def test_asking_whether_there_are_others_is_asking_for_more(loaded: LoadedFlow, text: str) -> None:
    """« vous n'avez pas autre chose ? » asks for other places; its « pas » says nothing is refused. A question, it
    is asked back, never taken."""
    assert read(loaded, "proposition", text, SELF) == ("doubt", {"more"})


@pytest.mark.parametrize(
    ("step", "text", "value"),
    [
        ("frequence", "pas du tout, il a meme pas internet", "never"),
        ("mobilite", "c'est difficile, avec ma hanche", "difficult"),
    ],
)
def test_a_buttons_own_words_first_then_why(loaded: LoadedFlow, step: str, text: str, value: str) -> None:
    """« pas du tout, il a même pas internet »: the first words are a button's own; what follows says why."""
    assert read(loaded, step, text, RELATIVE) == ("sure", {value})


def test_own_words_first_but_turned_is_read_whole(loaded: LoadedFlow) -> None:
    """« pas du tout, mais … »: the rest turns it; never taken from the first words alone."""
    level, values = read(loaded, "frequence", "jamais, mais sa fille lui montre les photos le dimanche", RELATIVE)
    assert (level, values) != ("sure", {"never"})


def test_ne_with_its_apostrophe_negates() -> None:
    """« n' » (with its apostrophe) negates where no « pas » follows (« il n'a ni box ni wifi »), and « n'… qu' »
    is « only », wherever the parser hangs the « qu' »."""
    assert {t.word: t.negated for t in analysis_read("il n'a ni box ni wifi").terms} == {
        "a": True,
        "box": True,
        "wifi": True,
    }
    text = "elle n'a qu'un téléphone fixe et ne veut pas entendre parler d'internet"
    negated = {t.word: t.negated for t in analysis_read(text).terms}
    assert negated["téléphone"] is False
    assert negated["internet"] is True


def test_people_named_while_the_other_button_pulls_are_asked_back(loaded: LoadedFlow) -> None:
    """To « is there someone around », « mes enfants sont loin » (its own example left out) names people, but
    what is said of them is the other button's: asked back, never a sure « oui ». « mes enfants m'aident
    beaucoup » stays a sure « oui »."""
    entourage = question(loaded, "entourage")
    text = "mes enfants sont loin"
    found = understand(text, left_out(entourage, entourage.values.index("no"), text), RELATIVE)
    assert (found.level, found.values) != ("sure", ("yes",)), found
    assert read(loaded, "entourage", "mes enfants m'aident beaucoup", RELATIVE) == ("sure", {"yes"})
