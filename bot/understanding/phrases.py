"""A question's buttons as the reader compares them: each button's label, synonyms and examples read once by the
model into phrases, weighted (a word several buttons share tells them apart less) and indexed by their words'
first letters. Read once per process and kept; `prepare` reads a flow's questions ahead of the first answer.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.slots import UNKNOWN
from bot.core.text import normalise
from bot.understanding.analysis import CLOSE_PEOPLE, Reading, Term, read_many
from bot.understanding.question import Question
from bot.understanding.spelling import UNKNOWN_PHRASES

MAX_CACHED = 512
MAX_PHRASES = 20_000  # phrases of the flows kept read (the default flow has about 1,000)


@dataclass(frozen=True, slots=True)
class Phrase:
    option: int
    reading: Reading
    weight: float  # sum of its terms' weights
    example: bool
    generic: bool  # only common words (« à quoi bon », « ça va »)


@dataclass(frozen=True, slots=True)
class Compiled:
    question: Question
    phrases: tuple[Phrase, ...]
    exact: dict[str, int]  # a name or example typed exactly -> its option
    persons: bool
    near: dict[str, tuple[int, ...]]  # a word's first letters -> the phrases holding a word beginning so

    def candidates(self, reading: Reading) -> list[Phrase]:
        """The phrases sharing a word's beginning with the text: only they can hold one of its words (the same
        word, its stem, or a typo after the third letter), and a phrase holding none is never a match."""
        found: set[int] = set()
        for term in reading.terms:
            for form in term.forms:
                found.update(self.near.get(_bucket(form), ()))
            if term.key in CLOSE_PEOPLE and not self.persons:  # « ma femme » may match « mon mari »
                found.update(self.near.get(CLOSE, ()))
        return [self.phrases[i] for i in sorted(found)]


CLOSE = "@close"  # the bucket of words naming people close to someone


def _bucket(form: str) -> str:
    return form[:3] if len(form) >= 4 else form


_cache: OrderedDict[Question, Compiled] = OrderedDict()
_compiling = threading.RLock()  # the server reads its flow ahead in a thread while answering
_phrase_readings: dict[str, Reading] = {}
# A phrase as weighted among its question's, by how many buttons share each of its words: `flows check` compiles
# each question once per phrase left out, and leaving one out rarely changes the others' weights.
_reweighted_phrases: dict[tuple[str, int, bool, tuple[int, ...], int], Phrase] = {}


def compiled_question(question: Question) -> Compiled:
    with _compiling:
        return _compiled(question)


def _compiled(question: Question) -> Compiled:
    cached = _cache.get(question)
    if cached is not None:
        _cache.move_to_end(question)
        return cached
    texts: list[tuple[int, str, bool]] = []
    for index, option in enumerate(question.options):
        names = list(option.names)  # never the value: an English id (« tablet » ~ « table »)
        examples = [*option.examples, *(UNKNOWN_PHRASES if option.value == UNKNOWN else ())]
        texts += [(index, name, False) for name in names if _plain(name)]
        texts += [(index, example, True) for example in examples if _plain(example)]
    readings = _read_phrases([text for _, text, _ in texts])
    exact: dict[str, int] = {}
    for index, text, _ in texts:
        exact.setdefault(_plain(text), index)
    phrases = tuple(
        Phrase(index, reading, sum(t.weight for t in reading.terms), example, _generic(reading))
        for (index, _, example), reading in zip(texts, readings, strict=True)
        if reading.terms
    )
    weighted = _weighted(phrases, len(question.options))
    near: dict[str, set[int]] = {}
    for i, phrase in enumerate(weighted):
        for term in phrase.reading.terms:
            for form in term.forms:
                near.setdefault(_bucket(form), set()).add(i)
            if term.key in CLOSE_PEOPLE:
                near.setdefault(CLOSE, set()).add(i)
    buckets = {key: tuple(sorted(found)) for key, found in near.items()}
    compiled = Compiled(question, weighted, exact, question.persons, buckets)
    _cache[question] = compiled
    if len(_cache) > MAX_CACHED:
        _cache.popitem(last=False)
    return compiled


@functools.lru_cache(maxsize=MAX_PHRASES)
def _plain(phrase: str) -> str:
    """A flow's phrase normalised, once: `flows check` compiles each question once per phrase left out."""
    return normalise(phrase)


def phrase_reading(text: str) -> Reading | None:
    """The reading of a flow's phrase, when this process has read it."""
    return _phrase_readings.get(text)


def _read_phrases(texts: Sequence[str]) -> list[Reading]:
    """The readings of a flow's phrases (never what people type), each read by the model once per process: the
    questions of one flow share most of their phrases, and `flows check` reads each question once per phrase left
    out."""
    missing = [text for text in dict.fromkeys(texts) if text not in _phrase_readings]
    if len(_phrase_readings) + len(missing) > MAX_PHRASES:  # flows edited again and again: start afresh
        _phrase_readings.clear()
        missing = list(dict.fromkeys(texts))
    if missing:
        _phrase_readings.update(zip(missing, read_many(missing), strict=True))
    return [_phrase_readings[text] for text in texts]


def _generic(reading: Reading) -> bool:
    return all(t.weight < 0.5 for t in reading.terms)


def _weighted(phrases: tuple[Phrase, ...], options: int) -> tuple[Phrase, ...]:
    """A word found in the phrases of many buttons tells them apart less: it weighs less in each."""
    spread: dict[str, set[int]] = {}
    for phrase in phrases:
        for term in phrase.reading.terms:
            spread.setdefault(term.key, set()).add(phrase.option)
    result = []
    for phrase in phrases:
        counts = tuple(len(spread[t.key]) for t in phrase.reading.terms)
        memo = (phrase.reading.text, phrase.option, phrase.example, counts, options)
        known = _reweighted_phrases.get(memo)
        if known is None:
            terms = tuple(_reweighted(t, n, options) for t, n in zip(phrase.reading.terms, counts, strict=True))
            reading = dataclasses.replace(phrase.reading, terms=terms)
            known = dataclasses.replace(phrase, reading=reading, weight=sum(t.weight for t in terms))
            if len(_reweighted_phrases) > MAX_PHRASES:
                _reweighted_phrases.clear()
            _reweighted_phrases[memo] = known
        result.append(known)
    return tuple(result)


def _reweighted(term: Term, buttons: int, options: int) -> Term:
    if buttons <= 1 or options <= 2:
        return term
    factor = max(0.35, 1.0 - math.log(buttons) / math.log(options + 1))
    return dataclasses.replace(term, weight=term.weight * factor)
