"""Understanding free text against buttons: exact names and synonyms, numbers, fuzzy matching, negation."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.core.slots import UNKNOWN
from bot.core.text import normalise, normalise_keep_separators

# Ways people say "I don't know" / "I'd rather not say", already normalised.
UNKNOWN_PHRASES = frozenset(
    {
        "je ne sais pas",
        "je sais pas",
        "sais pas",
        "ne sais pas",
        "jsp",
        "j sais pas",
        "chais pas",
        "chai pas",
        "aucune idee",
        "pas d idee",
        "je ne sais plus",
        "je prefere ne pas repondre",
        "pas de reponse",
        "ne sait pas",
        "il ne sait pas",
        "elle ne sait pas",
        "on ne sait pas",
        "sait pas",
        "ignore",
        "nsp",
    }
)
_SEPARATORS = re.compile(r"\s*(?:,|;|/|\+|&|\bet\b|\bou\b|\bpuis\b|\n)\s*")
FUZZY_CUTOFF = 84.0
SHORT_ANSWER = 6  # characters, once normalised


@dataclass(frozen=True, slots=True)
class Candidate:
    """One way of naming a button: its value, label or a synonym, normalised."""

    text: str
    value: str


def build_candidates(options: Sequence[tuple[str, Sequence[str]]]) -> list[Candidate]:
    """options: (value, [label variants and synonyms]) in button order."""
    result: list[Candidate] = []
    for value, names in options:
        for name in (value.replace("_", " "), *names):
            normalised = normalise(name)
            if normalised:
                result.append(Candidate(normalised, value))
    return result


def match_one(text: str, candidates: Sequence[Candidate], order: Sequence[str], allow_unknown: bool) -> str | None:
    """The button value the text means, or None when unsure. `order` is the buttons' order (for "2")."""
    typed = normalise(text)
    if not typed:
        return None
    # Exact labels and synonyms first, so a synonym made of digits ("80" for an age band) beats a button number.
    for candidate in candidates:
        if candidate.text == typed:
            return candidate.value
    if typed.isdigit():
        index = int(typed) - 1
        return order[index] if 0 <= index < len(order) else None
    if allow_unknown and typed in UNKNOWN_PHRASES:
        return UNKNOWN
    if len(typed) < 3:
        return None
    if _names_several_buttons(typed, candidates):
        return None  # "oui et non": two answers at once, ask again rather than pick one
    choices = [c.text for c in candidates]
    # A short answer is compared whole: WRatio's partial matching would find "moi" inside "moins de 60 ans".
    scorer = fuzz.ratio if len(typed) < SHORT_ANSWER else fuzz.WRatio
    found = process.extract(typed, choices, scorer=scorer, score_cutoff=FUZZY_CUTOFF, limit=4)
    if not found:
        return None
    best_score = found[0][1]
    best_values = {candidates[i].value for _, score, i in found if score >= best_score - 3}
    if len(best_values) != 1:
        return None  # two buttons fit as well: ask again rather than guess
    if _negated(typed) - _negated(found[0][0]):
        return None  # "pas de smartphone" resembles "smartphone" but says the opposite
    if len(typed) > 1.5 * len(found[0][0]) and not _shares_a_word(typed, found[0][0]):
        return None  # a long sentence partly resembling a short name ("…que le robot est arrêté" ~ "juste le fixe")
    return best_values.pop()


def _shares_a_word(typed: str, name: str) -> bool:
    """Some word of the name (of 3 letters or more) is in the text, give or take a typo."""
    words = [w for w in name.split() if len(w) >= 3] or name.split()
    return any(fuzz.ratio(word, typed_word) >= FUZZY_CUTOFF for word in words for typed_word in typed.split())


NEGATIONS = frozenset({"pas", "non", "ne", "n", "jamais", "aucun", "aucune", "rien", "ni", "personne"})


def _negated(text: str) -> frozenset[str]:
    return NEGATIONS.intersection(text.split())


def _names_several_buttons(typed: str, candidates: Sequence[Candidate]) -> bool:
    """True when the text contains, word for word, the names of two different buttons."""
    padded = f" {typed} "
    named = {c.value for c in candidates if f" {c.text} " in padded}
    return len(named) > 1


def match_many(
    text: str, candidates: Sequence[Candidate], order: Sequence[str], allow_unknown: bool
) -> list[str] | None:
    """Several values from one typed answer ("smartphone et tablette", "1, 3"), or None."""
    typed = normalise(text)
    parts = [p for p in _SEPARATORS.split(normalise_keep_separators(text)) if p.strip()]
    # Split before fuzzy-matching the whole: the whole of "tablette + pc" fuzzily matches "tablette" alone
    # and the computer was lost. A label typed exactly (some contain commas) is still one value.
    if len(parts) >= 2 and not any(c.text == typed for c in candidates):
        values: list[str] = []
        for part in parts:
            value = match_one(part, candidates, order, allow_unknown)
            if value is None:
                break
            if value not in values:
                values.append(value)
        else:
            return values
    whole = match_one(text, candidates, order, allow_unknown)
    return [whole] if whole is not None else None
