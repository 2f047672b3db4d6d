"""How the rest of a message qualifies the words that answered: people named where the other button pulls, an
answer turned by « mais », « oui » or « non » said first, family said as a complement of another wish."""

from __future__ import annotations

import re

from bot.core.text import normalise
from bot.understanding.analysis import CLOSE_PEOPLE, KIN, Reading
from bot.understanding.comparing import Match
from bot.understanding.phrases import Compiled

FAMILY = KIN | CLOSE_PEOPLE | {"famille", "enfant", "enfants", "petit", "petits", "petit-enfant", "petits-enfants"}
NEIGHBOURS = frozenset({"voisin", "voisins", "voisine", "voisines"})
PARTICIPLE = re.compile(r"(?:é|ée|és|ées)$")  # « c'est compliqué », « ils sont occupés »
HELPERS = frozenset({"aide", "auxiliaire", "menagere", "infirmiere", "infirmier", "ami", "amie", "amis", "amies"})
DETERMINER = r"(?:la|le|l|les|mes|ses|mon|ma|sa|son|leur|leurs|nos|vos|votre|notre|ton|ta|tes)"
# Answers that take back or hedge what they say: asked back, never taken for sure. « des fois j'adore, des fois je
# le jetterais », « rien… enfin si », « peut-être mon neveu ».
ALTERNATING = re.compile(r"\b(des fois|parfois|tantot|un coup|certains jours)\b.+\b\1\b")
CORRECTED = re.compile(r"\b(?:enfin|en fait|ou plutot) (?:si|non)\b")
HEDGED = re.compile(r"^(?:(?:euh|bah?|ben|bof|hmm|hum|alors) )*peut etre\b")
NEGATION_WORD = re.compile(r"\b(?:pas|jamais|plus|rien|personne|aucun|aucune)\b")


def turned(reading: Reading, best: Match) -> bool:
    """The answer said, then turned by « mais » and a negation that is not about it (« j'ai envie d'apprendre
    mais j'ose pas »)."""
    before, turn, after = reading.plain.partition(" mais ")
    said = {normalise(t.word) for t in reading.terms if t.position in best.positions}
    if not turn or not said or not NEGATION_WORD.search(after):
        return False
    return all(word in before.split() for word in said) and not any(word in after.split() for word in said)


def people_only(reading: Reading, best: Match, compiled: Compiled) -> bool:
    """To a yes-or-no question, only people named (« mes enfants », « les voisins ») while more is said about them
    (« … sont loin », « … je les connais pas ») that the other button's words hold: whether they count as the answer
    is asked."""
    if not {"yes", "no"} <= set(compiled.question.values):
        return False
    carried = [t for t in reading.terms if t.position in best.positions]
    if not carried or not all(t.key in FAMILY or t.key in NEIGHBOURS or t.key in HELPERS for t in carried):
        return False
    return any(t.weight >= 0.5 and t.position not in best.positions and t.pos != "PRON" for t in reading.terms)


def said_against(reading: Reading, best: Match) -> bool:
    """Besides the people named, a negation or a judgement (« … ne sait pas s'en servir », « c'est compliqué
    avec … »): whether they help is not said."""
    return any(
        (t.negated or t.pos == "ADJ" or (t.pos == "VERB" and PARTICIPLE.search(t.word.lower())))
        and t.position not in best.positions
        for t in reading.terms
    )


def qualified(reading: Reading, best: Match) -> bool:
    """Whether the rest of a message may change what its one answering word says: a negation elsewhere, someone
    else named, a comparison. « oui » or « non » first, then why (« non, on est en zone blanche »), is the answer."""
    if leading_yes_no(reading, best):
        return False
    others = [t for t in reading.terms if t.position not in best.positions]
    return any(t.negated or t.pos == "ADJ" or t.key in KIN or t.key in ("mieux", "moins", "chez") for t in others)


def leading_yes_no(reading: Reading, best: Match) -> bool:
    """« oui » or « non » said first and alone carrying the answer: what follows says why."""
    first = reading.terms[0] if reading.terms else None
    return first is not None and best.positions == {first.position} and first.key in ("oui", "non", "ouais")


def family_around(reading: Reading, match: Match) -> bool:
    """A button carried only by family words said as a complement (« l'arbre de la famille », « à mes enfants »),
    not as an item of their own (« famille et impôts »)."""
    words = [t for t in reading.terms if t.position in match.positions]
    if not words or not all(t.key in FAMILY for t in words):
        return False
    return all(
        re.search(rf"\b(?:de|du|des|d|a|au|aux|pour)(?: {DETERMINER})? {re.escape(normalise(t.word))}\b", reading.plain)
        for t in words
    )


def taken_back(plain: str) -> bool:
    """The answer alternates, corrects itself or starts with « peut-être »: see ALTERNATING, CORRECTED, HEDGED."""
    return bool(ALTERNATING.search(plain) or CORRECTED.search(plain) or HEDGED.match(plain))
