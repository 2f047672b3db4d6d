"""« je sais pas comment ça s'appelle, … » does not say « je ne sais pas »: the person goes on to describe what
they have, which is read (and « s'appelle » is no phone call). And a joke is not taken at its word."""

from __future__ import annotations

from bot.app.root import LoadedFlow
from bot.core.slots import UNKNOWN
from tests.understanding.test_reader import RELATIVE, SELF, read


def test_not_knowing_the_name_is_not_i_do_not_know(loaded: LoadedFlow) -> None:
    level, values = read(loaded, "appareils", "je sais pas le nom, un ordinateur portable")
    assert (level, values) == ("sure", {"computer"})
    for text in ("je ne sais pas comment ça s'appelle, un truc avec un écran qu'on touche",
                 "elle sait pas comment ca s appelle"):  # fmt: skip
        level, values = read(loaded, "appareils", text, RELATIVE)
        assert level != "sure", (text, values)
        assert UNKNOWN not in values, (text, values)
        assert "basic_phone" not in values or level != "sure", (text, values)


def test_not_knowing_still_is_i_do_not_know(loaded: LoadedFlow) -> None:
    assert read(loaded, "appareils", "je sais pas ce qu'elle a", RELATIVE) == ("sure", {UNKNOWN})
    assert read(loaded, "connexion", "je ne sais pas si elle a le wifi", SELF)[1] == {UNKNOWN}


def test_a_joke_is_asked_back_never_taken(loaded: LoadedFlow) -> None:
    """« le frein à main lol », « pour ma pomme mdr »: laughing, the words may not be meant; whatever they are read
    as is asked back. A friendly « :) » is no joke."""
    assert read(loaded, "freins", "le frein à main lol")[0] != "sure"
    level, values = read(loaded, "pour_qui", "pour ma pomme mdr 😂")
    assert level != "sure", values
    assert read(loaded, "pour_qui", "pour moi :)") == ("sure", {"self"})


def test_not_knowing_how_it_works_is_the_skill_answer(loaded: LoadedFlow) -> None:
    """To « are you at ease », « il sait pas comment ça marche » is the lowest level, not « je ne sais pas »; to
    another question it still is « je ne sais pas »."""
    assert read(loaded, "aisance", "il sait pas comment ca marche", RELATIVE)[1] == {"none"}
    assert read(loaded, "aisance", "je sais pas trop", SELF)[1] == {UNKNOWN}
    assert read(loaded, "connexion", "je sais pas comment ça marche, le wifi", SELF)[1] == {UNKNOWN}
