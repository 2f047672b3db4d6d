"""Comparing a typed text with a question's phrases, word by word: how much of each phrase the text holds (same
lemma or word, same stem, a typo, or a word of close meaning, which counts for less), and how much of the text the
button's phrases explain. A word negated on one side and not on the other rules a phrase out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from bot.understanding.analysis import Reading
from bot.understanding.phrases import Compiled, Phrase
from bot.understanding.question import Understood
from bot.understanding.similarity import STRONG, other_word, similarity

NEUTRAL = 0.6  # the weight, in the share of a text an answer explains, of a word no button knows
SPOTTED = 0.95  # the share of a phrase found in a message for `spot` to take it
SPOT_DENSITY = 0.4  # of a phrase's words, the share that must be meaningful for it to be spotted elsewhere
EXPLAINED = 0.65  # a phrase fully found in a text explaining nothing else scores this: the rest is doubt


@dataclass(frozen=True, slots=True)
class Match:
    option: int
    score: float
    coverage: float
    positions: frozenset[int]
    terms: int  # how many words of the phrase matched
    explained: frozenset[int] = frozenset()  # the words any of the button's phrases holds whole
    same: frozenset[int] = frozenset()  # of its words, those typed as the phrase has them (not merely related)
    held: frozenset[int] = frozenset()  # the words any of the button's phrases holds whole, each as it has them


def exact_reading(plain: str, compiled: Compiled) -> Understood | None:
    option = compiled.exact.get(plain)
    if option is None:
        return None
    return Understood((compiled.question.options[option].value,), 1.0, (plain,))


def _match(reading: Reading, phrase: Phrase, persons: bool, strict: bool) -> Match | None:
    """How much of the phrase the text holds (0 when a word is negated on one side only)."""
    available = list(reading.terms)
    matched = 0.0
    positions: set[int] = set()
    same: set[int] = set()
    explained = 0.0
    count = 0
    same_word = False
    accented = not phrase.reading.text.isascii()  # its author writes accents: « retraite » is not « retraités »
    for term in sorted(phrase.reading.terms, key=lambda t: -t.weight):
        best, best_sim = None, 0.0
        for typed in available:
            sim = similarity(term, typed, persons)
            if sim >= STRONG and other_word(typed, term, accented):
                sim = 0.0
            if strict and sim < STRONG:
                continue
            if sim > best_sim:
                best, best_sim = typed, sim
        if best is None:
            if strict and term.weight > (1 - SPOTTED) * phrase.weight:
                return None  # spotting takes whole phrases only: this one cannot be (the heaviest words come first)
            continue
        if best.negated != term.negated or (best.negated and best.denied != term.denied):
            if best_sim >= STRONG and term.weight >= 0.3:
                return None  # « pas de smartphone » is not « smartphone »
            continue
        available.remove(best)
        matched += term.weight * best_sim
        explained += best.weight * best_sim
        positions.add(best.position)
        if best_sim >= STRONG:
            same.add(best.position)
        count += 1
        same_word = same_word or best_sim >= STRONG
    if not positions or not same_word:
        return None  # only related words (« blabla » ~ « parler »): nothing the person actually said
    if phrase.generic and count < len(reading.terms) and not _said_as_is(phrase, reading):
        return None  # « à quoi bon » is only « avoir » to the model: it must be the whole answer, or said as is
    coverage = matched / phrase.weight if phrase.weight else 0.0
    return Match(phrase.option, coverage, coverage, frozenset(positions), count, same=frozenset(same))


def _said_as_is(phrase: Phrase, reading: Reading) -> bool:
    """A set phrase of common words found word for word in a longer text (« c'est bien, sans plus »)."""
    words = phrase.reading.plain.split()
    return len(words) >= 2 and f" {phrase.reading.plain} " in f" {reading.plain} "


def best_per_option(reading: Reading, compiled: Compiled, *, strict: bool) -> dict[int, Match]:
    """Per button, its phrase the text holds best; its score also counts how much of the text the button's
    phrases explain together (« whatsapp avec la famille »: two names of one button)."""
    best: dict[int, Match] = {}
    explained: dict[int, set[int]] = {}
    held: dict[int, set[int]] = {}
    for phrase in compiled.candidates(reading):
        if strict and not spottable(phrase):
            continue
        match = _match(reading, phrase, compiled.persons, strict)
        if match is None:
            continue
        if match.coverage >= STRONG:
            explained.setdefault(phrase.option, set()).update(match.positions)
            held.setdefault(phrase.option, set()).update(match.same)
        known = best.get(phrase.option)
        if known is None or (match.coverage, match.terms) > (known.coverage, known.terms):
            best[phrase.option] = match
    related = {p for match in best.values() for p in match.positions}
    for option, match in best.items():
        positions = explained.get(option, set()) | match.positions
        share = share_of(reading, positions, related)
        score = match.coverage * (EXPLAINED + (1 - EXPLAINED) * min(1.0, share))
        kept = frozenset(held.get(option, set()))
        best[option] = dataclasses.replace(match, score=score, explained=frozenset(positions), held=kept)
    return best


def share_of(reading: Reading, explained: set[int] | frozenset[int], related: set[int]) -> float:
    """How much of the text `explained` accounts for. A word no button knows (« depuis noël ») weighs less
    than one another button knows: it is more likely said around the answer than a second answer."""
    total = 0.0
    held = 0.0
    for term in reading.terms:
        weight = term.weight if term.position in related else term.weight * NEUTRAL
        total += weight
        if term.position in explained:
            held += weight
    return min(1.0, held / total) if total else 0.0


def spottable(phrase: Phrase) -> bool:
    """A phrase that means something outside its question (« tablette », « ma fille », « ne veut pas entendre
    parler d'internet »), not « oui » or « bien », nor a long phrase that only one word of carries
    (« pour quelqu'un que j'aide »)."""
    terms = phrase.reading.terms
    if len(terms) < SPOT_DENSITY * len(phrase.reading.plain.split()):
        return False
    if len(terms) == 1 and terms[0].pos not in ("NOUN", "PROPN"):
        return False  # « seule », « perdu »: an adjective alone may describe anyone in the message
    return any(
        t.weight >= 0.45 and t.pos in ("NOUN", "PROPN", "VERB", "ADJ") and t.key not in ("oui", "non")
        for t in phrase.reading.terms
    )


def words_at(reading: Reading, positions: frozenset[int]) -> tuple[str, ...]:
    return tuple(t.word for t in reading.terms if t.position in positions)
