"""The last resort before « not understood »: the button whose phrases mean closest to the text, asked back.

A text sharing no word with any button (« mon fils m'emmène partout ») may still say in other words what one of
its phrases says. The text's meaningful words' vectors, added up by weight, are compared with each phrase's; the
closest button, clearly ahead of the next, is asked back (« Si je comprends bien : … ? »), never taken. A sum of
vectors loses negation: a text holding one is left to the reader, and phrases holding one are left out.

NEAR and LEAD were chosen on the flow's own examples, each read without itself (not on any corpus): there, about
three in four of the buttons asked back this way were the one meant.
"""

from __future__ import annotations

import threading

import numpy as np

from bot.core.slots import UNKNOWN
from bot.understanding.analysis import Reading, Term, Vector
from bot.understanding.phrases import Compiled
from bot.understanding.question import DOUBT, Question, Understood

NEAR = 0.6  # cosine from which a phrase may mean what the text says
LEAD = 0.1  # how far the closest button must be ahead of the next
CONFIDENCE = DOUBT + 0.1  # a doubt, whatever the cosine: this is a guess to ask about
MEANINGFUL = 0.5  # the least weight of a word that counts in a text's or phrase's meaning
CONTENT = frozenset({"NOUN", "PROPN", "ADJ", "VERB"})  # what a text is about; not adverbs (« oui », « bien »)
LIGHT = frozenset(
    {"vouloir", "pouvoir", "savoir", "savoir-faire", "penser", "croire", "devoir", "falloir", "oui", "non", "merci"}
)
MAX_KEPT = 512

_kept: dict[Question, tuple[Vector, tuple[int, ...]]] = {}
_lock = threading.Lock()


def nearest(reading: Reading, compiled: Compiled) -> Understood | None:
    """The button the text seems to mean in other words, as a doubt; None when none is clearly closest."""
    if any(t.negated or (t.vector is None and t.weight >= MEANINGFUL and t.pos != "PRON") for t in reading.terms):
        return None  # a negation, or a word the model does not know (« zorglub »): its meaning is not all there
    meaning = _meaning(reading)
    if meaning is None:
        return None
    matrix, options = _phrase_meanings(compiled)
    if not options:
        return None
    cosines = matrix @ meaning
    best: dict[int, float] = {}
    for option, cosine in zip(options, cosines.tolist(), strict=True):
        best[option] = max(best.get(option, -1.0), cosine)
    ranked = sorted(best.items(), key=lambda item: -item[1])
    option, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if top < NEAR or top - second < LEAD:
        return None
    evidence = tuple(t.word for t in _content(reading))
    return Understood((compiled.question.options[option].value,), CONFIDENCE, evidence)


def prepare_meanings(compiled: Compiled) -> None:
    """Work out the question's phrases' meanings now rather than at its first answer."""
    _phrase_meanings(compiled)


def _meaning(reading: Reading) -> Vector | None:
    """The sum of the text's content words' vectors (never « oui », « bien », « vouloir »: they mean little)."""
    total: Vector | None = None
    for term in _content(reading):
        if term.vector is not None:
            weighted = term.vector * np.float32(term.weight)
            total = weighted if total is None else total + weighted
    if total is None:
        return None
    norm = float(np.linalg.norm(total))
    return total / np.float32(norm) if norm > 0 else None


def _content(reading: Reading) -> list[Term]:
    return [
        t
        for t in reading.terms
        if t.vector is not None and t.weight >= MEANINGFUL and t.pos in CONTENT and not t.forms & LIGHT
    ]


def _phrase_meanings(compiled: Compiled) -> tuple[Vector, tuple[int, ...]]:
    """Per phrase without negation of a button other than « Je ne sais pas », its meaning; worked out once."""
    question = compiled.question
    with _lock:
        kept = _kept.get(question)
    if kept is not None:
        return kept
    rows: list[Vector] = []
    options: list[int] = []
    for phrase in compiled.phrases:
        if question.options[phrase.option].value == UNKNOWN or any(t.negated for t in phrase.reading.terms):
            continue
        meaning = _meaning(phrase.reading)
        if meaning is not None:
            rows.append(meaning)
            options.append(phrase.option)
    matrix = np.stack(rows) if rows else np.zeros((0, 1), dtype=np.float32)
    with _lock:
        if len(_kept) >= MAX_KEPT:
            _kept.clear()
        _kept[question] = (matrix, tuple(options))
    return matrix, tuple(options)
