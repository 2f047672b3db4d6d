"""Reading typed French against the shipped flow's questions: relatives' phrasings, negation, phone spellings,
ages, several answers, doubt, and answers a first message gives to several questions at once."""

from __future__ import annotations

import pytest

from bot.app.root import LoadedFlow
from bot.core.slots import UNKNOWN
from bot.understanding.analysis import read as analysis_read
from bot.understanding.question import Context, Question, phase_question, question_of
from bot.understanding.reader import spot, understand

RELATIVE = Context(for_whom="relative", year=2026)
SELF = Context(for_whom="self", year=2026)


def question(loaded: LoadedFlow, step_id: str) -> Question:
    unknown = list(loaded.flow.messages["unknown_label"].variants.values())
    return question_of(loaded.flow.steps[step_id], unknown)


def read(loaded: LoadedFlow, step_id: str, text: str, context: Context = SELF) -> tuple[str, set[str]]:
    found = understand(text, question(loaded, step_id), context)
    return found.level, set(found.values)


@pytest.mark.parametrize(
    ("step", "text", "value"),
    [
        ("attitude", "elle veut pas en entendre parler", "refuses"),
        ("attitude", "il ne veut pas en entendre parler", "refuses"),
        ("freins", "elle marche mal", "health"),
        ("freins", "mon père voit mal", "health"),
        ("mobilite", "elle a du mal à marcher", "difficult"),
        ("mobilite", "il marche mal", "difficult"),
        ("aisance", "elle est perdue", "none"),
        ("aisance", "il se débrouille", "intermediate"),
        ("pour_qui", "c'est pour ma mère", "relative"),
        ("pour_qui", "pour mon papa", "relative"),
    ],
)
def test_relatives_phrasings_are_understood(loaded: LoadedFlow, step: str, text: str, value: str) -> None:
    """What a relative writes about the person (third person, feminine or masculine) is read at the first try."""
    assert read(loaded, step, text, RELATIVE) == ("sure", {value})


def test_who_to_call_tells_the_person_from_the_relative(loaded: LoadedFlow) -> None:
    """« elle directement » means the person helped; « moi » the relative writing: pronouns decide here."""
    who = phase_question(loaded.flow.steps["rappel"], "who")
    for text in ("elle directement", "lui directement", "appelez-la", "ma mère"):
        assert understand(text, who, RELATIVE).values == ("person",), text
    for text in ("moi", "rappelez-moi", "plutôt moi"):
        assert understand(text, who, RELATIVE).values == ("relative",), text


@pytest.mark.parametrize(
    ("step", "said", "negated", "value"),
    [
        ("attitude", "ça m'intéresse", "ça ne m'intéresse pas", "curious"),
        ("attitude", "ça m'interesse", "ca m'interesse pas", "curious"),
        ("connexion", "j'ai internet", "je n'ai pas internet", "yes"),
        ("aisance", "je suis à l'aise", "je ne suis pas à l'aise", "advanced"),
        ("mobilite", "je conduis", "je ne conduis plus", "easy"),
        ("appareils", "elle a un smartphone", "elle n'a pas de smartphone", "smartphone"),
        ("appareils", "j'ai une tablette", "je n'ai pas de tablette", "tablet"),
        ("frequence", "souvent", "pas souvent", "weekly"),
        ("entourage", "quelqu'un peut m'aider", "personne ne peut m'aider", "yes"),
    ],
)
def test_a_negation_is_never_read_as_its_opposite(
    loaded: LoadedFlow, step: str, said: str, negated: str, value: str
) -> None:
    """The same words with a negation never give the value the words give without it."""
    level, values = read(loaded, step, said)
    assert value in values, said
    assert level != "none", said
    assert value not in read(loaded, step, negated)[1], negated


def test_two_negations_cancel(loaded: LoadedFlow) -> None:
    """« c'est pas que ça m'intéresse pas » says it is of interest."""
    assert read(loaded, "attitude", "c'est pas que ça m'intéresse pas") == ("sure", {"curious"})


@pytest.mark.parametrize(
    ("step", "text", "value"),
    [
        ("frequence", "jsp", UNKNOWN),
        ("frequence", "bcp", "daily"),
        ("frequence", "tt le temps", "daily"),
        ("connexion", "ouais", "yes"),
        ("connexion", "OUAIS !!", "yes"),
        ("aisance", "chui perdue", "none"),
        ("aisance", "un peu", "basic"),
        ("aisance", "pas trop", "basic"),
        ("attitude", "bof", "indifferent"),
        ("attitude", "CA M INTERESSE", "curious"),
        ("appareils", "un ordi", "computer"),
        ("appareils", "une tablete", "tablet"),
        ("connexion", "jsp si elle a le wifi", UNKNOWN),
    ],
)
def test_phone_spellings_typos_and_missing_accents(loaded: LoadedFlow, step: str, text: str, value: str) -> None:
    """Written as on a phone (abbreviations, no accents, capitals, a typo), the answer is still read."""
    assert read(loaded, step, text) == ("sure", {value})


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("83", "80_plus"),
        ("j'ai 83 ans", "80_plus"),
        ("quatre-vingt-trois ans", "80_plus"),
        ("soixante-douze ans", "70_79"),
        ("née en 1941", "80_plus"),
        ("né en 1958", "60_69"),
        ("née en 47", "70_79"),
        ("née le 3 mars 1950", "70_79"),
        ("bientôt 80", "70_79"),
        ("j'aurai 70 ans en juin", "60_69"),
        ("75 ou 76", "70_79"),
        ("entre 70 et 80", "70_79"),
    ],
)
def test_ages_in_digits_words_or_birth_year(loaded: LoadedFlow, text: str, value: str) -> None:
    """An age in digits or in words, or a year of birth (the current year given), picks the right range."""
    assert read(loaded, "age", text) == ("sure", {value})


def test_several_answers_to_a_several_choice_question(loaded: LoadedFlow) -> None:
    """« une tablette et un vieux portable » ticks both; « pas les impôts, plutôt la famille » only the family."""
    assert read(loaded, "appareils", "une tablette et un vieux portable") == ("sure", {"tablet", "basic_phone"})
    assert read(loaded, "appareils", "smartphone, tablette et pc") == ("sure", {"smartphone", "tablet", "computer"})
    assert read(loaded, "envies", "pas les impôts, plutôt la famille")[1] == {"family_contact"}


@pytest.mark.parametrize(
    ("step", "text"),
    [
        ("connexion", "c'est quoi une box ?"),
        ("frequence", "oui et non"),
        ("pour_qui", "bonjour"),
        ("appareils", "'; DROP TABLE conversations; --"),
        ("attitude", "blablabla"),
        ("freins", "azertyuiop"),
    ],
)
def test_what_is_not_an_answer_is_not_taken(loaded: LoadedFlow, step: str, text: str) -> None:
    """A question back, a contradiction, a greeting or nonsense is never taken as an answer."""
    assert read(loaded, step, text)[0] != "sure"


def test_a_related_word_alone_makes_a_doubt_not_an_answer(loaded: LoadedFlow) -> None:
    """Half an answer (« il conduit »: easy?) is asked back rather than taken."""
    assert read(loaded, "mobilite", "il conduit") == ("doubt", {"easy"})


def test_a_first_message_gives_every_answer_it_clearly_names(loaded: LoadedFlow) -> None:
    """The issue's opening message fills who it is for, the age, the equipment and the attitude, and no more."""
    asks = [question(loaded, s.id) for s in loaded.flow.steps.values() if s.kind == "ask" and s.choices]
    text = "Bonjour, ma mère a 85 ans, elle n'a qu'un téléphone fixe et ne veut pas entendre parler d'internet"
    found = {slot: set(u.values) for slot, u in spot(text, asks, Context(year=2026)).items()}
    assert found == {"for_whom": {"relative"}, "age_band": {"80_plus"}, "equipment": {"none"}, "attitude": {"refuses"}}
    mine = spot("j'ai 83 ans, j'ai une tablette et je voudrais apprendre", asks, Context(year=2026))
    assert {slot: set(u.values) for slot, u in mine.items()} == {
        "for_whom": {"self"},
        "age_band": {"80_plus"},
        "equipment": {"tablet"},
        "attitude": {"curious"},
    }
    assert spot("bonjour, je voudrais de l'aide", asks, Context(year=2026)) == {}


@pytest.mark.parametrize(
    ("step", "text", "value", "not_value"),
    [
        ("freins", "c'est pas l'argent, c'est la peur de me tromper", "confidence", "money"),
        ("freins", "ce n'est pas le temps qui lui manque, c'est sa vue", "health", "time"),
        ("freins", "ni le prix ni le temps, c'est la peur", "confidence", "time"),
        ("freins", "ni l'argent ni le temps, c'est plutôt sa santé", "health", "money"),
    ],
)
def test_what_something_is_not_is_not_what_is_lacking(
    loaded: LoadedFlow, step: str, text: str, value: str, not_value: str
) -> None:
    """« c'est pas l'argent » rules money out, where « pas d'argent » (a lack) would name it."""
    level, values = read(loaded, step, text)
    assert value in values, text
    assert level != "none", text
    assert not_value not in values, text


def test_a_lack_is_still_read_as_the_brake(loaded: LoadedFlow) -> None:
    """The other side of the rule above: « je n'ai pas d'argent », « elle n'a pas le temps » name the brake."""
    assert read(loaded, "freins", "je n'ai pas d'argent") == ("sure", {"money"})
    assert read(loaded, "freins", "elle n'a jamais le temps")[1] == {"time"}


@pytest.mark.parametrize(
    ("step", "text", "not_value"),
    [
        ("freins", "internet", "interest"),  # « intérêt » is a letter away, but another word
        ("age", "plus tout jeune", "under_60"),
        ("age", "plus très jeune", "under_60"),
        ("pour_qui", "pour nous deux, ma femme et moi", "relative"),
        ("pour_qui", "tous les deux", "self"),
    ],
)
def test_near_words_and_no_longer_are_not_taken_for_an_answer(
    loaded: LoadedFlow, step: str, text: str, not_value: str
) -> None:
    """Two real words a letter apart are not a typo; « plus tout jeune » is not young; both people is no choice."""
    level, values = read(loaded, step, text)
    assert not (level == "sure" and not_value in values), (text, level, values)


def test_a_typo_of_a_word_is_still_that_word(loaded: LoadedFlow) -> None:
    """The typo rule still reads words the model does not know as the word they miss (« ordinatuer »)."""
    assert read(loaded, "appareils", "un ordinatuer")[1] == {"computer"}
    assert read(loaded, "appareils", "une tablete") == ("sure", {"tablet"})


def test_yes_or_no_first_then_why_is_the_answer(loaded: LoadedFlow) -> None:
    """« non, on capte mal ici » answers no; one word of a long message qualified by the rest is asked back."""
    assert read(loaded, "connexion", "non, on capte mal ici de toute façon") == ("sure", {"no"})
    assert read(loaded, "connexion", "oui mais ça rame beaucoup le soir") == ("sure", {"yes"})
    assert read(loaded, "connexion", "pas chez elle, chez son voisin oui")[0] != "sure"


@pytest.mark.parametrize(
    ("step", "text", "value"),
    [
        ("rappel.moment", "pas le matin", "afternoon"),
        ("rappel.moment", "surtout pas l'après-midi", "morning"),
        ("mobilite", "c'est pas facile pour elle", "difficult"),
        ("mobilite", "pas facile du tout", "difficult"),
    ],
)
def test_saying_which_button_it_is_not_picks_the_one_left(loaded: LoadedFlow, step: str, text: str, value: str) -> None:
    """Where one button is left once the catch-alls are set aside, ruling the other out answers."""
    q = phase_question(loaded.flow.steps["rappel"], "moment") if step == "rappel.moment" else question(loaded, step)
    found = understand(text, q, RELATIVE)
    assert (found.level, found.values) == ("sure", (value,)), text


@pytest.mark.parametrize(
    ("step", "text"),
    [
        ("rappel.moment", "pas le matin, je fais mes courses"),  # more is said: the afternoon or any time?
        ("aisance", "je ne suis pas perdue"),  # three buttons are left
        ("frequence", "pas tous les jours"),  # never, now and then, or every week?
    ],
)
def test_ruling_one_out_is_not_an_answer_when_more_is_left(loaded: LoadedFlow, step: str, text: str) -> None:
    """Ruling one button out answers nothing when several are left or the message says more."""
    q = phase_question(loaded.flow.steps["rappel"], "moment") if step == "rappel.moment" else question(loaded, step)
    assert understand(text, q, SELF).level != "sure", text


def test_words_said_before_a_negation_are_not_negated() -> None:
    """« avec sa canne, c'est pas simple »: the cane is not negated, « simple » is."""
    reading = analysis_read("avec sa canne c'est pas simple")
    negated = {t.word: t.negated for t in reading.terms}
    assert negated == {"canne": False, "simple": True}


def test_no_trouble_with_something_rules_it_out(loaded: LoadedFlow) -> None:
    """« pas de souci d'argent » and « aucun problème de santé » say what is not a brake."""
    assert "money" not in read(loaded, "freins", "pas de souci d'argent, c'est la peur de mal faire")[1]
    assert read(loaded, "freins", "aucun problème de santé, c'est le prix") == ("sure", {"money"})


def test_not_knowing_does_not_negate_what_is_not_known() -> None:
    """« je sais pas ce qui la freine »: knowing is negated, what follows is not; « savoir faire » still is."""
    negated = {t.word: t.negated for t in analysis_read("je sais pas ce qui la freine").terms}
    assert negated["sais"] is True
    assert negated["freine"] is False
    doing = {t.word: t.negated for t in analysis_read("elle ne sait pas envoyer un mail").terms}
    assert doing["envoyer"] is True


def test_a_bare_negation_leaves_what_was_said_before() -> None:
    """« d'accord, pas de souci »: the agreement said first is not negated by the « pas » after it."""
    for text, first in (("ok pas de souci", "accord"), ("oui pas de probleme", "oui")):
        negated = {t.word: t.negated for t in analysis_read(text).terms}
        assert negated[first] is False, text


@pytest.mark.parametrize(
    ("text", "denied", "kept"),
    [
        ("pas l'argent, c'est la vue", "argent", "vue"),
        ("pas le prix, c'est plutôt que j'ai peur", "prix", "peur"),
        ("ni l'argent ni le temps, c'est plutôt que j'ose pas", "temps", "ose"),
    ],
)
def test_what_it_is_not_then_what_it_is(text: str, denied: str, kept: str) -> None:
    """A bare « pas le … » or « ni … ni … », then « c'est … »: the first is ruled out, not named as lacking."""
    terms = {t.word: t for t in analysis_read(text).terms}
    assert terms[denied].denied, text
    assert not terms[kept].denied, text


def test_a_bare_lack_then_what_it_is_stays_a_lack() -> None:
    """« pas d'argent, c'est ça le souci » names the lack of money: « de », not « le », after the negation."""
    terms = {t.word: t for t in analysis_read("pas d'argent, c'est ça le souci").terms}
    assert terms["argent"].negated
    assert not terms["argent"].denied


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("je travaille le matin", "afternoon"),
        ("l'après-midi elle fait la sieste", "morning"),
        ("le kiné vient le matin", "afternoon"),
        ("je ne travaille pas le matin", "morning"),  # free then
        ("pas l'après-midi, il dort", "morning"),  # the negation already named the free moment
    ],
)
def test_the_moment_someone_is_busy_is_not_the_moment_to_call(loaded: LoadedFlow, text: str, value: str) -> None:
    """A moment named with what keeps the person busy then: the other moment, asked back, never taken as said."""
    found = understand(text, phase_question(loaded.flow.steps["rappel"], "moment"), SELF)
    assert (found.level, found.values) == ("doubt", (value,)), text


def test_after_the_busy_moment_is_a_time_not_a_clash(loaded: LoadedFlow) -> None:
    """« après la sieste », « après le travail »: the moment after it, never the other one."""
    moment = phase_question(loaded.flow.steps["rappel"], "moment")
    assert understand("après la sieste de maman", moment, RELATIVE).values == ("afternoon",)
    assert understand("après le travail", moment, SELF).values == ("afternoon",)


@pytest.mark.parametrize(
    ("step", "text", "not_value"),
    [
        ("envies", "tout sauf les démarches", "admin_procedures"),
        ("freins", "tout sauf l'argent", "money"),
        ("appareils", "de tout sauf une tablette", "tablet"),
    ],
)
def test_what_is_excepted_is_not_named(loaded: LoadedFlow, step: str, text: str, not_value: str) -> None:
    """« sauf » rules out what follows it, as an exception, not as a lack (« tout sauf l'argent » is no money
    brake)."""
    assert not_value not in read(loaded, step, text)[1], text


def test_one_button_named_in_its_own_words_alone_is_taken(loaded: LoadedFlow) -> None:
    """A relative named among other words, no other button named and nothing qualifying it, answers at once."""
    assert read(loaded, "pour_qui", "c'est pour ma tante qui habite en bretagne") == ("sure", {"relative"})


@pytest.mark.parametrize(
    ("step", "text", "value"),
    [
        ("connexion", "je ne crois pas", "no"),
        ("connexion", "il me semble que oui", "yes"),
        ("entourage", "je pense pas", "no"),
        ("proposition", "avec plaisir", "yes"),
        ("proposition", "pourquoi pas", "yes"),
        ("rappel.consent", "pas question", "no"),
        ("rappel.consent", "bien entendu", "yes"),
        ("rappel.consent", "j'accepte", "yes"),
        ("rappel.consent", "elle veut pas", "no"),
    ],
)
def test_yes_or_no_without_the_word(loaded: LoadedFlow, step: str, text: str, value: str) -> None:
    """« je crois pas », « pourquoi pas », « pas question »: yes or no to a question with both buttons (« pas
    question » is no, though « question » alone is close to the no button's « hors de question »)."""
    q = phase_question(loaded.flow.steps["rappel"], "consent") if step == "rappel.consent" else question(loaded, step)
    found = understand(text, q, SELF)
    assert (found.level, found.values) == ("sure", (value,)), text


def test_yes_or_no_words_are_no_answer_where_there_is_no_yes_or_no(loaded: LoadedFlow) -> None:
    """« je crois pas » to « how often? » says nothing: only questions with Oui and Non read it."""
    assert read(loaded, "frequence", "je crois pas")[0] != "sure"


@pytest.mark.parametrize(
    ("step", "text"),
    [
        ("mobilite", "je sais pas, faudrait que je demande à mon frère"),
        ("connexion", "sais pas, je vis pas avec elle"),
        ("age", "je connais pas son âge exact"),
        ("aisance", "jsp je l'ai jamais vu faire"),
        ("frequence", "j'en sais rien"),
        ("connexion", "nsp"),
    ],
)
def test_not_knowing_then_who_would_know_is_i_do_not_know(loaded: LoadedFlow, step: str, text: str) -> None:
    assert read(loaded, step, text, RELATIVE) == ("sure", {UNKNOWN})


@pytest.mark.parametrize("text", ["le matin ou l'après-midi", "matin ou aprem, pour moi", "matinée ou aprem"])
def test_both_moments_named_is_either_asked_back(loaded: LoadedFlow, text: str) -> None:
    """Both moments named where one is asked: « Peu importe ? », asked back, never one of the two (the flow also
    teaches « matin ou après-midi, peu m'importe » as « Peu importe », taken then)."""
    found = understand(text, phase_question(loaded.flow.steps["rappel"], "moment"), SELF)
    assert (found.level, found.values) == ("doubt", ("any",)), text


def test_a_preferred_or_busy_moment_is_not_either(loaded: LoadedFlow) -> None:
    moment = phase_question(loaded.flow.steps["rappel"], "moment")
    assert understand("plutôt l'après-midi, le matin elle a l'infirmière", moment, RELATIVE).values == ("afternoon",)


def test_yes_said_about_someone_elses_home_is_asked_back(loaded: LoadedFlow) -> None:
    """« chez mon fils oui » to « internet at home? »: the yes is someone else's; never taken as said."""
    assert read(loaded, "connexion", "chez mon fils oui", RELATIVE)[0] != "sure"
    assert read(loaded, "connexion", "oui", RELATIVE) == ("sure", {"yes"})


def test_not_wanting_to_know_is_refusing_not_i_do_not_know(loaded: LoadedFlow) -> None:
    """« elle veut rien savoir » refuses; only « je ne sais pas » and its forms, whole, are « je ne sais pas »."""
    assert UNKNOWN not in read(loaded, "attitude", "elle veut rien savoir de tout ça", RELATIVE)[1]
    assert read(loaded, "attitude", "je sais pas trop quoi vous dire") == ("sure", {UNKNOWN})
    assert read(loaded, "attitude", "aucun avis") == ("sure", {UNKNOWN})


@pytest.mark.parametrize("text", ["mon beau-frère", "ma cousine passe souvent", "oui, mon neveu"])
def test_any_close_person_named_as_the_helper(loaded: LoadedFlow, text: str) -> None:
    """Whoever is named among family, friends and neighbours helps as « ma fille » does, examples or not."""
    assert read(loaded, "entourage", text) == ("sure", {"yes"})


def test_close_people_stay_apart_where_the_question_is_which_person(loaded: LoadedFlow) -> None:
    """To « who should we call? » a relative's « sa fille » is not « ma mère »: never taken as the person."""
    who = phase_question(loaded.flow.steps["rappel"], "who")
    assert understand("sa fille", who, RELATIVE).values != ("person",)
    assert understand("ma femme", who, RELATIVE).values == ("person",)


def test_family_named_around_another_wish_is_asked_back(loaded: LoadedFlow) -> None:
    """« faire l'arbre de la famille » is a pastime; whether it is also keeping in touch is asked, never taken.
    Family named as a wish of its own (« la famille et les impôts ») still is one."""
    level, values = read(loaded, "envies", "la généalogie, refaire l'arbre de la famille")
    assert "leisure" in values
    assert level != "sure" or values == {"leisure"}
    assert read(loaded, "envies", "la famille et les papiers") == ("sure", {"family_contact", "admin_procedures"})


@pytest.mark.parametrize("text", ["elle ne voit plus bien", "il n'entend plus très bien", "je ne vois plus bien"])
def test_no_longer_well_is_the_health_brake(loaded: LoadedFlow, text: str) -> None:
    """« ne … plus bien », where the parser hangs « plus » on « bien », negates « bien » as « je vois plus très
    bien » does."""
    assert read(loaded, "freins", text, RELATIVE) == ("sure", {"health"})


def test_a_verb_taken_for_a_name_is_still_negated(loaded: LoadedFlow) -> None:
    """The parser tags « sers » in « je ne m'en sers pas » as a name; with its subject it is a verb, negated."""
    assert {t.word: t.negated for t in analysis_read("je ne m'en sers pas").terms} == {"sers": True}
    assert read(loaded, "frequence", "elle s'en sert 2 ou 3 fois par semaine", RELATIVE) == ("sure", {"weekly"})


def test_a_message_ending_in_a_question_mark_is_asked_back(loaded: LoadedFlow) -> None:
    """« c'est pour les jeunes, non ? » may be a question back: never taken without asking."""
    assert read(loaded, "attitude", "internet c'est pas pour moi, non ?") == ("doubt", {"refuses"})
    assert read(loaded, "attitude", "internet c'est pas pour moi, non") == ("sure", {"refuses"})


def test_plus_bien_without_ne_is_no_longer_well(loaded: LoadedFlow) -> None:
    """« il voit plus bien » (no « ne ») is the health brake, even after another brake in the same message."""
    assert read(loaded, "freins", "il entend plus bien", RELATIVE) == ("sure", {"health"})
    assert read(loaded, "freins", "c'est trop cher et elle voit plus bien", RELATIVE)[1] == {"money", "health"}
