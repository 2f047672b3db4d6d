"""How close two words are, for the understanding: the same lemma or word, the same stem, a typo, or a word of
related meaning (word vectors, which count for less: « souvent » and « rarement » are close there too).

Results are kept (a word is compared with the same names again at every answer)."""

from __future__ import annotations

import re

from rapidfuzz.distance import OSA

from bot.understanding.analysis import CLOSE_PEOPLE, PERSON, Term, french_word
from bot.understanding.spelling import strip_accents

STRONG = 0.85  # a word match at least this close is the same word (or a typo of it), not just a related one
VECTOR_CLOSE = 0.72  # cosine of two words' vectors from which they count as related (« ipad » ~ « tablette »)
RELATED = 0.75  # the most a related word (by vectors) counts: below « sure » on its own
TYPO_CLOSE = 0.5  # two known words a letter apart whose vectors are further than this are two words
MAX_KEPT = 200_000
FINAL_E = re.compile(r"é(?:e|es|s)?$")  # a past participle's or adjective's ending

# Words of one kind naming different things: their vectors are close, a reader never takes one for another
# (« toutes les semaines » is not « tous les jours », « le soir » is not « le matin », « lundi » is not « mardi »).
KINDS = (
    frozenset({"heure", "minute", "jour", "journee", "semaine", "mois", "an", "annee", "week"}),
    frozenset({"matin", "matinee", "midi", "apres-midi", "aprem", "soir", "soiree", "nuit"}),
    frozenset({"lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"}),
    frozenset(
        {"janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre", "octobre", "novembre"}
        | {"decembre"}
    ),
)
_KIND = {word: n for n, kind in enumerate(KINDS) for word in kind}

_kept: dict[tuple[object, ...], float] = {}


def similarity(a: Term, b: Term, persons: bool) -> float:
    """In [0, 1]; `persons`: « moi » and « elle » are different answers to this question."""
    key = (a.sign, b.sign, persons)
    found = _kept.get(key)
    if found is None:
        if len(_kept) >= MAX_KEPT:
            _kept.clear()
        found = _kept[key] = _similarity(a, b, persons)
    return found


def _similarity(a: Term, b: Term, persons: bool) -> float:
    shared = a.forms & b.forms
    if shared - {PERSON}:
        return 1.0
    if shared:  # two personal pronouns: the same person, unless the question asks which (then « moi » is not « lui »)
        return 0.0 if persons else 1.0
    if a.pos == "PRON" or b.pos == "PRON":
        return 0.0
    ka, kb = a.key, b.key
    if ka in _KIND and _KIND[ka] == _KIND.get(kb):
        return 0.0  # two different words of one kind (the same word is a shared form, above)
    if not persons and ka in CLOSE_PEOPLE and kb in CLOSE_PEOPLE:
        return STRONG
    if _same_stem(ka, kb) or _same_stem(_adjective(ka), _adjective(kb)):  # « financièrement » ~ « financier »
        return 0.9
    shorter = min(len(ka), len(kb))
    typo = shorter >= 5 and min(OSA.distance(x, y) for x in a.forms for y in b.forms) <= (1 if shorter < 8 else 2)
    if typo and not _two_words(a, b):
        return 0.85  # a typo: a letter missed, added, changed or two swapped (« ordinatuer », « tablete »)
    if a.vector is not None and b.vector is not None:
        cosine = float(a.vector @ b.vector)
        if cosine >= VECTOR_CLOSE:
            return min(RELATED, 0.8 * cosine)  # related, never the same word: alone, it can only make a doubt
    return 0.0


def other_word(typed: Term, named: Term, accented: bool) -> bool:
    """« retraités » is not « retraite », nor « âgé » « âge », « marché » « marche »: a word whose lemma ends in
    « é » typed where a button's word has a plain « e » is another word, when that word is one (« actualite » in
    a list of names written without accents is « actualité »). `accented`: the button's phrase has accents."""
    lemma, other = typed.lemma, (named.lemma or named.word.lower()).rstrip("s")
    ending = FINAL_E.search(lemma)
    if ending is None or not other.endswith("e") or FINAL_E.search(other):
        return False
    if strip_accents(lemma[: ending.start()]) != strip_accents(other[:-1]):
        return False
    return accented or french_word(other)


def _same_stem(ka: str, kb: str) -> bool:
    """« marche » ~ « marcher »: the same first letters, but for an ending."""
    shorter = min(len(ka), len(kb))
    stem = shorter >= 4 and ka[:4] == kb[:4] and abs(len(ka) - len(kb)) <= 2
    return stem and len(_common_prefix(ka, kb)) >= max(4, shorter - 1)


def _adjective(key: str) -> str:
    """The adjective an adverb is made of (« financierement » -> « financiere », « rarement » -> « rare »)."""
    return key[:-4] if key.endswith("ement") and len(key) >= 9 else key


def _two_words(a: Term, b: Term) -> bool:
    """Two real words a letter apart (« internet », « intérêt »), not one word and its typo: both are known to
    the model and used apart (a typo found in the web text the vectors were learnt from sits near its word)."""
    return a.vector is not None and b.vector is not None and float(a.vector @ b.vector) < TYPO_CLOSE


def _common_prefix(a: str, b: str) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return a[:i]
    return a[: min(len(a), len(b))]
