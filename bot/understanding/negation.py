"""Which words of a parsed sentence are negated, read from spaCy's dependency parse.

A negator (« pas », « jamais », « plus » with « ne », « sans ») negates the words its head governs (but not the
head's subject) and the words after it in the same clause; two negations over one word cancel (« c'est pas que
ça m'intéresse pas »). « ne … que » is not a negation but « seulement ». A negation may say what something is not
(« c'est pas l'argent, c'est la vue ») rather than what is lacking (« pas d'argent »): those words are `denied`;
or what is out of reach (« il n'arrive pas à faire ses impôts »): those words are `unable`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.understanding.spelling import strip_accents

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

NEGATORS = frozenset(
    {"pas", "jamais", "rien", "aucun", "aucune", "personne", "guere", "point", "nullement", "sans", "sauf", "excepte"}
)
EXCEPT = frozenset({"sauf", "excepte"})
SUBJECTS = frozenset({"nsubj", "nsubj:pass", "expl:subj", "csubj"})
CLAUSE_BREAKS = frozenset({",", ";", ".", "!", "?", ":", "mais", "et", "car", "parce", "puis", "sinon", "(", ")"})
# « arriver à », « pouvoir », « réussir à », « savoir » + infinitive, as lemma or as typed (the lemmatiser misses
# « arrive » without its « ne »)
INABILITY = frozenset(
    {"arriver", "arrive", "arrivent", "pouvoir", "peux", "peut", "peuvent", "reussir", "reussis", "reussit", "parvenir",
     "parviens", "parvient", "savoir", "sais", "sait", "savent"}
)  # fmt: skip
REFUSING = frozenset({"refuser"})
TROUBLE = frozenset({"probleme", "souci", "difficulte", "inquietude"})
NO_LONGER_BEFORE = frozenset({"tout", "tres", "trop", "vraiment", "beaucoup", "guere", "jamais", "bien"})


def _negators(doc: Doc) -> list[Token]:
    """One negator per negated head: « ne … pas » is one negation; « ne » alone counts where nothing else does."""
    by_head: dict[int, Token] = {}
    restrictive = restrictive_heads(doc)
    has_ne = any(strip_accents(t.text.lower()).rstrip("'") in ("ne", "n") for t in doc)
    for token in doc:
        lower = strip_accents(token.text.lower())
        if lower in NEGATORS or (lower == "plus" and _plus_negates(token)) or (lower == "ni" and not has_ne):
            by_head.setdefault(token.head.i, token)
    for token in doc:
        lower = strip_accents(token.text.lower()).rstrip("'")  # « n'a ni box ni wifi »: « n' » with its apostrophe
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
    return any(strip_accents(child.text.lower()).rstrip("'") in ("ne", "n") for child in head.children)


def restrictive_heads(doc: Doc) -> set[int]:
    """Heads of « ne … que » (« elle n'a qu'un fixe »): only, not a negation."""
    heads: set[int] = set()
    for token in doc:
        if strip_accents(token.text.lower()).rstrip("'") in ("qu", "que") and token.dep_ in ("advmod", "mark", "fixed"):
            head = token.head
            if _has_ne(head) and not any(
                strip_accents(c.text.lower()) in NEGATORS and c.text.lower() != "sans" for c in head.children
            ):
                heads.add(head.i)
        elif strip_accents(token.text.lower()).rstrip("'") in ("ne", "n"):
            # « elle n'a qu'un téléphone fixe et ne veut pas … »: the parser may hang « qu' » elsewhere
            after = [strip_accents(t.text.lower()).rstrip("'") for t in doc[token.i + 1 : token.i + 3]]
            if any(word in ("qu", "que") for word in after):
                heads.add(token.head.i)
    return heads


def _segments(doc: Doc) -> list[int]:
    """Per token, the number of its clause (split at punctuation and « mais », « et », …)."""
    segment, result = 0, []
    for token in doc:
        if strip_accents(token.text.lower()) in CLAUSE_BREAKS:
            segment += 1
        result.append(segment)
    return result


def negation_counts(doc: Doc) -> tuple[list[int], set[int], set[int]]:
    """Per token, how many negations bear on it; and the tokens negated by « c'est pas … », which says what
    something is not (« c'est pas l'argent, c'est la vue ») where « pas d'argent » says what is lacking."""
    counts = [0] * len(doc)
    denied: set[int] = set()
    unable: set[int] = set()
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
        presenting = _presenting(head) and not _de_after(doc, negator)  # « c'est pas de mon âge »: an idiom, no denial
        if presenting or trouble or contrast or excepted:
            denied |= scope  # « ni le prix ni le temps, c'est ma vue »: what it is not, then what it is
        if _inability(head):
            unable |= scope - {head.i}  # « il n'arrive pas à faire ses impôts »: what is out of reach
    for token in doc:
        if strip_accents(token.lemma_.lower()) in REFUSING:  # « il refuse qu'on l'aide »: what is refused is not
            for child in token.children:
                if child.dep_ in ("obj", "ccomp", "xcomp"):
                    for index in {t.i for t in child.subtree if segments[t.i] == segments[token.i]}:
                        counts[index] += 1
    return counts, denied, unable


def _inability(head: Token) -> bool:
    """« (ne pas) arriver à / pouvoir / réussir à / savoir » followed by what cannot be done."""
    forms = {strip_accents(head.lemma_.lower()), strip_accents(head.text.lower())}
    near = [*head.children, *(grandchild for child in head.children for grandchild in child.children)]
    return bool(forms & INABILITY) and any("VerbForm=Inf" in str(t.morph) for t in near)  # « arrive pas a faire »


def _bare(head: Token) -> bool:
    """A negated noun without a verb (« pas l'argent », « pas de souci »)."""
    # « je ne m'en sers pas »: « sers » taken for a name, but with a subject it is a verb
    return head.pos_ in ("NOUN", "PROPN") and not any(
        child.dep_ == "cop" or child.dep_ in SUBJECTS for child in head.children
    )


def _de_after(doc: Doc, negator: Token) -> bool:
    """« c'est pas de mon âge », « c'est pas d'aujourd'hui »: « de » right after the negator."""
    after = doc[negator.i + 1].text.lower() if negator.i + 1 < len(doc) else ""
    return after.rstrip("'") in ("de", "d", "du", "des")


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
